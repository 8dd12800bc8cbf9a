// claim_name: claim, then take over or refuse, as name_claim.h describes.
#include "relay/cluster/name_claim.h"

#include "relay/cluster/etcd_client.h"

namespace tg::cluster {
namespace {

constexpr int kMaxRounds = 4;

TxnOp read_op(std::string_view key) {
  return TxnOp{TxnOp::Kind::kRange, std::string(key), "", 0};
}

TxnOp put_op(std::string_view key, const NameRecord& record, std::int64_t lease) {
  return TxnOp{TxnOp::Kind::kPut, std::string(key), encode_name_record(record), lease};
}

}  // namespace

TxnRequest claim_txn(std::string_view key, const NameRecord& mine, std::int64_t lease) {
  TxnRequest txn;
  txn.compare.push_back({std::string(key), Compare::Target::kCreateRevision, 0, ""});
  // The put is read back in the success branch too, for its mod_revision.
  txn.success = {put_op(key, mine, lease), read_op(key)};
  txn.failure = {read_op(key)};
  return txn;
}

TxnRequest takeover_txn(std::string_view key, const NameRecord& mine, std::int64_t lease,
                        std::int64_t holder_mod_revision) {
  TxnRequest txn;
  txn.compare.push_back({std::string(key), Compare::Target::kModRevision, holder_mod_revision, ""});
  txn.success = {put_op(key, mine, lease), read_op(key)};
  txn.failure = {read_op(key)};
  return txn;
}

ClaimDecision decide_claim(bool succeeded, std::int64_t answer_revision,
                           const std::vector<KeyValue>& kvs, const NameRecord& mine) {
  ClaimDecision decision;
  if (kvs.empty()) {
    decision.kind = ClaimDecision::Kind::kFree;
    return decision;
  }
  const KeyValue& kv = kvs.front();
  decision.mod_revision = kv.mod_revision;
  auto holder = decode_name_record(kv.value);
  if (!holder) {
    decision.kind = ClaimDecision::Kind::kUnreadable;
    return decision;
  }
  decision.holder = *holder;
  // Our own session's record (whatever its generation): an earlier attempt of this claim
  // was applied, its answer lost.
  if (holder->node == mine.node && holder->session == mine.session &&
      holder->key_fingerprint == mine.key_fingerprint) {
    decision.kind = ClaimDecision::Kind::kClaimed;
    if (succeeded && decision.mod_revision == 0) decision.mod_revision = answer_revision;
  } else if (holder->key_fingerprint == mine.key_fingerprint) {
    decision.kind = ClaimDecision::Kind::kTakeOver;
  } else {
    decision.kind = ClaimDecision::Kind::kRefused;
  }
  return decision;
}

Result<ClaimResult> claim_name(EtcdClient& client, std::string_view prefix, std::string_view name,
                               NameRecord mine, std::int64_t lease) {
  const std::string key = name_key(prefix, name);
  mine.generation = 1;
  std::int64_t holder_revision = 0;  // 0: claim a free name; else take over from this revision
  bool took_over = false;
  for (int round = 0; round < kMaxRounds; ++round) {
    const TxnRequest txn = holder_revision == 0 ? claim_txn(key, mine, lease)
                                                : takeover_txn(key, mine, lease, holder_revision);
    auto answer = client.txn(txn);
    ClaimDecision decision;
    if (answer) {
      decision = decide_claim(answer->succeeded, answer->revision, answer->kvs, mine);
    } else if (client.last_failure() == CallFailure::kMaybeApplied) {
      // The answer was lost: the record says whether the txn happened.
      auto read = client.range(key);
      if (!read) return read.error();
      decision = decide_claim(false, read->revision, read->kvs, mine);
    } else {
      return answer.error();
    }
    switch (decision.kind) {
      case ClaimDecision::Kind::kClaimed:
        return ClaimResult{true, decision.holder, decision.mod_revision,
                           took_over || decision.holder.generation > 1};
      case ClaimDecision::Kind::kRefused:
        return ClaimResult{false, decision.holder, decision.mod_revision, false};
      case ClaimDecision::Kind::kUnreadable:
        return make_error("the record of \"" + std::string(name) + "\" in etcd is unreadable");
      case ClaimDecision::Kind::kFree:
        holder_revision = 0;
        mine.generation = 1;
        took_over = false;
        break;
      case ClaimDecision::Kind::kTakeOver:
        holder_revision = decision.mod_revision;
        mine.generation = decision.holder.generation + 1;
        took_over = true;
        break;
    }
  }
  return make_error("\"" + std::string(name) + "\" changed hands too often to claim");
}

Result<bool> release_name(EtcdClient& client, std::string_view prefix, std::string_view name,
                          const NameRecord& mine) {
  const std::string key = name_key(prefix, name);
  TxnRequest txn;
  txn.compare.push_back({key, Compare::Target::kValue, 0, encode_name_record(mine)});
  txn.success = {TxnOp{TxnOp::Kind::kDelete, key, "", 0}};
  for (int round = 0; round < 2; ++round) {
    auto answer = client.txn(txn);
    if (answer) return answer->succeeded;
    if (client.last_failure() != CallFailure::kMaybeApplied) return answer.error();
  }
  return make_error("etcd: cannot release \"" + std::string(name) + "\"");
}

}  // namespace tg::cluster
