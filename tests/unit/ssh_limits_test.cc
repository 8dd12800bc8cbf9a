// The SSH port's limits before authentication, apart from the event loop: max_startups'
// parsing and random early drop, the gate that applies them with the per-source cap and the
// descriptor reserve, the listener's pause when descriptors run out, and the [ssh] config keys
// (tests/integration/test_ssh_flood.py drives them end to end).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <atomic>
#include <cstring>
#include <string>

#include "relay/base/file_limit.h"
#include "relay/config/config.h"
#include "relay/io/accept_backoff.h"
#include "relay/limits/ssh_gate.h"
#include "relay/limits/startup_limits.h"

namespace tg {
namespace {

SourceKey source(std::uint8_t last_byte) {
  sockaddr_storage storage{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
  in4.sin_family = AF_INET;
  const std::uint8_t address[4] = {192, 0, 2, last_byte};
  std::memcpy(&in4.sin_addr, address, 4);
  return SourceKey::of(storage);
}

TEST(StartupLimits, ParsesStartRateFullAndASingleNumber) {
  auto three = parse_startup_limits("10:30:100");
  ASSERT_TRUE(three.ok()) << three.error().message;
  EXPECT_EQ(three->start, 10u);
  EXPECT_EQ(three->rate, 30u);
  EXPECT_EQ(three->full, 100u);
  auto one = parse_startup_limits("12");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->start, 12u);
  EXPECT_EQ(one->rate, 100u);
  EXPECT_EQ(one->full, 12u);
}

TEST(StartupLimits, RefusesWhatSshdWouldNotMean) {
  for (const char* text :
       {"", ":", "10:30", "10:30:100:1", "a:30:100", "10:30:", " 10:30:100", "10:-1:100", "+10",
        "0:30:100", "10:101:100", "100:30:10", "1:30:1000001", "99999999"}) {
    EXPECT_FALSE(parse_startup_limits(text).ok()) << text;
  }
  EXPECT_EQ(parse_startup_limits("100:30:10").error().message,
            "max_startups \"100:30:10\": full must be at least start");
}

TEST(StartupLimits, DropsNothingBelowStartEverythingFromFullAndLinearlyBetween) {
  const StartupLimits limits{10, 30, 110};
  for (std::uint32_t draw = 0; draw < 100; ++draw) {
    EXPECT_FALSE(limits.drops(9, draw));
    EXPECT_TRUE(limits.drops(110, draw));
    EXPECT_TRUE(limits.drops(5000, draw));
  }
  // At start, 30 % of draws drop; halfway to full, 65 %; just below full, 99 %.
  auto dropped = [&](std::uint32_t unauthenticated) {
    unsigned count = 0;
    for (std::uint32_t draw = 0; draw < 100; ++draw) count += limits.drops(unauthenticated, draw);
    return count;
  };
  EXPECT_EQ(dropped(10), 30u);
  EXPECT_EQ(dropped(60), 65u);
  EXPECT_EQ(dropped(109), 99u);
  // A single number: nothing dropped below it, everything from it on.
  const StartupLimits hard{5, 100, 5};
  EXPECT_FALSE(hard.drops(4, 99));
  EXPECT_TRUE(hard.drops(5, 0));
}

TEST(SshGate, CountsPerSourceAndGivesThePlaceBackOnClose) {
  std::atomic<std::uint32_t> unauthenticated{0};
  SshGate gate(2, StartupLimits{1000, 100, 1000}, unauthenticated, 0, 1);
  EXPECT_EQ(gate.admit(10, source(1)), SshRefusal::kNone);
  EXPECT_EQ(gate.admit(11, source(1)), SshRefusal::kNone);
  EXPECT_EQ(gate.admit(12, source(1)), SshRefusal::kPerSource);
  EXPECT_EQ(gate.admit(12, source(2)), SshRefusal::kNone);
  EXPECT_EQ(unauthenticated.load(), 3u);  // a refused connection holds no place
  gate.authenticated();                   // one of source 1's
  EXPECT_EQ(unauthenticated.load(), 2u);
  EXPECT_EQ(gate.admit(13, source(1)), SshRefusal::kPerSource) << "authenticated ones count too";
  gate.closed(source(1), true);
  EXPECT_EQ(unauthenticated.load(), 2u);
  EXPECT_EQ(gate.admit(13, source(1)), SshRefusal::kNone);
  gate.closed(source(1), false);
  gate.closed(source(1), false);
  gate.closed(source(2), false);
  EXPECT_EQ(unauthenticated.load(), 0u);
  EXPECT_EQ(gate.open_from(source(1)), 0u);
}

TEST(SshGate, MaxStartupsCountsOnlyTheUnauthenticatedAcrossGates) {
  std::atomic<std::uint32_t> unauthenticated{0};
  // Two workers' gates share the count; every source has its own address.
  SshGate first(0, StartupLimits{3, 100, 3}, unauthenticated, 0, 1);
  SshGate second(0, StartupLimits{3, 100, 3}, unauthenticated, 0, 2);
  EXPECT_EQ(first.admit(10, source(1)), SshRefusal::kNone);
  EXPECT_EQ(second.admit(10, source(2)), SshRefusal::kNone);
  EXPECT_EQ(first.admit(11, source(3)), SshRefusal::kNone);
  EXPECT_EQ(second.admit(11, source(4)), SshRefusal::kStartups);
  EXPECT_EQ(first.admit(12, source(5)), SshRefusal::kStartups);
  EXPECT_EQ(unauthenticated.load(), 3u);
  second.authenticated();  // source 2 logged in: its place goes to the next one
  EXPECT_EQ(first.admit(12, source(6)), SshRefusal::kNone);
  EXPECT_EQ(second.admit(12, source(7)), SshRefusal::kStartups);
}

TEST(SshGate, RandomEarlyDropAdmitsSomeButNeverPastFull) {
  std::atomic<std::uint32_t> unauthenticated{0};
  SshGate gate(0, StartupLimits{10, 50, 20}, unauthenticated, 0, 7);
  unsigned admitted = 0;
  unsigned dropped = 0;
  for (int i = 0; i < 1000; ++i) {
    const SshRefusal refusal = gate.admit(100, source(static_cast<std::uint8_t>(i)));
    admitted += refusal == SshRefusal::kNone;
    dropped += refusal == SshRefusal::kStartups;
  }
  EXPECT_GE(admitted, 10u);
  EXPECT_LE(admitted, 20u);
  EXPECT_EQ(admitted + dropped, 1000u);
  EXPECT_EQ(unauthenticated.load(), admitted);
}

TEST(SshGate, SocketsNumberedIntoTheReserveAreRefusedFirst) {
  std::atomic<std::uint32_t> unauthenticated{0};
  SshGate gate(1, StartupLimits{}, unauthenticated, 900, 1);
  EXPECT_EQ(gate.admit(900, source(1)), SshRefusal::kDescriptorReserve);
  EXPECT_EQ(gate.admit(5000, source(1)), SshRefusal::kDescriptorReserve);
  EXPECT_EQ(unauthenticated.load(), 0u);
  EXPECT_EQ(gate.open_from(source(1)), 0u);
  EXPECT_EQ(gate.admit(899, source(1)), SshRefusal::kNone);
}

TEST(FileLimit, KeepsAnEighthForVisitors) {
  EXPECT_EQ(ssh_descriptor_high_water(20000), 17500u);
  EXPECT_EQ(ssh_descriptor_high_water(1024), 896u);
  EXPECT_EQ(ssh_descriptor_high_water(128), 96u);  // at least 32 in reserve
  EXPECT_EQ(ssh_descriptor_high_water(64), 0u);    // too small to split: no check
  EXPECT_EQ(ssh_descriptor_high_water(0), 0u);
}

TEST(AcceptBackoff, PausesLongerWhileFailuresGoOnAndStartsOverAfterAnAccept) {
  io::AcceptBackoff backoff;
  EXPECT_TRUE(io::AcceptBackoff::out_of_descriptors(-EMFILE));
  EXPECT_TRUE(io::AcceptBackoff::out_of_descriptors(-ENFILE));
  EXPECT_FALSE(io::AcceptBackoff::out_of_descriptors(-ECONNABORTED));
  EXPECT_FALSE(backoff.due(0));
  EXPECT_EQ(backoff.pause(1000), 100u);
  EXPECT_TRUE(backoff.first_of_spell());
  EXPECT_TRUE(backoff.paused());
  EXPECT_FALSE(backoff.due(1099));
  EXPECT_TRUE(backoff.due(1100));
  EXPECT_FALSE(backoff.due(1100)) << "due once per pause";
  EXPECT_EQ(backoff.pause(1100), 200u);
  EXPECT_FALSE(backoff.first_of_spell());
  std::uint64_t longest = 0;
  for (int i = 0; i < 10; ++i) longest = backoff.pause(2000);
  EXPECT_EQ(longest, io::AcceptBackoff::kLongestPauseMs);
  backoff.accepted();
  EXPECT_EQ(backoff.pause(5000), 100u);
}

constexpr std::string_view kMinimalConfig = R"(domain = "tg.test"
[https]
listen = ["127.0.0.1:8443"]
cert = "c.pem"
key = "k.pem"
[ssh]
listen = ["127.0.0.1:2222"]
host_keys = ["h"]
authorized_keys = "a"
)";

TEST(ConfigSsh, DefaultsAreClosedButFitOneUserWithManyTunnels) {
  auto config = parse_config(std::string(kMinimalConfig), "F");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->ssh_max_connections_per_source, 64u);
  EXPECT_EQ(config->ssh_max_startups.start, 64u);
  EXPECT_EQ(config->ssh_max_startups.rate, 30u);
  EXPECT_EQ(config->ssh_max_startups.full, 256u);
  EXPECT_EQ(config->ssh_login_grace_time_ms, 20'000u);
}

TEST(ConfigSsh, ReadsTheKeysAndNamesTheLineOfABadOne) {
  auto config = parse_config(std::string(kMinimalConfig) +
                                 "max_connections_per_source = 0\nmax_startups = \"10:30:100\"\n"
                                 "login_grace_time_ms = 5000\n",
                             "F");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->ssh_max_connections_per_source, 0u);
  EXPECT_EQ(config->ssh_max_startups.start, 10u);
  EXPECT_EQ(config->ssh_max_startups.full, 100u);
  EXPECT_EQ(config->ssh_login_grace_time_ms, 5000u);
  auto number = parse_config(std::string(kMinimalConfig) + "max_startups = 20\n", "F");
  ASSERT_TRUE(number.ok()) << number.error().message;
  EXPECT_EQ(number->ssh_max_startups.full, 20u);
  EXPECT_EQ(number->ssh_max_startups.rate, 100u);
  auto bad = parse_config(std::string(kMinimalConfig) + "max_startups = \"10:130:100\"\n", "F");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "F:10: max_startups \"10:130:100\": rate is a percentage, at most 100");
  auto quick = parse_config(std::string(kMinimalConfig) + "login_grace_time_ms = 0\n", "F");
  ASSERT_FALSE(quick.ok());
  EXPECT_EQ(quick.error().message,
            "F:10: \"login_grace_time_ms\" in [ssh] must be from 100 to 600000, not 0");
}

}  // namespace
}  // namespace tg
