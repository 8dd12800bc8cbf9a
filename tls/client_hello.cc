#include "tls/client_hello.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tg::tls {
namespace {

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kRecordHeaderBytes = 5;
constexpr std::size_t kHandshakeHeaderBytes = 4;
// A plaintext record holds at most 2^14 bytes (RFC 8446 5.1); the ciphertext bound's 256 extra
// bytes cost nothing and spare us arguing with a sloppy but harmless client.
constexpr std::size_t kMaxRecordPayload = 16384 + 256;
constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint8_t kHostName = 0;
constexpr std::size_t kMaxHostName = 253;

ClientHelloPeek with_state(PeekState state) {
  ClientHelloPeek peek;
  peek.state = state;
  return peek;
}

// A bounds-checked cursor: a read past the end yields zeros and leaves the cursor failed for
// good, so the walk below can read a group of fields and check `ok()` once after them.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return ok_; }
  bool empty() const { return bytes_.empty(); }
  std::size_t size() const { return bytes_.size(); }

  std::uint32_t u8() { return read_int(1); }
  std::uint32_t u16() { return read_int(2); }
  std::uint32_t u24() { return read_int(3); }

  std::string_view take(std::size_t n) {
    if (!ok_ || bytes_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return out;
  }
  // A vector with a length prefix of `prefix_bytes` bytes (TLS's opaque<..2^8-1> etc.).
  std::string_view vec(std::size_t prefix_bytes) { return take(read_int(prefix_bytes)); }

 private:
  std::uint32_t read_int(std::size_t n) {
    std::string_view raw = take(n);
    std::uint32_t value = 0;
    for (char c : raw) value = (value << 8) | static_cast<std::uint8_t>(c);
    return value;
  }

  std::string_view bytes_;
  bool ok_ = true;
};

std::uint8_t byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

// The record header says "TLS handshake" only with type 22 and version 3.1 to 3.3; anything
// else ("GET ", "SSH-", an SSLv2 hello) is another protocol. Checks as many of the five
// header bytes as have arrived so a plain-HTTP visitor is answered after its first byte.
bool plausible_record_header(std::string_view bytes) {
  if (!bytes.empty() && byte_at(bytes, 0) != kHandshakeRecord) return false;
  if (bytes.size() > 1 && byte_at(bytes, 1) != 3) return false;
  if (bytes.size() > 2 && (byte_at(bytes, 2) < 1 || byte_at(bytes, 2) > 3)) return false;
  return true;
}

bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostName) return false;
  for (char c : name) {
    auto b = static_cast<std::uint8_t>(c);
    if (b <= 0x20 || b >= 0x7f) return false;  // controls, NUL, space, DEL, non-ASCII
  }
  return true;
}

// server_name (RFC 6066 3): a non-empty list of (type, name); at most one host_name.
bool read_server_name(std::string_view data, ClientHelloPeek& peek) {
  Reader ext(data);
  Reader list(ext.vec(2));
  if (!ext.ok() || !ext.empty() || list.empty()) return false;
  bool seen_host_name = false;
  while (!list.empty()) {
    std::uint32_t type = list.u8();
    std::string_view name = list.vec(2);
    if (!list.ok()) return false;
    if (type != kHostName) continue;  // other name types are defined by nobody; skip them
    if (seen_host_name || !valid_host_name(name)) return false;
    seen_host_name = true;
    peek.server_name = name;
  }
  return true;
}

// application_layer_protocol_negotiation (RFC 7301 3.1): a non-empty list of non-empty names.
bool read_alpn(std::string_view data, ClientHelloPeek& peek) {
  Reader ext(data);
  Reader list(ext.vec(2));
  if (!ext.ok() || !ext.empty() || list.empty()) return false;
  peek.offers_http11 = false;
  while (!list.empty()) {
    std::string_view protocol = list.vec(1);
    if (!list.ok() || protocol.empty()) return false;
    if (protocol == "http/1.1") peek.offers_http11 = true;
  }
  return true;
}

