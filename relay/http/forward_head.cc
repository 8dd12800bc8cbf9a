// write_forward_request_head: the visitor's request head as the publisher's service receives
// it. The service sees one client (the relay) over one connection it may reuse, so framing
// and connection fields are written from the parsed head, never copied; and since visitors
// can claim anything, every X-Forwarded-* they send (and RFC 7239 Forwarded, which carries the
// same claims) is dropped before the relay states its own.
#include "relay/http/hop_by_hop.h"
#include "relay/http/http.h"

namespace tg::http {
namespace {

bool is_forwarding_claim(std::string_view name) {
  constexpr std::string_view kPrefix = "x-forwarded-";
  return iequals(name, "forwarded") ||
         (name.size() >= kPrefix.size() && iequals(name.substr(0, kPrefix.size()), kPrefix));
}

bool is_dropped(std::string_view name, std::span<const std::string_view> drop) {
  for (std::string_view dropped : drop) {
    if (iequals(name, dropped)) return true;
  }
  return false;
}

}  // namespace

void write_forward_request_head(const RequestHead& head, const ForwardContext& ctx,
                                std::string& out) {
  using detail::append_field;
  // An HTTP/1.0 visitor cannot read a chunked response: asking the service in HTTP/1.0 makes
  // it answer with a length or by closing, which the relay passes on as they are.
  out.append(head.method).append(" ").append(head.target);
  out.append(head.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  append_field(out, "Host", ctx.target_host);

  const Header* headers = head.headers.data();
  for (std::size_t i = 0; i < head.header_count; ++i) {
    const Header& header = headers[i];
    if (iequals(header.name, "host") || iequals(header.name, "content-length") ||
        is_forwarding_claim(header.name) || is_dropped(header.name, ctx.drop) ||
        detail::is_hop_by_hop(header.name, headers, head.header_count)) {
      continue;
    }
    // An HTTP/1.0 request's Expect is ignored (parse_request_head); forwarded in the HTTP/1.1
    // head it would take effect, and the service's 100 Continue would reach a 1.0 visitor.
    if (head.version_minor == 0 && iequals(header.name, "expect")) {
      continue;
    }
    append_field(out, header.name, header.value);
  }

  if (head.framing == BodyFraming::kLength) {
    out.append("Content-Length: ");
    detail::append_decimal(out, head.content_length);
    out.append("\r\n");
  } else if (head.framing == BodyFraming::kChunked) {
    append_field(out, "Transfer-Encoding", "chunked");
  }
  if (head.upgrade) {
    append_field(out, "Upgrade", head.upgrade_protocol);
    append_field(out, "Connection", "upgrade");
  } else {
    append_field(out, "Connection", "keep-alive");
  }

  if (!ctx.client_ip.empty()) {
    append_field(out, "X-Forwarded-For", ctx.client_ip);
  }
  if (!ctx.original_host.empty()) {
    append_field(out, "X-Forwarded-Host", ctx.original_host);
  }
  if (!ctx.proto.empty()) {
    append_field(out, "X-Forwarded-Proto", ctx.proto);
  }
  out.append(ctx.extra_fields);
  out.append("\r\n");
}

}  // namespace tg::http
