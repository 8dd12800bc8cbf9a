/// The header fields that decide how a message is framed and whether its connection lives on
/// (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, Expect), gathered from a
/// parsed header block in one pass. Requests and responses read the same facts and apply
/// different policies to them, so the gathering is shared and the verdicts are not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http::detail {

enum class TransferCoding {
  kAbsent,
  kChunked,      // exactly one coding, "chunked"
  kUnsupported,  // a well-formed list with codings the relay does not implement (501)
  kInvalid,      // malformed, or chunked repeated or not last: framing is ambiguous (400)
};

struct FramingFields {
  std::size_t host_count = 0;
  std::string_view host;  // the first Host value

  bool has_content_length = false;
  std::uint64_t content_length = 0;
  TransferCoding transfer_coding = TransferCoding::kAbsent;

  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  std::string_view upgrade;  // the first Upgrade value

  bool expect_continue = false;

  std::string_view error;  // a malformed Content-Length or Connection; empty when fine
};

FramingFields read_framing_fields(const Header* headers, std::size_t count);

}  // namespace tg::http::detail
