// write_visitor_response_head: the service's response head as the visitor receives it.
// Framing fields are rewritten from the parsed head (one Content-Length, or
// "Transfer-Encoding: chunked"), connection fields are the relay's own. A body delimited by
// the service closing its connection can only be delimited the same way for the visitor, so
// kUntilClose always ends with Connection: close whatever `keep_alive` says.
#include "relay/http/hop_by_hop.h"
#include "relay/http/http.h"

namespace tg::http {

void write_visitor_response_head(const ResponseHead& head, bool keep_alive, std::string& out) {
  using detail::append_field;
  out.append("HTTP/1.1 ");
  detail::append_decimal(out, static_cast<std::uint64_t>(head.status));
  out.append(" ").append(head.reason.empty() ? status_reason(head.status) : head.reason);
  out.append("\r\n");

  const Header* headers = head.headers.data();
  bool had_content_length = false;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    const Header& header = headers[i];
    if (iequals(header.name, "content-length")) {
      had_content_length = true;
      continue;
    }
    if (detail::is_hop_by_hop(header.name, headers, head.header_count)) {
      continue;
    }
    append_field(out, header.name, header.value);
  }
  if (!head.added_strict_transport_security.empty()) {
    append_field(out, "Strict-Transport-Security", head.added_strict_transport_security);
  }

  // A HEAD or 304 response keeps the length it states for the body it does not carry;
  // 1xx and 204 responses must not state one at all.
  const bool states_length = head.framing == BodyFraming::kLength ||
                             (head.framing == BodyFraming::kNone && had_content_length &&
                              head.status >= 200 && head.status != 204);
  if (states_length) {
    out.append("Content-Length: ");
    detail::append_decimal(out, head.content_length);
    out.append("\r\n");
  } else if (head.framing == BodyFraming::kChunked) {
    append_field(out, "Transfer-Encoding", "chunked");
  }

  if (head.status == 101) {
    const std::string_view protocol = find_header(headers, head.header_count, "upgrade");
    if (!protocol.empty()) {
      append_field(out, "Upgrade", protocol);
    }
    append_field(out, "Connection", "upgrade");
  } else if (!keep_alive || head.framing == BodyFraming::kUntilClose) {
    append_field(out, "Connection", "close");
  }
  out.append("\r\n");
}

}  // namespace tg::http
