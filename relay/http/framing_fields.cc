#include "relay/http/framing_fields.h"

#include "relay/http/char_class.h"
#include "relay/http/field_list.h"

namespace tg::http::detail {
namespace {

// The largest body length a chunk size may also express; past it, lengths are refused rather
// than risk two parsers wrapping them differently.
constexpr std::uint64_t kMaxContentLength = (std::uint64_t{1} << 63) - 1;

// Content-Length may repeat (in several fields or as a list) only with one value, which
// senders that merge fields produce legitimately.
void read_content_length(std::string_view value, FramingFields& fields) {
  ListElements elements(value);
  std::string_view element;
  while (elements.next(element)) {
    if (element.empty()) {
      fields.error = "invalid Content-Length";
      return;
    }
    std::uint64_t length = 0;
    for (char c : element) {
      if (!has_class(c, kDigit)) {
        fields.error = "invalid Content-Length";
        return;
      }
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (length > (kMaxContentLength - digit) / 10) {
        fields.error = "Content-Length too large";
        return;
      }
      length = length * 10 + digit;
    }
    if (fields.has_content_length && length != fields.content_length) {
      fields.error = "conflicting Content-Length";
      return;
    }
    fields.has_content_length = true;
    fields.content_length = length;
  }
}

// Walks every Transfer-Encoding field as one list, in order. Only "chunked", once and last,
// frames a message the relay can forward; any other well-formed list is an unsupported coding.
struct TransferCodingReader {
  std::size_t chunked_count = 0;
  bool chunked_last = false;
  bool unknown = false;
  bool malformed = false;

  void read(std::string_view value) {
    ListElements elements(value);
    std::string_view element;
    while (elements.next(element)) {
      if (!is_token(element)) {
        malformed = true;  // empty element, parameters, quotes, inner spaces
        continue;
      }
      chunked_last = iequals(element, "chunked");
      if (chunked_last) {
        ++chunked_count;
      } else {
        unknown = true;
      }
    }
  }

  TransferCoding verdict() const {
    if (malformed || chunked_count > 1 || (chunked_count == 1 && !chunked_last)) {
      return TransferCoding::kInvalid;
    }
    if (unknown) {
      return TransferCoding::kUnsupported;
    }
    return TransferCoding::kChunked;
  }
};

void read_connection(std::string_view value, FramingFields& fields) {
  ListElements elements(value);
  std::string_view option;
  while (elements.next(option)) {
    if (option.empty()) {
      continue;  // RFC 9110 5.6.1: empty list elements are ignored
    }
    if (!is_token(option)) {
      fields.error = "invalid Connection header";
      return;
    }
    if (iequals(option, "close")) {
      fields.connection_close = true;
    } else if (iequals(option, "keep-alive")) {
      fields.connection_keep_alive = true;
    } else if (iequals(option, "upgrade")) {
      fields.connection_upgrade = true;
    }
  }
}

}  // namespace

FramingFields read_framing_fields(const Header* headers, std::size_t count) {
  FramingFields fields;
  TransferCodingReader transfer_coding;
  bool has_transfer_encoding = false;
  bool has_upgrade = false;
  for (std::size_t i = 0; i < count && fields.error.empty(); ++i) {
    const Header& header = headers[i];
    // Dispatch on length first: most fields are none of these and fail one integer compare.
    switch (header.name.size()) {
      case 4:
        if (iequals(header.name, "host")) {
          if (fields.host_count++ == 0) {
            fields.host = header.value;
          }
        }
        break;
      case 6:
        if (iequals(header.name, "expect") && iequals(header.value, "100-continue")) {
          fields.expect_continue = true;
        }
        break;
      case 7:
        if (iequals(header.name, "upgrade") && !has_upgrade) {
          has_upgrade = true;
          fields.upgrade = header.value;
        }
        break;
      case 10:
        if (iequals(header.name, "connection")) {
          read_connection(header.value, fields);
        }
        break;
      case 14:
        if (iequals(header.name, "content-length")) {
          read_content_length(header.value, fields);
        }
        break;
      case 17:
        if (iequals(header.name, "transfer-encoding")) {
          has_transfer_encoding = true;
          transfer_coding.read(header.value);
        }
        break;
      default:
        break;
    }
  }
  if (has_transfer_encoding) {
    fields.transfer_coding = transfer_coding.verdict();
  }
  return fields;
}

}  // namespace tg::http::detail