// Walks one whole ClientHello handshake message (header included), RFC 8446 4.1.2.
ClientHelloPeek parse_client_hello(std::string_view message) {
  const ClientHelloPeek malformed = with_state(PeekState::kMalformed);
  Reader r(message);
  std::uint32_t message_type = r.u8();
  std::uint32_t length = r.u24();
  if (message_type != kClientHello || length != r.size()) return malformed;
  r.take(2);   // legacy_version
  r.take(32);  // random
  std::string_view session_id = r.vec(1);
  std::string_view cipher_suites = r.vec(2);
  std::string_view compression_methods = r.vec(1);
  if (!r.ok() || session_id.size() > 32 || cipher_suites.empty() || cipher_suites.size() % 2 != 0 ||
      compression_methods.empty()) {
    return malformed;
  }
  ClientHelloPeek peek;
  peek.offers_http11 = true;  // until an ALPN extension says otherwise
  if (r.empty()) {            // a TLS 1.2 ClientHello may omit extensions altogether
    peek.state = PeekState::kComplete;
    return peek;
  }
  Reader extensions(r.vec(2));
  if (!r.ok() || !r.empty()) return malformed;
  // A repeated extension is forbidden (RFC 8446 4.2), and here dangerous: we would route by
  // one server_name while the TLS library might answer for another.
  bool seen_server_name = false;
  bool seen_alpn = false;
  while (!extensions.empty()) {
    std::uint32_t type = extensions.u16();
    std::string_view data = extensions.vec(2);
    if (!extensions.ok()) return malformed;
    if (type == kExtServerName) {
      if (seen_server_name || !read_server_name(data, peek)) return malformed;
      seen_server_name = true;
    } else if (type == kExtAlpn) {
      if (seen_alpn || !read_alpn(data, peek)) return malformed;
      seen_alpn = true;
    }
  }
  peek.state = PeekState::kComplete;
  return peek;
}

// The size of the handshake message that starts `joined` (its 4-byte header included); 0
// when the header has not all arrived, kBadMessage when it is not a ClientHello or too big.
constexpr std::size_t kBadMessage = SIZE_MAX;
std::size_t message_size(std::string_view joined) {
  if (joined.size() < kHandshakeHeaderBytes) return 0;
  if (byte_at(joined, 0) != kClientHello) return kBadMessage;
  std::size_t size =
      kHandshakeHeaderBytes + ((std::size_t{byte_at(joined, 1)} << 16) |
                               (std::size_t{byte_at(joined, 2)} << 8) | byte_at(joined, 3));
  return size > kMaxClientHelloBytes ? kBadMessage : size;
}

}  // namespace

// The ClientHello is usually one record and is parsed in place. When a client (or something
// evading SNI filters) splits it across records, the payloads are copied into `scratch` until
// the handshake message is whole. Every call starts over from the first byte: the input is
// small and rescanning keeps the function stateless. The wire bytes needed can exceed
// kMaxClientHelloBytes by 5 bytes per record, so a caller bounding its read buffer should
// treat "buffer full and still kIncomplete" as malformed.
ClientHelloPeek peek_client_hello(std::string_view bytes, char* scratch) {
  for (std::size_t pos = 0, joined = 0;;) {
    std::string_view rest = bytes.substr(pos);
    if (!plausible_record_header(rest.substr(0, kRecordHeaderBytes))) {
      // The first record decides TLS or not; a later non-handshake record interrupting the
      // ClientHello is a broken TLS client.
      return with_state(pos == 0 ? PeekState::kNotTls : PeekState::kMalformed);
    }
    if (rest.size() < kRecordHeaderBytes) return with_state(PeekState::kIncomplete);
    std::size_t length = (std::size_t{byte_at(rest, 3)} << 8) | byte_at(rest, 4);
    if (length == 0 || length > kMaxRecordPayload) return with_state(PeekState::kMalformed);
    std::string_view payload = rest.substr(kRecordHeaderBytes, length);  // what has arrived
    if (joined == 0) {
      // Judged before the record is whole, so a huge or non-ClientHello message is refused
      // without waiting for it.
      std::size_t size = message_size(payload);
      if (size == kBadMessage) return with_state(PeekState::kMalformed);
      if (size != 0 && payload.size() >= size) return parse_client_hello(payload.substr(0, size));
    }
    if (payload.size() < length) return with_state(PeekState::kIncomplete);
    // Copies at most up to the limit; whatever lies beyond is past the end of the message.
    std::size_t take = std::min(length, kMaxClientHelloBytes - joined);
    std::memcpy(scratch + joined, payload.data(), take);
    joined += take;
    std::size_t size = message_size(std::string_view(scratch, joined));
    if (size == kBadMessage) return with_state(PeekState::kMalformed);
    if (size != 0 && joined >= size) return parse_client_hello(std::string_view(scratch, size));
    pos += kRecordHeaderBytes + length;
  }
}

}  // namespace tg::tls
