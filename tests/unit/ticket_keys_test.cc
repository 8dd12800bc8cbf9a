// Session ticket keys: a ticket opens on any worker's copy of the schedule, in its period
// and the next (renewed then), never later, never from another process, never when forged.
#include "tls/ticket_keys.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace tg::tls {
namespace {

constexpr std::uint64_t kHour = TicketKeys::kPeriodSeconds;
constexpr std::uint64_t kStart = 1'700'000'000;  // some wall-clock second

struct Ticket {
  std::array<std::uint8_t, TicketKeys::kNameBytes> name{};
  std::array<std::uint8_t, TicketKeys::kIvBytes> iv{};
  std::array<std::uint8_t, TicketKeys::kMacBytes> mac{};
  std::string body = "the session state wolfSSL asks us to seal";
};

TicketKeyStart start_at(std::uint64_t now) {
  TicketKeyStart start;
  EXPECT_TRUE(start.generate(now));
  return start;
}

bool seal(TicketKeys& keys, std::uint64_t now, Ticket& ticket) {
  return keys.seal(now, ticket.name.data(), ticket.iv.data(), ticket.mac.data(),
                   reinterpret_cast<std::uint8_t*>(ticket.body.data()), ticket.body.size());
}

TicketKeys::Opened open(TicketKeys& keys, std::uint64_t now, Ticket ticket,
                        std::string* plain = nullptr) {
  const auto opened =
      keys.open(now, ticket.name.data(), ticket.iv.data(), ticket.mac.data(),
                reinterpret_cast<std::uint8_t*>(ticket.body.data()), ticket.body.size());
  if (plain != nullptr) *plain = ticket.body;
  return opened;
}

TEST(TicketKeys, ATicketOpensOnAnotherWorkersCopy) {
  const TicketKeyStart start = start_at(kStart);
  TicketKeys worker0(start), worker1(start);
  Ticket ticket;
  const std::string plain = ticket.body;
  ASSERT_TRUE(seal(worker0, kStart, ticket));
  EXPECT_NE(ticket.body, plain) << "sealed, not copied";
  std::string opened;
  EXPECT_EQ(open(worker1, kStart + 10, ticket, &opened), TicketKeys::Opened::kOk);
  EXPECT_EQ(opened, plain);
}

TEST(TicketKeys, RotatesHourlyAcceptingThePreviousKeyOnce) {
  const TicketKeyStart start = start_at(kStart);
  TicketKeys issuer(start), next_hour(start), two_hours(start);
  Ticket ticket;
  ASSERT_TRUE(seal(issuer, kStart, ticket));
  EXPECT_EQ(open(next_hour, kStart + kHour, ticket), TicketKeys::Opened::kRenew);
  EXPECT_EQ(open(two_hours, kStart + 2 * kHour, ticket), TicketKeys::Opened::kReject);
  // A worker that rotated seals with the new key; one that has not yet catches up by itself.
  Ticket fresh;
  ASSERT_TRUE(seal(next_hour, kStart + kHour, fresh));
  TicketKeys late(start);
  EXPECT_EQ(open(late, kStart + kHour, fresh), TicketKeys::Opened::kOk);
  EXPECT_NE(fresh.name, ticket.name) << "the key name says which period sealed it";
}

TEST(TicketKeys, RefusesForgedAndForeignTickets) {
  const TicketKeyStart start = start_at(kStart);
  TicketKeys keys(start);
  Ticket ticket;
  ASSERT_TRUE(seal(keys, kStart, ticket));
  Ticket flipped = ticket;
  flipped.body[3] ^= 1;
  EXPECT_EQ(open(keys, kStart, flipped), TicketKeys::Opened::kReject);
  Ticket other_iv = ticket;
  other_iv.iv[15] ^= 1;  // beyond the 12 bytes the cipher uses, still authenticated
  EXPECT_EQ(open(keys, kStart, other_iv), TicketKeys::Opened::kReject);
  Ticket bad_mac = ticket;
  bad_mac.mac[0] ^= 1;
  EXPECT_EQ(open(keys, kStart, bad_mac), TicketKeys::Opened::kReject);
  TicketKeys other_process(start_at(kStart));
  EXPECT_EQ(open(other_process, kStart, ticket), TicketKeys::Opened::kReject);
  EXPECT_EQ(open(keys, kStart, ticket), TicketKeys::Opened::kOk) << "the original still opens";
}

TEST(TicketKeys, TheStartKeyIsWipedAfterUse) {
  TicketKeyStart start = start_at(kStart);
  TicketKeys keys(start);
  start.wipe();
  EXPECT_EQ(start.key, TicketKey{});
  Ticket ticket;
  ASSERT_TRUE(seal(keys, kStart, ticket));
  EXPECT_EQ(open(keys, kStart, ticket), TicketKeys::Opened::kOk) << "the worker kept its copy";
}

}  // namespace
}  // namespace tg::tls
