/// What etcd holds for a claimed name: which node serves it, for which publisher key, in
/// which session, at which claim generation. Pure encode/decode.
///
/// The record lives at `<prefix>names/<name>` under the claiming node's lease, so it vanishes
/// when that node stops renewing. It is a small JSON object:
///
///     {"node":"relay-1","key":"SHA256:…","session":"5f0c…","generation":"3"}
///
/// `key` is the publisher key's fingerprint: the same key reconnecting elsewhere may take the
/// name over, another key may not. `generation` counts claims of the name by that key (1 for
/// a fresh claim, +1 per takeover), so the node that held it can tell its session was
/// superseded rather than its record lost.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::cluster {

struct NameRecord {
  std::string node;
  std::string key_fingerprint;
  std::string session;
  std::uint64_t generation = 1;

  bool operator==(const NameRecord&) const = default;
};

std::string encode_name_record(const NameRecord& record);
/// Errors say what is missing or wrong; unknown members are ignored (newer nodes may add some).
Result<NameRecord> decode_name_record(std::string_view bytes);

/// The etcd key of `name`'s record: `prefix` + "names/" + name.
std::string name_key(std::string_view prefix, std::string_view name);
/// The name a key under `prefix` + "names/" records, or "" when it is not such a key.
std::string_view name_of_key(std::string_view prefix, std::string_view key);

}  // namespace tg::cluster
