// parse_response_head: the status line, then the shared field-line reader, then the response
// framing rules of RFC 9112 section 6.3. The publisher's service is held to the same strict
// reading as visitors: a response two parsers could frame differently would let one visitor's
// bytes be served to another on a reused connection. Every rejection is 502.
//
// content_length is filled from a valid Content-Length even when the framing is kNone (a HEAD
// or 304 response states the length of a body it does not carry), so the visitor's head can
// repeat it.
#include "relay/http/char_class.h"
#include "relay/http/field_lines.h"
#include "relay/http/framing_fields.h"
#include "relay/http/http.h"

namespace tg::http {
namespace {

using detail::parse_done;
using detail::parse_error;

void reset(ResponseHead& out) {
  out.status = 0;
  out.reason = {};
  out.version_minor = 1;
  out.header_count = 0;
  out.framing = BodyFraming::kNone;
  out.content_length = 0;
  out.keep_alive = true;
}

// Reads "HTTP/1.x SP 3DIGIT [SP reason-phrase] CRLF". The space before an empty reason is
// optional: services commonly omit it, and it cannot change the framing.
ParseResult parse_status_line(std::string_view window, std::size_t& pos, ResponseHead& out) {
  const std::size_t size = window.size();
  constexpr std::string_view kVersionPrefix = "HTTP/1.";
  for (; pos < kVersionPrefix.size(); ++pos) {
    if (pos == size) {
      return ParseResult{};
    }
    if (window[pos] != kVersionPrefix[pos]) {
      return parse_error(502, "invalid status line");
    }
  }
  if (pos == size) {
    return ParseResult{};
  }
  if (window[pos] != '0' && window[pos] != '1') {
    return parse_error(502, "unsupported HTTP version");
  }
  out.version_minor = window[pos++] - '0';
  if (pos == size) {
    return ParseResult{};
  }
  if (window[pos++] != ' ') {
    return parse_error(502, "invalid status line");
  }

  int status = 0;
  for (int digits = 0; digits < 3; ++digits, ++pos) {
    if (pos == size) {
      return ParseResult{};
    }
    if (!detail::has_class(window[pos], detail::kDigit)) {
      return parse_error(502, "invalid status code");
    }
    status = status * 10 + (window[pos] - '0');
  }
  if (status < 100 || status > 599) {
    return parse_error(502, "invalid status code");
  }
  out.status = status;

  if (pos == size) {
    return ParseResult{};
  }
  if (window[pos] != ' ' && window[pos] != '\r' && window[pos] != '\n') {
    return parse_error(502, "invalid status code");
  }
  if (window[pos] == ' ') {
    const std::size_t reason_begin = ++pos;
    while (pos < size && detail::is_field_value_char(window[pos])) {
      ++pos;
    }
    out.reason = window.substr(reason_begin, pos - reason_begin);
  }
  std::string_view reason;
  switch (detail::read_line_end(window, pos, reason)) {
    case ParseState::kComplete:
      return parse_done(pos);
    case ParseState::kIncomplete:
      return ParseResult{};
    case ParseState::kError:
      break;
  }
  return parse_error(502, reason);
}

bool has_no_body(int status, std::string_view request_method) {
  if (request_method == "HEAD") {
    return true;
  }
  if (status < 200 || status == 204 || status == 304) {
    return true;
  }
  // A successful CONNECT turns the connection into a tunnel; there is no body to frame.
  return request_method == "CONNECT" && status < 300;
}

ParseResult apply_response_policy(std::string_view request_method, ResponseHead& out) {
  using detail::TransferCoding;
  const detail::FramingFields fields =
      detail::read_framing_fields(out.headers.data(), out.header_count);
  if (!fields.error.empty()) {
    return parse_error(502, fields.error);
  }
  const bool chunked = fields.transfer_coding == TransferCoding::kChunked;
  if (fields.transfer_coding != TransferCoding::kAbsent) {
    if (fields.has_content_length) {
      return parse_error(502, "both Content-Length and Transfer-Encoding");
    }
    if (out.version_minor == 0) {
      return parse_error(502, "Transfer-Encoding in HTTP/1.0");
    }
    if (fields.transfer_coding == TransferCoding::kInvalid) {
      return parse_error(502, "invalid Transfer-Encoding");
    }
    if (!chunked) {
      return parse_error(502, "unsupported Transfer-Encoding");
    }
  }
  out.content_length = fields.content_length;
  out.keep_alive =
      !fields.connection_close && (out.version_minor == 1 || fields.connection_keep_alive);

  if (has_no_body(out.status, request_method)) {
    out.framing = BodyFraming::kNone;
  } else if (chunked) {
    out.framing = BodyFraming::kChunked;
  } else if (fields.has_content_length) {
    out.framing = BodyFraming::kLength;
  } else {
    out.framing = BodyFraming::kUntilClose;
    out.keep_alive = false;
  }
  return parse_done();
}

// The field-line reader speaks for a server (400, 431); here every fault is the service's.
ParseResult as_bad_gateway(ParseResult result) {
  if (result.state == ParseState::kError) {
    result.error_status = 502;
  }
  return result;
}

}  // namespace

ParseResult parse_response_head(std::string_view bytes, std::string_view request_method,
                                ResponseHead& out) {
  reset(out);
  const std::string_view window = detail::head_window(bytes);
  std::size_t pos = 0;

  ParseResult result = parse_status_line(window, pos, out);
  if (result.state == ParseState::kIncomplete) {
    return as_bad_gateway(detail::head_needs_more(bytes.size()));
  }
  if (result.state == ParseState::kError) {
    return result;
  }

  result = detail::parse_field_lines(window, pos, out.headers.data(), out.header_count);
  if (result.state == ParseState::kIncomplete) {
    return as_bad_gateway(detail::head_needs_more(bytes.size()));
  }
  if (result.state == ParseState::kError) {
    return as_bad_gateway(result);
  }

  const ParseResult policy = apply_response_policy(request_method, out);
  if (policy.state == ParseState::kError) {
    return policy;
  }
  return result;
}

}  // namespace tg::http
