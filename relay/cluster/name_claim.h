/// Claiming a name cluster-wide: the txns, the pure decision on etcd's answer, and the
/// blocking sequence a cluster thread runs.
///
///  - **Claim**: create-if-absent (`create_revision == 0`) of the name's record under this
///    node's lease; when the name is held, the same txn reads the holder's record.
///  - **Takeover**: the holder is the same publisher key (another session, maybe another node):
///    compare-and-swap on the holder record's `mod_revision`, with the generation one higher.
///    The node that held it learns from its watch that its session was superseded.
///  - **Refusal**: another key holds it (or its record does not decode: fail closed).
///
/// A txn whose answer was lost (CallFailure::kMaybeApplied) is settled by reading the record:
/// if it is ours, the claim happened. `claim_name` never retries more than a few rounds (a name
/// fought over by two sessions of one key ends with one of them refused, not a loop).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/base/result.h"
#include "relay/cluster/etcd_json.h"
#include "relay/cluster/name_record.h"

namespace tg::cluster {

class EtcdClient;

TxnRequest claim_txn(std::string_view key, const NameRecord& mine, std::int64_t lease);
TxnRequest takeover_txn(std::string_view key, const NameRecord& mine, std::int64_t lease,
                        std::int64_t holder_mod_revision);

struct ClaimDecision {
  enum class Kind {
    kClaimed,     // the record is ours (this node, key and session; any generation)
    kTakeOver,    // the same key holds it in another session: CAS on holder's mod_revision
    kRefused,     // another key holds it
    kFree,        // nobody holds it (the holder vanished between two steps): claim again
    kUnreadable,  // the holder's record does not decode: refused
  };
  Kind kind = Kind::kFree;
  NameRecord holder;              // with kTakeOver, kRefused (and kClaimed: ours)
  std::int64_t mod_revision = 0;  // the record's, as etcd holds it
};

/// What a claim or takeover txn's answer means for `mine`. `kvs` is what the failure branch
/// read (or a range of the key); `succeeded` whether the txn's comparison held.
ClaimDecision decide_claim(bool succeeded, std::int64_t answer_revision,
                           const std::vector<KeyValue>& kvs, const NameRecord& mine);

struct ClaimResult {
  bool claimed = false;
  NameRecord record;              // ours when claimed (generation as written), else the holder's
  std::int64_t mod_revision = 0;  // of the record in etcd
  bool took_over = false;         // it was the same key's in another session
};

/// Claims `name` for `mine` (its generation is chosen here) under `lease`. Errors: etcd could
/// not be reached within the deadlines, or the holder's record is unreadable.
Result<ClaimResult> claim_name(EtcdClient& client, std::string_view prefix, std::string_view name,
                               NameRecord mine, std::int64_t lease);

/// Deletes `name`'s record if it is still `mine` (a publisher leaving cleanly); true when it
/// was deleted, false when someone else's record is there now.
Result<bool> release_name(EtcdClient& client, std::string_view prefix, std::string_view name,
                          const NameRecord& mine);

}  // namespace tg::cluster
