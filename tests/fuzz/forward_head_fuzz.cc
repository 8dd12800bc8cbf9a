// Fuzzes the request path end to end: parse_request_head, then write_forward_request_head,
// then parse_request_head again on what would be sent to the publisher's service. This is the
// anti-smuggling property of the relay: whatever a visitor sends, the head we forward is one
// complete, valid HTTP/1.x head (the visitor's version), all of it (nothing left over to be read as
// a next request), with the method, target and body framing we parsed (so the service delimits the
// body where the relay does), the upgrade we saw, our Host, and exactly our own X-Forwarded-*
// claims.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/http/http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::http;

std::size_t count_fields(const RequestHead& head, std::string_view name) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    if (iequals(head.headers[i].name, name)) ++count;
  }
  return count;
}

bool is_forwarding_claim(std::string_view name) {
  constexpr std::string_view kPrefix = "x-forwarded-";
  return iequals(name, "forwarded") ||
         (name.size() >= kPrefix.size() && iequals(name.substr(0, kPrefix.size()), kPrefix));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  RequestHead visitor;
  const ParseResult parsed = parse_request_head(tg::fuzz::as_text(data, size), visitor);
  if (parsed.state != ParseState::kComplete) return 0;

  // As the proxy fills it: the Host the visitor named goes to X-Forwarded-Host.
  ForwardContext context;
  context.target_host = "localhost:8080";
  context.client_ip = "203.0.113.7";
  context.original_host = visitor.host;
  std::string forwarded;
  write_forward_request_head(visitor, context, forwarded);

  RequestHead service;
  const ParseResult reparsed = parse_request_head(forwarded, service);
  // The forwarded head adds a few fields to the visitor's, so a visitor's head near the
  // 16 KiB or 100-field limits can come out over them: our own parser then answers 431,
  // which is a size limit, not an ambiguity, and a service applies its own limits anyway.
  if (reparsed.state == ParseState::kError && reparsed.error_status == 431) {
    FUZZ_CHECK(forwarded.size() >= kMaxHeadBytes || visitor.header_count > kMaxHeaders - 8);
    return 0;
  }
  FUZZ_CHECK(reparsed.state == ParseState::kComplete);
  FUZZ_CHECK(reparsed.consumed == forwarded.size());

  FUZZ_CHECK(service.method == visitor.method);
  FUZZ_CHECK(service.target == visitor.target);
  FUZZ_CHECK(service.version_minor == visitor.version_minor);
  FUZZ_CHECK(service.framing == visitor.framing);
  FUZZ_CHECK(service.content_length == visitor.content_length);
  FUZZ_CHECK(service.upgrade == visitor.upgrade);
  FUZZ_CHECK(service.upgrade_protocol == visitor.upgrade_protocol);
  FUZZ_CHECK(service.expect_continue == visitor.expect_continue);
  FUZZ_CHECK(service.keep_alive);
  FUZZ_CHECK(service.host == context.target_host);

  std::size_t claims = 0;
  for (std::size_t i = 0; i < service.header_count; ++i) {
    if (is_forwarding_claim(service.headers[i].name)) ++claims;
  }
  const bool names_host = !context.original_host.empty();
  FUZZ_CHECK(claims == (names_host ? 3u : 2u));
  FUZZ_CHECK(count_fields(service, "x-forwarded-for") == 1);
  FUZZ_CHECK(count_fields(service, "x-forwarded-proto") == 1);
  FUZZ_CHECK(find_header(service.headers.data(), service.header_count, "x-forwarded-for") ==
             context.client_ip);
  FUZZ_CHECK(count_fields(service, "content-length") ==
             (visitor.framing == BodyFraming::kLength ? 1u : 0u));
  FUZZ_CHECK(count_fields(service, "transfer-encoding") ==
             (visitor.framing == BodyFraming::kChunked ? 1u : 0u));
  return 0;
}
