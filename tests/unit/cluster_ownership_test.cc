// Ownership of names: the record's encoding, what a claim's answer means, and the lease
// keeper's fence, all without etcd (times are passed in).
#include <gtest/gtest.h>

#include "relay/cluster/lease_keeper.h"
#include "relay/cluster/name_claim.h"
#include "relay/cluster/name_record.h"

namespace tg::cluster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const NameRecord kMine{"relay-1", "SHA256:alice", "s1", 1};

TEST(NameRecord, RoundTripsAndRefuses) {
  const NameRecord record{"relay-1", "SHA256:Zm9v+/=", "5f0c\"\n", 3};
  const std::string encoded = encode_name_record(record);
  EXPECT_EQ(
      encoded,
      R"({"node":"relay-1","key":"SHA256:Zm9v+/=","session":"5f0c\"\u000a","generation":"3"})");
  auto decoded = decode_name_record(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, record);
  // Unknown members are ignored (a newer node may write more).
  EXPECT_TRUE(
      decode_name_record(R"({"node":"a","key":"k","session":"s","generation":"1","shared":true})")
          .ok());
  EXPECT_EQ(decode_name_record("").error().message, "name record: not a JSON object");
  EXPECT_EQ(decode_name_record(R"({"key":"k","session":"s","generation":"1"})").error().message,
            "name record: no node");
  EXPECT_EQ(decode_name_record(R"({"node":"a","key":"k","session":"s","generation":"0"})")
                .error()
                .message,
            "name record: bad generation");
  EXPECT_EQ(
      decode_name_record(R"({"node":"a","key":"k","session":"s","generation":1})").error().message,
      "name record: no generation");
}

TEST(NameRecord, Keys) {
  EXPECT_EQ(name_key("/tunnelgate/", "notes"), "/tunnelgate/names/notes");
  EXPECT_EQ(name_of_key("/tunnelgate/", "/tunnelgate/names/notes"), "notes");
  EXPECT_EQ(name_of_key("/tunnelgate/", "/tunnelgate/nodes/a"), "");
  EXPECT_EQ(name_of_key("/tunnelgate/", "/other/names/a"), "");
}

TEST(NameClaim, TxnsCompareWhatTheyShould) {
  const TxnRequest claim = claim_txn("/tg/names/a", kMine, 42);
  ASSERT_EQ(claim.compare.size(), 1u);
  EXPECT_EQ(claim.compare[0].target, Compare::Target::kCreateRevision);
  EXPECT_EQ(claim.compare[0].revision, 0);  // absent
  EXPECT_EQ(claim.success[0].kind, TxnOp::Kind::kPut);
  EXPECT_EQ(claim.success[0].lease, 42);
  EXPECT_EQ(claim.success[0].value, encode_name_record(kMine));
  EXPECT_EQ(claim.failure[0].kind, TxnOp::Kind::kRange);
  const TxnRequest takeover = takeover_txn("/tg/names/a", kMine, 42, 17);
  EXPECT_EQ(takeover.compare[0].target, Compare::Target::kModRevision);
  EXPECT_EQ(takeover.compare[0].revision, 17);
  EXPECT_EQ(takeover.success[0].lease, 42);
}

KeyValue held_by(const NameRecord& record, std::int64_t mod_revision) {
  KeyValue kv;
  kv.key = "/tg/names/a";
  kv.value = encode_name_record(record);
  kv.mod_revision = mod_revision;
  return kv;
}

TEST(NameClaim, Decides) {
  // Won: the success branch read back our own record.
  ClaimDecision won = decide_claim(true, 9, {held_by(kMine, 9)}, kMine);
  EXPECT_EQ(won.kind, ClaimDecision::Kind::kClaimed);
  EXPECT_EQ(won.mod_revision, 9);
  // Another key holds it: refused, holder reported.
  const NameRecord bob{"relay-2", "SHA256:bob", "s9", 1};
  ClaimDecision refused = decide_claim(false, 9, {held_by(bob, 5)}, kMine);
  EXPECT_EQ(refused.kind, ClaimDecision::Kind::kRefused);
  EXPECT_EQ(refused.holder, bob);
  // The same key in another session (another node): take over from its mod_revision.
  const NameRecord elsewhere{"relay-2", "SHA256:alice", "s7", 4};
  ClaimDecision takeover = decide_claim(false, 9, {held_by(elsewhere, 6)}, kMine);
  EXPECT_EQ(takeover.kind, ClaimDecision::Kind::kTakeOver);
  EXPECT_EQ(takeover.mod_revision, 6);
  EXPECT_EQ(takeover.holder.generation, 4u);
  // Our own session's record at another generation: a retry whose answer was lost.
  NameRecord mine_later = kMine;
  mine_later.generation = 5;
  EXPECT_EQ(decide_claim(false, 9, {held_by(mine_later, 8)}, kMine).kind,
            ClaimDecision::Kind::kClaimed);
  // Gone in between: claim again. Unreadable: refused (fail closed).
  EXPECT_EQ(decide_claim(false, 9, {}, kMine).kind, ClaimDecision::Kind::kFree);
  KeyValue junk;
  junk.value = "not a record";
  EXPECT_EQ(decide_claim(false, 9, {junk}, kMine).kind, ClaimDecision::Kind::kUnreadable);
}

