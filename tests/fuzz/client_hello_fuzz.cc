// Fuzzes peek_client_hello, which reads the SNI that routes a visitor's connection before any
// TLS library sees it. Checked beyond memory safety: the server name is a view into the input
// or the scratch buffer, holds only printable ASCII and fits a DNS name; only kComplete
// carries results; the bytes cut short give "need more" or the same verdict (the worker peeks
// again as bytes arrive); and a ClientHello that came in one record reads the same when its
// handshake message is re-framed into many records, the way SNI-filter evasion splits it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tls/client_hello.h"

namespace {

using tg::fuzz::lies_within;
using namespace tg::tls;

constexpr std::size_t kRecordHeaderBytes = 5;
constexpr std::size_t kHandshakeHeaderBytes = 4;

// Scratch buffers live as globals so ASan guards their ends as it does for the stack.
char first_scratch[kMaxClientHelloBytes];
char second_scratch[kMaxClientHelloBytes];

void check_peek(std::string_view bytes, const char* scratch, const ClientHelloPeek& peek) {
  if (peek.state != PeekState::kComplete) {
    FUZZ_CHECK(peek.server_name.empty() && !peek.offers_http11);
    return;
  }
  FUZZ_CHECK(lies_within(peek.server_name, bytes) ||
             lies_within(peek.server_name, std::string_view(scratch, kMaxClientHelloBytes)));
  FUZZ_CHECK(peek.server_name.size() <= 253);
  for (char c : peek.server_name) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte > 0x20 && byte < 0x7f);
  }
}

std::size_t read_u16(std::string_view bytes, std::size_t at) {
  return (std::size_t{static_cast<std::uint8_t>(bytes[at])} << 8) |
         static_cast<std::uint8_t>(bytes[at + 1]);
}

std::size_t read_u24(std::string_view bytes, std::size_t at) {
  return (std::size_t{static_cast<std::uint8_t>(bytes[at])} << 16) | read_u16(bytes, at + 1);
}

// The handshake message when the first record holds all of it; empty otherwise.
std::string_view message_in_first_record(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderBytes + kHandshakeHeaderBytes) return {};
  const std::size_t record_length = read_u16(bytes, 3);
  const std::size_t message_size = kHandshakeHeaderBytes + read_u24(bytes, kRecordHeaderBytes + 1);
  if (message_size > record_length || kRecordHeaderBytes + message_size > bytes.size()) return {};
  return bytes.substr(kRecordHeaderBytes, message_size);
}

// The same message in records of `payload_bytes` each (the last one shorter), with the
// original record header's type and version.
std::string reframe(std::string_view bytes, std::string_view message, std::size_t payload_bytes) {
  std::string out;
  for (std::size_t at = 0; at < message.size(); at += payload_bytes) {
    const std::size_t length = std::min(payload_bytes, message.size() - at);
    out.append(bytes.substr(0, 3));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
    out.append(message.substr(at, length));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = tg::fuzz::as_text(data, size);
  const ClientHelloPeek whole = peek_client_hello(bytes, first_scratch);
  check_peek(bytes, first_scratch, whole);
  const std::string whole_name(whole.server_name);  // the scratch is reused below

  if (size > 0) {
    const std::size_t cut = size * data[size / 2] / 256;
    const ClientHelloPeek part = peek_client_hello(bytes.substr(0, cut), second_scratch);
    check_peek(bytes.substr(0, cut), second_scratch, part);
    FUZZ_CHECK(part.state == PeekState::kIncomplete ||
               (part.state == whole.state && part.server_name == whole_name &&
                part.offers_http11 == whole.offers_http11));
  }

  const std::string_view message = message_in_first_record(bytes);
  if (whole.state == PeekState::kComplete && message.size() > 1) {
    // From one byte per record up to 256; the last input byte picks.
    const std::size_t payload_bytes = 1 + data[size - 1];
    const std::string records = reframe(bytes, message, payload_bytes);
    const ClientHelloPeek split = peek_client_hello(records, second_scratch);
    check_peek(records, second_scratch, split);
    FUZZ_CHECK(split.state == PeekState::kComplete && split.server_name == whole_name &&
               split.offers_http11 == whole.offers_http11);
  }
  return 0;
}
