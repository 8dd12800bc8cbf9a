// Fuzzes the tunnel-name functions: validate_name (requested names), normalize_host and
// name_under_domain (SNI and Host to a tunnel), stable_name (names derived from keys).
// The whole input is the candidate name; its first byte also splits it into a host and a
// domain and picks a stable-name index. Checked beyond memory safety:
// - a name validate_name accepts is found again under the domain, whatever the case of the
//   domain, with a port or a trailing dot (routing reaches every name it allows);
// - a refusal quotes the name safely: printable ASCII only, bounded, for the terminal;
// - normalize_host lower-cases and drops at most one trailing dot;
// - name_under_domain answers a single label of the host it was given;
// - stable names are always valid names, 12 symbols plus the "-N" suffix.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "relay/names.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::fuzz::lies_within;

void check_valid_name_routes(std::string_view name) {
  const std::string hosts[] = {
      std::string(name) + ".example.test",      std::string(name) + ".example.test:8443",
      std::string(name) + ".example.test.",     std::string(name) + ".EXAMPLE.Test",
      std::string(name) + ".example.test.:443",
  };
  for (const std::string& host : hosts) {
    const std::optional<std::string_view> found = tg::name_under_domain(host, "example.test");
    FUZZ_CHECK(found && *found == name);
  }
  FUZZ_CHECK(!tg::name_under_domain(std::string(name) + ".example.test", "other.test"));
  FUZZ_CHECK(!tg::name_under_domain("x." + std::string(name) + ".example.test", "example.test"));
}

void check_refusal_is_printable(std::string_view name, const std::string& message) {
  FUZZ_CHECK(!message.empty());
  FUZZ_CHECK(message.size() <= name.size() + 200 && message.size() <= 400);
  for (char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte >= 0x20 && byte < 0x7f);
  }
}

void check_normalize_host(std::string_view host) {
  const std::string normal = tg::normalize_host(host);
  const bool dropped_dot = !host.empty() && host.back() == '.';
  FUZZ_CHECK(normal.size() == host.size() - (dropped_dot ? 1 : 0));
  for (std::size_t i = 0; i < normal.size(); ++i) {
    const char c = host[i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    FUZZ_CHECK(normal[i] == lower);
  }
}

void check_name_under_domain(std::string_view host, std::string_view domain) {
  const std::optional<std::string_view> name = tg::name_under_domain(host, domain);
  if (!name) return;
  FUZZ_CHECK(!name->empty() && name->data() == host.data() && lies_within(*name, host));
  FUZZ_CHECK(name->find('.') == std::string_view::npos);
  FUZZ_CHECK(name->find(':') == std::string_view::npos);
  FUZZ_CHECK(host.size() > name->size() + domain.size());
  FUZZ_CHECK(host[name->size()] == '.');
}

void check_stable_name(std::string_view fingerprint, unsigned index) {
  const std::string name = tg::stable_name(fingerprint, "fuzz-secret", index);
  FUZZ_CHECK(!tg::validate_name(name));
  const std::string suffix = index == 0 ? "" : "-" + std::to_string(index + 1);
  FUZZ_CHECK(name.size() == 12 + suffix.size());
  FUZZ_CHECK(name.compare(12, std::string::npos, suffix) == 0);
  FUZZ_CHECK(name.front() >= 'a' && name.front() <= 'z');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);

  const std::optional<std::string> refusal = tg::validate_name(input);
  if (refusal) {
    check_refusal_is_printable(input, *refusal);
  } else {
    check_valid_name_routes(input);
  }
  check_normalize_host(input);

  if (size > 0) {
    const std::size_t split = size * data[0] / 256;
    check_name_under_domain(input.substr(0, split), input.substr(split));
    check_name_under_domain(input, input.substr(split));
    check_stable_name(input, data[0] % 4);
  }
  return 0;
}
