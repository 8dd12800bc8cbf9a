// Fuzzes the readers of relay/cluster: every etcd gateway answer and stream line, the name
// record, base64 and endpoint URLs. The first byte picks the reader; the rest is its input.
// Checked beyond memory safety:
// - what decode_base64 accepts encodes and decodes back to the same bytes;
// - an accepted name record encodes to a text that decodes to the same record;
// - a keepalive's TTL is never negative; an accepted grant has an ID and a positive TTL;
// - an accepted endpoint has a host, a non-zero port and a Host header ending in it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/cluster/etcd_endpoint.h"
#include "relay/cluster/etcd_json.h"
#include "relay/cluster/name_record.h"
#include "tests/fuzz/fuzz_check.h"

namespace cl = tg::cluster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0: {
      auto answer = cl::parse_txn(input);
      if (answer) (void)answer->kvs.size();
      break;
    }
    case 1:
      (void)cl::parse_range(input);
      break;
    case 2: {
      auto grant = cl::parse_lease_grant(input);
      if (grant) FUZZ_CHECK(grant->id != 0 && grant->ttl > 0);
      break;
    }
    case 3: {
      auto alive = cl::parse_lease_keepalive(input);
      if (alive) FUZZ_CHECK(alive->ttl >= 0);
      break;
    }
    case 4:
      (void)cl::parse_watch_line(input);
      break;
    case 5:
      (void)cl::parse_delete(input);
      (void)cl::parse_header_revision(input);
      break;
    case 6:
      (void)cl::parse_error_message(input);
      break;
    case 7: {
      auto record = cl::decode_name_record(input);
      if (record) {
        auto again = cl::decode_name_record(cl::encode_name_record(*record));
        FUZZ_CHECK(again.ok() && *again == *record);
      }
      break;
    }
    case 8: {
      auto bytes = cl::decode_base64(input);
      if (bytes) FUZZ_CHECK(cl::decode_base64(cl::encode_base64(*bytes)) == bytes);
      FUZZ_CHECK(cl::decode_base64(cl::encode_base64(input)) == std::string(input));
      break;
    }
    case 9: {
      auto endpoint = cl::parse_etcd_endpoint(input);
      if (endpoint) {
        FUZZ_CHECK(!endpoint->host.empty() && endpoint->port != 0);
        FUZZ_CHECK(endpoint->host_header.ends_with(":" + std::to_string(endpoint->port)));
      }
      break;
    }
  }
  return 0;
}
