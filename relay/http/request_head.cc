// parse_request_head: the request line, then the shared field-line reader, then the request
// policy over the framing fields (see http.h for the rejections and their statuses).
//
// Choices the header leaves open, made here:
// - Content-Length: 0 frames as kLength with content_length 0, not kNone: the sender stated a
//   length, and the forwarded head repeats it (some services answer 411 to a bodiless POST).
// - Expect values other than 100-continue are ignored rather than answered with 417; the field
//   is end-to-end and reaches the publisher's service, which may answer as it likes.
// - Upgrade and Expect are HTTP/1.1 mechanisms and are ignored in HTTP/1.0 requests
//   (RFC 9110 sections 7.8 and 10.1.1); Transfer-Encoding in HTTP/1.0 is refused (RFC 9112 6.1).
// - CONNECT is refused with 400: the relay is a reverse proxy and never opens tunnels for it.
// - A request-target is VCHAR except '#': raw bytes >= 0x80 are refused rather than forwarded
//   for the service to decode in its own way.
#include "relay/http/char_class.h"
#include "relay/http/field_lines.h"
#include "relay/http/framing_fields.h"
#include "relay/http/http.h"

namespace tg::http {
namespace {

using detail::parse_done;
using detail::parse_error;

void reset(RequestHead& out) {
  out.method = {};
  out.target = {};
  out.raw_target = {};
  out.version_minor = 1;
  out.header_count = 0;
  out.host = {};
  out.framing = BodyFraming::kNone;
  out.content_length = 0;
  out.keep_alive = true;
  out.expect_continue = false;
  out.upgrade = false;
  out.upgrade_protocol = {};
}

// "HTTP/1.1" and "HTTP/1.0" are served; any other well-formed version is 505, the rest 400.
ParseResult read_version(std::string_view version, int& minor) {
  if (version == "HTTP/1.1") {
    minor = 1;
    return parse_done();
  }
  if (version == "HTTP/1.0") {
    minor = 0;
    return parse_done();
  }
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
      detail::has_class(version[5], detail::kDigit) && version[6] == '.' &&
      detail::has_class(version[7], detail::kDigit)) {
    return parse_error(505, "HTTP version not supported");
  }
  return parse_error(400, "invalid HTTP version");
}

// Reads "method SP request-target SP HTTP-version CRLF", exactly one space apart.
ParseResult parse_request_line(std::string_view window, std::size_t& pos, RequestHead& out) {
  const std::size_t size = window.size();
  while (pos < size && detail::is_token_char(window[pos])) {
    ++pos;
  }
  if (pos == size) {
    return ParseResult{};
  }
  if (window[pos] != ' ' || pos == 0) {
    return parse_error(400, "invalid method");
  }
  out.method = window.substr(0, pos);

  const std::size_t target_begin = ++pos;
  while (pos < size && detail::has_class(window[pos], detail::kTarget)) {
    ++pos;
  }
  if (pos == size) {
    return ParseResult{};
  }
  if (window[pos] != ' ' || pos == target_begin) {
    return parse_error(400, "invalid request target");
  }
  out.target = window.substr(target_begin, pos - target_begin);
  out.raw_target = out.target;

  const std::size_t version_begin = ++pos;
  while (pos < size && detail::has_class(window[pos], detail::kTarget)) {
    ++pos;
  }
  if (pos < size && window[pos] == ' ') {
    return parse_error(400, "invalid request line");
  }
  const std::string_view version = window.substr(version_begin, pos - version_begin);
  std::string_view reason;
  switch (detail::read_line_end(window, pos, reason)) {
    case ParseState::kComplete:
      break;
    case ParseState::kIncomplete:
      return ParseResult{};
    case ParseState::kError:
      return parse_error(400, reason);
  }
  return read_version(version, out.version_minor);
}

bool is_valid_host(std::string_view host) {
  if (host.empty()) {
    return false;
  }
  for (char c : host) {
    if (!detail::has_class(c, detail::kHostChar)) {
      return false;
    }
  }
  return true;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Brings the target to origin form. Absolute form is what clients send to a proxy they know
// about; it is accepted only for the host the request already names, so that the Host used
// for routing and the authority a service might prefer cannot disagree.
ParseResult resolve_target(RequestHead& out) {
  const std::string_view target = out.target;
  if (target.front() == '/') {
    return parse_done();
  }
  if (target == "*") {
    if (out.method == "OPTIONS") {
      return parse_done();
    }
    return parse_error(400, "asterisk-form outside OPTIONS");
  }
  std::size_t scheme_length = 0;
  if (starts_with_ignoring_case(target, "http://")) {
    scheme_length = 7;
  } else if (starts_with_ignoring_case(target, "https://")) {
    scheme_length = 8;
  } else {
    return parse_error(400, "invalid request target");
  }
  const std::string_view rest = target.substr(scheme_length);
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() || out.host.empty() || !iequals(authority, out.host)) {
    return parse_error(400, "absolute-form names another host");
  }
  if (authority_end == std::string_view::npos) {
    out.target = "/";
  } else if (rest[authority_end] == '/') {
    out.target = rest.substr(authority_end);
  } else {
    // "http://host?query" has no origin form without copying a '/' in front of the query.
    return parse_error(400, "absolute-form without path");
  }
  return parse_done();
}

ParseResult apply_request_policy(RequestHead& out) {
  using detail::TransferCoding;
  const detail::FramingFields fields =
      detail::read_framing_fields(out.headers.data(), out.header_count);
  if (!fields.error.empty()) {
    return parse_error(400, fields.error);
  }
  if (fields.host_count > 1) {
    return parse_error(400, "duplicate Host");
  }
  if (fields.host_count == 0 && out.version_minor == 1) {
    return parse_error(400, "missing Host");
  }
  if (fields.host_count == 1 && !is_valid_host(fields.host)) {
    return parse_error(400, "invalid Host");
  }
  out.host = fields.host;

  if (fields.transfer_coding != TransferCoding::kAbsent) {
    if (fields.has_content_length) {
      return parse_error(400, "both Content-Length and Transfer-Encoding");
    }
    if (out.version_minor == 0) {
      return parse_error(400, "Transfer-Encoding in HTTP/1.0");
    }
    if (fields.transfer_coding == TransferCoding::kInvalid) {
      return parse_error(400, "invalid Transfer-Encoding");
    }
    if (fields.transfer_coding == TransferCoding::kUnsupported) {
      return parse_error(501, "unsupported transfer coding");
    }
    out.framing = BodyFraming::kChunked;
  } else if (fields.has_content_length) {
    out.framing = BodyFraming::kLength;
    out.content_length = fields.content_length;
  }

  if (out.method == "CONNECT") {
    return parse_error(400, "CONNECT not supported");
  }
  if (ParseResult target = resolve_target(out); target.state == ParseState::kError) {
    return target;
  }

  const bool http11 = out.version_minor == 1;
  out.keep_alive = !fields.connection_close && (http11 || fields.connection_keep_alive);
  out.upgrade = http11 && fields.connection_upgrade && !fields.upgrade.empty();
  if (out.upgrade) {
    out.upgrade_protocol = fields.upgrade;
  }
  out.expect_continue = http11 && fields.expect_continue;
  return parse_done();
}

}  // namespace

ParseResult parse_request_head(std::string_view bytes, RequestHead& out) {
  reset(out);
  const std::string_view window = detail::head_window(bytes);
  std::size_t pos = 0;

  ParseResult result = parse_request_line(window, pos, out);
  if (result.state == ParseState::kIncomplete) {
    return detail::head_needs_more(bytes.size());
  }
  if (result.state == ParseState::kError) {
    return result;
  }

  result = detail::parse_field_lines(window, pos, out.headers.data(), out.header_count);
  if (result.state == ParseState::kIncomplete) {
    return detail::head_needs_more(bytes.size());
  }
  if (result.state == ParseState::kError) {
    return result;
  }

  const ParseResult policy = apply_request_policy(out);
  if (policy.state == ParseState::kError) {
    return policy;
  }
  return result;
}

bool is_get_or_head_with_body(const RequestHead& head) {
  const bool body = head.framing == BodyFraming::kChunked ||
                    (head.framing == BodyFraming::kLength && head.content_length > 0);
  return body && (head.method == "GET" || head.method == "HEAD");
}

}  // namespace tg::http
