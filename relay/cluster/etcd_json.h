/// The etcd v3 JSON gateway's messages: requests written and answers read, as pure functions.
///
/// The gateway (etcd's grpc-gateway at `/v3/...`) speaks the protobuf messages of etcd's API
/// in proto3's JSON mapping: keys and values are standard base64, 64-bit numbers are strings
/// ("revision":"42"), and fields at their default value are left out (a failed txn has no
/// "succeeded", a PUT event no "type", a lease that is gone no "TTL"). Streams (watch,
/// keepalive) carry one JSON object per line, `{"result":{...}}` or `{"error":{...}}`.
///
/// Writers build request bodies from typed values. Readers take one answer body or one stream
/// line (bytes from the network: any bytes) and return a typed value or an error saying what
/// was wrong; they never throw and keep nothing. A body etcd sends for a failed call
/// (`{"error":"…","code":14}`) reads as an error carrying etcd's message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::cluster {

/// Standard base64 with padding (RFC 4648 §4), as proto3's JSON mapping writes bytes.
std::string encode_base64(std::string_view bytes);
/// Decodes standard base64 (padding required, no whitespace); nullopt when malformed.
std::optional<std::string> decode_base64(std::string_view text);

/// The end of the key range holding every key that starts with `prefix` (etcd's range_end:
/// the prefix with its last byte below 0xff incremented); "\0" for an empty prefix (all keys).
std::string prefix_range_end(std::string_view prefix);

// ---- requests ----

/// What a txn compares (etcd's Compare): a key's create or mod revision, or its value.
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kValue };
  std::string key;
  Target target = Target::kCreateRevision;
  std::int64_t revision = 0;  // with the revision targets
  std::string value;          // with kValue
};

/// One operation of a txn's branch (etcd's RequestOp).
struct TxnOp {
  enum class Kind { kPut, kRange, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string value;       // with kPut
  std::int64_t lease = 0;  // with kPut: the key goes with the lease; 0 = none
};

/// A txn: when every comparison holds (each is "equal"), run `success`, else `failure`.
struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

std::string encode_txn(const TxnRequest& txn);
std::string encode_lease_grant(std::int64_t ttl_seconds);
/// `{"ID":"…"}`: the body of keepalive, revoke and timetolive.
std::string encode_lease_id(std::int64_t lease);
/// A range (or delete) of one key, or with `range_end` of [key, range_end).
std::string encode_range(std::string_view key, std::string_view range_end = {});
std::string encode_put(std::string_view key, std::string_view value, std::int64_t lease);
/// A watch of [key, range_end) from `start_revision` (0: from now), sent once per stream.
std::string encode_watch_create(std::string_view key, std::string_view range_end,
                                std::int64_t start_revision);

// ---- answers ----

/// A key and its value with their revisions (etcd's KeyValue); bytes decoded.
struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct LeaseAnswer {
  std::int64_t revision = 0;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds; 0 in a keepalive answer: the lease is gone
};

struct RangeAnswer {
  std::int64_t revision = 0;
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;
  bool more = false;
};

struct TxnAnswer {
  std::int64_t revision = 0;
  bool succeeded = false;
  std::vector<KeyValue> kvs;  // of every range the branch ran, in order
};

struct DeleteAnswer {
  std::int64_t revision = 0;
  std::int64_t deleted = 0;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // a delete carries the key and the deleting revision (mod_revision)
};

/// One line of a watch stream.
struct WatchMessage {
  std::int64_t revision = 0;          // the store's revision when etcd sent this line
  bool created = false;               // the stream's first line: the watch is in place
  bool canceled = false;              // etcd ended the watch (see compact_revision)
  std::int64_t compact_revision = 0;  // canceled because history before this is compacted
  std::string cancel_reason;
  std::vector<WatchEvent> events;  // in revision order
};

Result<LeaseAnswer> parse_lease_grant(std::string_view body);
/// One keepalive stream line, `{"result":{...}}`.
Result<LeaseAnswer> parse_lease_keepalive(std::string_view line);
Result<RangeAnswer> parse_range(std::string_view body);
Result<TxnAnswer> parse_txn(std::string_view body);
Result<DeleteAnswer> parse_delete(std::string_view body);
/// Any answer that only carries a header (put, revoke): its revision.
Result<std::int64_t> parse_header_revision(std::string_view body);
/// One watch stream line.
Result<WatchMessage> parse_watch_line(std::string_view line);
/// etcd's message from the body of a failed call (`{"error":"…","code":N}` or a stream's
/// `{"error":{"grpc_code":N,"message":"…"}}`), or "" when the body is not one.
std::string parse_error_message(std::string_view body);

}  // namespace tg::cluster