class LeaseKeeperTest : public ::testing::Test {
 protected:
  LeaseKeeper::TimePoint at(int ms) const { return start_ + milliseconds(ms); }
  const LeaseKeeper::TimePoint start_ = LeaseKeeper::Clock::now();
  LeaseKeeper keeper_{seconds(10), milliseconds(1000)};
};

TEST_F(LeaseKeeperTest, FenceFallsOneDeadlineBeforeTheEarliestExpiry) {
  EXPECT_EQ(fence_time(at(0), seconds(10), milliseconds(1000)), at(9000));
  EXPECT_EQ(keeper_.next_action(at(0)), LeaseKeeper::Action::kGrant);
  EXPECT_FALSE(keeper_.may_serve(at(0)));
  // The grant was sent at 0 and answered at 400: etcd's expiry is no earlier than 10 000.
  keeper_.on_granted(7, seconds(10), at(0));
  EXPECT_EQ(keeper_.lease(), 7);
  EXPECT_TRUE(keeper_.may_serve(at(400)));
  EXPECT_EQ(keeper_.serve_until(), at(9000));
  EXPECT_TRUE(keeper_.may_serve(at(8999)));
  EXPECT_FALSE(keeper_.may_serve(at(9000)));
}

TEST_F(LeaseKeeperTest, RenewsEveryThirdOfTheTtlAndMovesTheFence) {
  keeper_.on_granted(7, seconds(10), at(0));
  EXPECT_EQ(keeper_.next_action(at(3000)), LeaseKeeper::Action::kWait);
  EXPECT_EQ(keeper_.next_action_at(at(100)), at(3333));
  EXPECT_EQ(keeper_.next_action(at(3334)), LeaseKeeper::Action::kRenew);
  keeper_.on_renewed(seconds(10), at(3334));
  EXPECT_EQ(keeper_.serve_until(), at(12334));
  EXPECT_EQ(keeper_.next_action(at(3400)), LeaseKeeper::Action::kWait);
  // An answer to an older keepalive, arriving late, never pulls the fence back.
  keeper_.on_renewed(seconds(10), at(3000));
  EXPECT_EQ(keeper_.serve_until(), at(12334));
}

TEST_F(LeaseKeeperTest, FailedRenewalsFenceBeforeTheLeaseCanExpire) {
  keeper_.on_granted(7, seconds(10), at(0));
  // Every renewal from 3 334 on fails (etcd unreachable), each tried again after half a
  // deadline; the node serves until 9 000 and not a moment after.
  int now = 3350;
  int renewals = 0;
  while (keeper_.may_serve(at(now))) {
    if (keeper_.next_action(at(now)) == LeaseKeeper::Action::kRenew) {
      ++renewals;
      keeper_.on_failed(at(now + 1000));  // each failed after its full deadline
    }
    now += 50;
  }
  EXPECT_EQ(now, 9000);
  EXPECT_GE(renewals, 3);
  // The lease is lost: grant anew (once the last failure's pause is over).
  keeper_.next_action(at(9000));
  EXPECT_EQ(keeper_.state(), LeaseKeeper::State::kNone);
  EXPECT_EQ(keeper_.next_action(at(11000)), LeaseKeeper::Action::kGrant);
  EXPECT_EQ(keeper_.losses(), 1u);
  // A keepalive sent before the fence, answered after it, does not revive the lease.
  keeper_.on_renewed(seconds(10), at(8900));
  EXPECT_FALSE(keeper_.may_serve(at(9001)));
}

TEST_F(LeaseKeeperTest, EtcdSayingTheLeaseIsGoneFencesAtOnce) {
  keeper_.on_granted(7, seconds(10), at(0));
  keeper_.on_renewed(seconds(0), at(3400));
  EXPECT_FALSE(keeper_.may_serve(at(3500)));
  EXPECT_EQ(keeper_.next_action(at(3500)), LeaseKeeper::Action::kGrant);
}

TEST_F(LeaseKeeperTest, NeverTrustsMoreThanItAskedFor) {
  // etcd may grant longer than asked (its minimum TTL); the fence uses the shorter.
  keeper_.on_granted(7, seconds(30), at(0));
  EXPECT_EQ(keeper_.serve_until(), at(9000));
  keeper_.on_renewed(seconds(60), at(3400));
  EXPECT_EQ(keeper_.serve_until(), at(12400));
}

}  // namespace
}  // namespace tg::cluster
