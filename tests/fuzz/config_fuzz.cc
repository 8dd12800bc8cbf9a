// Fuzzes parse_config, the TOML config reader (toml++ underneath, then our key-by-key checks).
// The file is written by the operator, so the stakes are start-up robustness rather than
// attack surface: any text must end in a Config or in a `file:line: message` error, never in
// a crash, an escaping exception or a Config that breaks the promises of config.h (ranges,
// a valid lower-case domain, at least one listen address per service, paths resolved
// against the file's folder).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/config/config.h"
#include "relay/http/http.h"
#include "relay/names.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const std::string kPath = "/etc/tunnelgate/tunnelgate.toml";

bool is_valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  for (std::size_t start = 0; start <= domain.size();) {
    const std::size_t dot = domain.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? domain.size() : dot;
    if (tg::validate_name(domain.substr(start, end - start))) return false;
    start = end + 1;
  }
  return true;
}

bool is_resolved(const std::string& path) {
  return path.empty() || path.front() == '/';
}

void check_listen(const std::vector<tg::ListenAddress>& addresses) {
  FUZZ_CHECK(!addresses.empty());
  for (const tg::ListenAddress& address : addresses) {
    FUZZ_CHECK(address.port != 0 && !address.host.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tg::fuzz::as_text(data, size);
  const tg::Result<tg::Config> result = tg::parse_config(text, kPath);
  if (!result.ok()) {
    const std::string& message = result.error().message;
    FUZZ_CHECK(message.size() > kPath.size() + 1 && message.compare(0, kPath.size(), kPath) == 0 &&
               message[kPath.size()] == ':');
    return 0;
  }
  const tg::Config& config = *result;
  FUZZ_CHECK(config.source == kPath);
  FUZZ_CHECK(config.workers <= 256);
  FUZZ_CHECK(is_valid_domain(config.domain));
  check_listen(config.https_listen);
  check_listen(config.ssh_listen);
  if (config.https_dev_ca.empty()) {
    FUZZ_CHECK(!config.https_cert.empty() && !config.https_key.empty());
  } else {
    FUZZ_CHECK(config.https_cert.empty() && config.https_key.empty());
  }
  FUZZ_CHECK(is_resolved(config.state_dir) && !config.state_dir.empty());
  FUZZ_CHECK(is_resolved(config.https_cert) && is_resolved(config.https_key) &&
             is_resolved(config.https_dev_ca) && is_resolved(config.ssh_authorized_keys));
  FUZZ_CHECK(!config.ssh_host_keys.empty());
  for (const std::string& key : config.ssh_host_keys) FUZZ_CHECK(is_resolved(key));
  FUZZ_CHECK(!config.ssh_authorized_keys.empty());
  const tg::StartupLimits& startups = config.ssh_max_startups;
  FUZZ_CHECK(startups.start >= 1 && startups.start <= startups.full && startups.rate <= 100);
  FUZZ_CHECK(config.ssh_login_grace_time_ms >= 100);
  FUZZ_CHECK(config.max_head_bytes >= 1024 && config.max_head_bytes <= tg::http::kMaxHeadBytes);
  FUZZ_CHECK(config.handshake_timeout_ms >= 1 && config.idle_timeout_ms >= 1 &&
             config.drain_timeout_ms >= 1);
  return 0;
}
