// load_config / parse_config: the TOML file walked key by key, each value checked for type
// and range, every problem reported as `file:line: message` before anything listens.
#include "relay/config/config.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>

#include "relay/config/signin_providers_reader.h"
#include "relay/io/mailbox.h"
#include "relay/log/log.h"
#include "relay/names.h"

namespace tg {
namespace {

// A config file is a few hundred bytes; anything near this is a mistake (a log, a binary).
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
constexpr std::size_t kMaxDomain = 253;

// One table of the file as the checks see it: its values, how to name it in messages, and
// the line to blame for keys missing from it.
struct Section {
  const toml::table& table;
  std::string_view name;  // "" for the top level, else "https", "ssh", "limits"
  int line;
};

// Walks the parsed document into a Config. Each check returns false after recording its
// error; the first error ends the walk (later ones are often consequences of it).
class ConfigReader {
 public:
  explicit ConfigReader(const std::string& path)
      : path_(path), dir_(std::filesystem::path(path).parent_path()) {}

  Result<Config> read(const toml::table& root);

 private:
  bool fail(int line, const std::string& message) {
    error_ = path_ + ":" + std::to_string(line > 0 ? line : 1) + ": " + message;
    return false;
  }
  bool fail(const toml::source_region& where, const std::string& message) {
    return fail(static_cast<int>(where.begin.line), message);
  }

  // `"key"` or `"key" in [https]`, the way messages name a key.
  static std::string describe(const Section& section, std::string_view key) {
    return "\"" + std::string(key) + "\"" + in(section);
  }
  static std::string in(const Section& section) {
    return section.name.empty() ? "" : " in [" + std::string(section.name) + "]";
  }

  std::string resolve(const std::string& path) const {
    std::filesystem::path p(path);
    return p.is_absolute() || dir_.empty() ? path : (dir_ / p).string();
  }

  bool section(const toml::table& parent, std::string_view key, bool required,
               std::optional<Section>& out);
  bool known_keys(const Section& section, std::initializer_list<std::string_view> keys);
  const toml::node* find(const Section& section, std::string_view key, bool required);
  template <typename T>
  bool integer(const Section& section, std::string_view key, std::int64_t min, std::int64_t max,
               T& out);
  bool string(const Section& section, std::string_view key, bool required, std::string& out);
  bool boolean(const Section& section, std::string_view key, bool& out);
  bool path(const Section& section, std::string_view key, bool required, std::string& out);
  bool strings(const Section& section, std::string_view key, std::vector<std::string>& out);
  bool listen(const Section& section, std::string_view key, std::vector<ListenAddress>& out);
  bool domain(const Section& section, std::string& out);
  bool header_name(const Section& section, std::string_view key, std::string& name);
  bool max_startups(const Section& ssh, StartupLimits& out);

  bool read_top(const Section& top, Config& config);
  bool read_log(const Section& log, Config& config);
  bool read_https(const Section& https, Config& config);
  bool client_certs(const Section& https, Config& config);
  bool proxy_protocol_from(const Section& https, Config& config);
  bool strict_transport_security(const Section& https, Config& config);
  bool read_ssh(const Section& ssh, Config& config);
  bool read_limits(const Section& limits, Config& config);
  bool read_admin(const Section& admin, Config& config);
  bool read_tuning(const Section& tuning, Config& config);
  bool read_mcp(const Section& mcp, Config& config);
  bool read_paths(const Section& paths, Config& config);
  bool read_signin(const Section& signin, Config& config);
  // A string key that must be one of `choices`; `out` gets the index of the one written.
  bool choice(const Section& section, std::string_view key,
              std::initializer_list<std::string_view> choices, int& out);

  std::string path_;
  std::filesystem::path dir_;
  std::string error_;
  std::map<std::string, int> key_lines_;
};

bool ConfigReader::section(const toml::table& parent, std::string_view key, bool required,
                           std::optional<Section>& out) {
  const toml::node* node = parent.get(key);
  if (node == nullptr) {
    return !required || fail(1, "missing required table [" + std::string(key) + "]");
  }
  const toml::table* table = node->as_table();
  if (table == nullptr) return fail(node->source(), "\"" + std::string(key) + "\" must be a table");
  out.emplace(Section{*table, key, static_cast<int>(node->source().begin.line)});
  return true;
}

// Reports the earliest unknown key: the table iterates in key order, not file order.
bool ConfigReader::known_keys(const Section& section,
                              std::initializer_list<std::string_view> keys) {
  const toml::key* unknown = nullptr;
  for (auto&& [key, value] : section.table) {
    bool known = false;
    for (std::string_view k : keys) known = known || key.str() == k;
    if (!known && (unknown == nullptr || key.source().begin.line < unknown->source().begin.line)) {
      unknown = &key;
    }
  }
  if (unknown == nullptr) return true;
  return fail(unknown->source(), "unknown key " + describe(section, unknown->str()));
}

const toml::node* ConfigReader::find(const Section& section, std::string_view key, bool required) {
  const toml::node* node = section.table.get(key);
  if (node == nullptr && required) {
    fail(section.line, "missing required key " + describe(section, key));
  }
  return node;
}

template <typename T>
bool ConfigReader::integer(const Section& section, std::string_view key, std::int64_t min,
                           std::int64_t max, T& out) {
  static_assert(std::numeric_limits<T>::max() >= 0);
  const toml::node* node = find(section, key, false);
  if (node == nullptr) return true;
  const auto* value = node->as_integer();
  if (value == nullptr) return fail(node->source(), describe(section, key) + " must be an integer");
  std::int64_t v = value->get();
  if (v < min || v > max) {
    return fail(node->source(), describe(section, key) + " must be from " + std::to_string(min) +
                                    " to " + std::to_string(max) + ", not " + std::to_string(v));
  }
  out = static_cast<T>(v);
  return true;
}

bool ConfigReader::string(const Section& section, std::string_view key, bool required,
                          std::string& out) {
  const toml::node* node = find(section, key, required);
  if (node == nullptr) return !required;
  const auto* value = node->as_string();
  if (value == nullptr) return fail(node->source(), describe(section, key) + " must be a string");
  if (value->get().empty()) {
    return fail(node->source(), describe(section, key) + " must not be empty");
  }
  out = value->get();
  return true;
}

bool ConfigReader::boolean(const Section& section, std::string_view key, bool& out) {
  const toml::node* node = find(section, key, false);
  if (node == nullptr) return true;
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    return fail(node->source(), describe(section, key) + " must be true or false");
  }
  out = value->get();
  return true;
}

bool ConfigReader::path(const Section& section, std::string_view key, bool required,
                        std::string& out) {
  if (!string(section, key, required, out)) return false;
  if (const toml::node* node = section.table.get(key)) {
    key_lines_[std::string(section.name) + "." + std::string(key)] =
        static_cast<int>(node->source().begin.line);
  }
  if (!out.empty()) out = resolve(out);
  return true;
}

bool ConfigReader::strings(const Section& section, std::string_view key,
                           std::vector<std::string>& out) {
  const toml::node* node = find(section, key, true);
  if (node == nullptr) return false;
  const toml::array* array = node->as_array();
  std::string what = describe(section, key);
  if (array == nullptr) return fail(node->source(), what + " must be an array of strings");
  if (array->empty()) return fail(node->source(), what + " must list at least one entry");
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) return fail(element.source(), what + " must be an array of strings");
    if (value->get().empty()) return fail(element.source(), what + " must not hold \"\"");
    out.push_back(value->get());
  }
  return true;
}

bool ConfigReader::listen(const Section& section, std::string_view key,
                          std::vector<ListenAddress>& out) {
  std::vector<std::string> texts;
  if (!strings(section, key, texts)) return false;
  const toml::array& array = *section.table.get(key)->as_array();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto address = parse_listen_address(texts[i]);
    if (!address) {
      return fail(array[i].source(), describe(section, key) + ": " + address.error().message);
    }
    out.push_back(std::move(*address));
  }
  return true;
}

// Lower-cased, one trailing dot dropped, then every label must be a valid name.
bool ConfigReader::domain(const Section& section, std::string& out) {
  if (!string(section, "domain", true, out)) return false;
  out = normalize_host(out);
  bool valid = !out.empty() && out.size() <= kMaxDomain;
  for (std::size_t start = 0; valid && start <= out.size();) {
    std::size_t end = std::min(out.find('.', start), out.size());
    valid = !validate_name(std::string_view(out).substr(start, end - start));
    start = end + 1;
  }
  if (valid) return true;
  const toml::node& node = *section.table.get("domain");
  return fail(node.source(),
              "\"domain\" must be a DNS name such as \"tunnels.example.com\", not \"" +
                  std::string(*node.value<std::string_view>()) + "\"");
}

// OpenSSH's MaxStartups text, "start:rate:full" or one number.
bool ConfigReader::max_startups(const Section& ssh, StartupLimits& out) {
  const toml::node* node = ssh.table.get("max_startups");
  if (node == nullptr) return true;
  std::string text;
  if (const auto* number = node->as_integer()) {
    text = std::to_string(number->get());  // `max_startups = 10`, as sshd_config allows
  } else if (!string(ssh, "max_startups", false, text)) {
    return false;
  }
  auto limits = parse_startup_limits(text);
  if (!limits) return fail(node->source(), limits.error().message);
  out = *limits;
  return true;
}

// An HTTP field name (RFC 9110 token), stored lower case; "" (absent) is fine.
bool ConfigReader::header_name(const Section& section, std::string_view key, std::string& name) {
  for (char& c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) {
      return fail(section.table.get(key)->source(),
                  describe(section, key) + " must be a header name such as \"x-api-key\"");
    }
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (name == "authorization" || name == "host" || name == "cookie") {
    return fail(section.table.get(key)->source(),
                describe(section, key) + " cannot be \"" + name + "\"");
  }
  return true;
}

bool ConfigReader::read_log(const Section& log, Config& config) {
  if (!known_keys(log, {"file", "level"}) || !path(log, "file", false, config.log_file) ||
      !string(log, "level", false, config.log_level)) {
    return false;
  }
  if (!log::parse_level(config.log_level)) {
    return fail(log.table.get("level")->source(),
                describe(log, "level") + " must be debug, info, warn or error, not \"" +
                    config.log_level + "\"");
  }
  return true;
}

bool ConfigReader::read_top(const Section& top, Config& config) {
  config.state_dir = "state";  // resolved like a configured one when the key is absent
  return known_keys(top,
                    {"workers", "domain", "state_dir", "https", "ssh", "admin", "limits", "policy",
                     "tuning", "audit", "log", "mcp", "paths", "cluster", "signin"}) &&
         integer(top, "workers", 0, 256, config.workers) && domain(top, config.domain) &&
         path(top, "state_dir", false, config.state_dir);
}

bool ConfigReader::read_https(const Section& https, Config& config) {
  if (!known_keys(https, {"listen", "cert", "key", "dev_ca", "public_port", "client_ca",
                          "client_certs", "proxy_protocol_from", "hsts", "hsts_on_services"}) ||
      !listen(https, "listen", config.https_listen) ||
      !path(https, "dev_ca", false, config.https_dev_ca)) {
    return false;
  }
  // A real certificate, or the dev CA that mints them; both would leave unclear which wins.
  bool dev = !config.https_dev_ca.empty();
  if (dev && (https.table.contains("cert") || https.table.contains("key"))) {
    return fail(https.table.get("dev_ca")->source(),
                "[https] takes \"cert\" and \"key\", or \"dev_ca\", not both");
  }
  return path(https, "cert", !dev, config.https_cert) &&
         path(https, "key", !dev, config.https_key) &&
         integer(https, "public_port", 1, 65535, config.public_port) &&
         client_certs(https, config) && proxy_protocol_from(https, config) &&
         strict_transport_security(https, config);
}

// `hsts = "max-age=…"` sets the value, `hsts = false` turns it off; absent: the default.
bool ConfigReader::strict_transport_security(const Section& https, Config& config) {
  if (!boolean(https, "hsts_on_services", config.https_hsts_on_services)) return false;
  const toml::node* node = https.table.get("hsts");
  if (node == nullptr) return true;
  const std::string what = describe(https, "hsts");
  if (const auto* off = node->as_boolean()) {
    if (off->get()) {
      return fail(node->source(), what + " is a Strict-Transport-Security value such as \"" +
                                      std::string(http::kDefaultStrictTransportSecurity) +
                                      "\", or false");
    }
    config.https_hsts.clear();
  } else if (const auto* value = node->as_string()) {
    if (auto checked = http::check_strict_transport_security(value->get()); !checked) {
      return fail(node->source(), what + ": " + checked.error().message);
    }
    config.https_hsts = value->get();
  } else {
    return fail(node->source(), what + " must be a string (\"max-age=…\") or false");
  }
  if (config.https_hsts_on_services && config.https_hsts.empty()) {
    return fail(https.table.get("hsts_on_services")->source(),
                "hsts_on_services needs Strict-Transport-Security on: \"hsts\" is false");
  }
  return true;
}

bool ConfigReader::client_certs(const Section& https, Config& config) {
  std::string mode = "off";
  if (!path(https, "client_ca", false, config.https_client_ca) ||
      !string(https, "client_certs", false, mode)) {
    return false;
  }
  const toml::node* node = https.table.get("client_certs");
  if (mode == "off") {
    config.https_client_certs = tls::ClientCertMode::kOff;
  } else if (mode == "optional") {
    config.https_client_certs = tls::ClientCertMode::kOptional;
  } else if (mode == "required") {
    config.https_client_certs = tls::ClientCertMode::kRequired;
  } else {
    return fail(node->source(), describe(https, "client_certs") +
                                    " must be \"off\", \"optional\" or \"required\", not \"" +
                                    mode + "\"");
  }
  if (config.https_client_certs != tls::ClientCertMode::kOff && config.https_client_ca.empty()) {
    return fail(node->source(), "client_certs = \"" + mode +
                                    "\" needs \"client_ca\" in [https]: the CA bundle that "
                                    "verifies visitors' certificates");
  }
  return true;
}

bool ConfigReader::proxy_protocol_from(const Section& https, Config& config) {
  const toml::node* node = https.table.get("proxy_protocol_from");
  if (node == nullptr) return true;
  const toml::array* array = node->as_array();
  const std::string what = describe(https, "proxy_protocol_from");
  if (array == nullptr) {
    return fail(node->source(), what + " must be an array of address blocks (\"10.0.0.0/8\")");
  }
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) {
      return fail(element.source(), what + " must be an array of address blocks (\"10.0.0.0/8\")");
    }
    auto block = policy::Cidr::parse(value->get());
    if (!block) return fail(element.source(), what + ": " + block.error().message);
    config.proxy_protocol_from.push_back(*block);
  }
  return true;
}

bool ConfigReader::read_ssh(const Section& ssh, Config& config) {
  if (!known_keys(ssh, {"listen", "host_keys", "authorized_keys", "max_connections_per_source",
                        "max_startups", "login_grace_time_ms"}) ||
      !listen(ssh, "listen", config.ssh_listen) ||
      !strings(ssh, "host_keys", config.ssh_host_keys) ||
      !integer(ssh, "max_connections_per_source", 0, 10'000'000,
               config.ssh_max_connections_per_source) ||
      !integer(ssh, "login_grace_time_ms", 100, 600'000, config.ssh_login_grace_time_ms) ||
      !max_startups(ssh, config.ssh_max_startups)) {
    return false;
  }
  for (std::string& key : config.ssh_host_keys) key = resolve(key);
  key_lines_["ssh.host_keys"] = static_cast<int>(ssh.table.get("host_keys")->source().begin.line);
  return path(ssh, "authorized_keys", true, config.ssh_authorized_keys);
}

bool ConfigReader::read_limits(const Section& limits, Config& config) {
  return known_keys(
             limits,
             {"max_head_bytes", "handshake_timeout_ms", "header_timeout_ms", "idle_timeout_ms",
              "body_idle_timeout_ms", "drain_timeout_ms", "response_timeout_ms",
              "max_tunnels_per_key", "max_connections_per_tunnel", "max_connections_per_key",
              "max_connections_per_source", "memory_budget_bytes", "allow_get_head_bodies"}) &&
         integer(limits, "max_tunnels_per_key", 1, 1'000'000, config.max_tunnels_per_key) &&
         integer(limits, "max_connections_per_source", 0, 10'000'000,
                 config.max_connections_per_source) &&
         integer(limits, "memory_budget_bytes", 0, std::int64_t{1} << 50,
                 config.memory_budget_bytes) &&
         integer(limits, "max_connections_per_tunnel", 1, 10'000'000,
                 config.max_connections_per_tunnel) &&
         integer(limits, "max_connections_per_key", 1, 10'000'000,
                 config.max_connections_per_key) &&
         integer(limits, "max_head_bytes", 1024, 16 * 1024, config.max_head_bytes) &&
         integer(limits, "handshake_timeout_ms", 1, 300'000, config.handshake_timeout_ms) &&
         integer(limits, "header_timeout_ms", 1, 300'000, config.header_timeout_ms) &&
         integer(limits, "response_timeout_ms", 1, 3'600'000, config.response_timeout_ms) &&
         integer(limits, "idle_timeout_ms", 1, 86'400'000, config.idle_timeout_ms) &&
         integer(limits, "body_idle_timeout_ms", 1, 3'600'000, config.body_idle_timeout_ms) &&
         integer(limits, "drain_timeout_ms", 1, 600'000, config.drain_timeout_ms) &&
         boolean(limits, "allow_get_head_bodies", config.allow_get_head_bodies);
}

bool ConfigReader::read_admin(const Section& admin, Config& config) {
  std::string listen_text;
  if (!known_keys(admin, {"listen", "token_file"}) || !string(admin, "listen", true, listen_text) ||
      !path(admin, "token_file", false, config.admin_token_file)) {
    return false;
  }
  auto address = parse_listen_address(listen_text);
  if (!address) {
    return fail(admin.table.get("listen")->source(),
                describe(admin, "listen") + ": " + address.error().message);
  }
  // The API can close anyone's tunnel: off loopback it must demand a token.
  const bool loopback = address->host == "127.0.0.1" || address->host == "::1";
  if (!loopback && config.admin_token_file.empty()) {
    return fail(admin.table.get("listen")->source(),
                "[admin] listens on " + listen_text +
                    ", which is not loopback: set \"token_file\" so the API demands a token");
  }
  config.admin_enabled = true;
  config.admin_listen = std::move(*address);
  return true;
}

bool ConfigReader::read_tuning(const Section& tuning, Config& config) {
  if (!known_keys(tuning, {"pin_cpus", "ring_entries", "receive_buffers", "receive_buffer_size",
                           "handoff_queue_entries", "connection_buffer_bytes"}) ||
      !integer(tuning, "connection_buffer_bytes", 16 * 1024, 16 * 1024 * 1024,
               config.connection_buffer_bytes) ||
      !integer(tuning, "handoff_queue_entries", 0, io::Mailboxes::kCapacity,
               config.handoff_queue_entries) ||
      !integer(tuning, "ring_entries", 64, 32768, config.ring_entries) ||
      !integer(tuning, "receive_buffers", 16, 32768, config.receive_buffers) ||
      !integer(tuning, "receive_buffer_size", 1024, 1 << 20, config.receive_buffer_size)) {
    return false;
  }
  const auto power_of_two = [](std::uint32_t n) { return (n & (n - 1)) == 0; };
  if (!power_of_two(config.ring_entries) || !power_of_two(config.receive_buffers)) {
    const char* key = !power_of_two(config.ring_entries) ? "ring_entries" : "receive_buffers";
    return fail(tuning.table.get(key)->source(), describe(tuning, key) + " must be a power of 2");
  }
  if (const toml::node* node = tuning.table.get("pin_cpus")) {
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return fail(node->source(),
                  describe(tuning, "pin_cpus") + " must be an array of CPU numbers");
    }
    for (const toml::node& element : *array) {
      const auto* value = element.as_integer();
      if (value == nullptr || value->get() < 0 || value->get() > 4095) {
        return fail(element.source(),
                    describe(tuning, "pin_cpus") + " must hold CPU numbers 0-4095");
      }
      config.pin_cpus.push_back(static_cast<unsigned>(value->get()));
    }
  }
  return true;
}

bool ConfigReader::read_mcp(const Section& mcp, Config& config) {
  if (!known_keys(mcp, {"max_body", "deny_code", "audit_arguments", "redact_keys",
                        "session_idle_ms", "max_sessions"}) ||
      !integer(mcp, "max_body", 1, 64 << 20, config.mcp_max_body) ||
      !integer(mcp, "deny_code", -32768, 32767, config.mcp_deny_code) ||
      !boolean(mcp, "audit_arguments", config.mcp_audit_arguments) ||
      !integer(mcp, "session_idle_ms", 1000, 7 * 86'400'000, config.mcp_session_idle_ms) ||
      !integer(mcp, "max_sessions", 1, 10'000'000, config.mcp_max_sessions)) {
    return false;
  }
  // Any JSON-RPC code is the operator's to pick, but 0 reads as "no error" to some clients.
  if (config.mcp_deny_code == 0) {
    return fail(mcp.table.get("deny_code")->source(),
                describe(mcp, "deny_code") + " must not be 0 (it is not an error code)");
  }
  if (mcp.table.contains("redact_keys")) {
    if (!strings(mcp, "redact_keys", config.mcp_redact_keys)) return false;
    const toml::array& array = *mcp.table.get("redact_keys")->as_array();
    for (std::size_t i = 0; i < config.mcp_redact_keys.size(); ++i) {
      if (config.mcp_redact_keys[i].size() > 256) {
        return fail(array[i].source(),
                    describe(mcp, "redact_keys") + " entries must be at most 256 bytes");
      }
    }
  }
  return true;
}

bool ConfigReader::choice(const Section& section, std::string_view key,
                          std::initializer_list<std::string_view> choices, int& out) {
  std::string value;
  if (!string(section, key, false, value)) return false;
  const toml::node* node = section.table.get(key);
  if (node == nullptr) return true;
  std::string listed;
  int index = 0;
  for (std::string_view candidate : choices) {
    if (value == candidate) {
      out = index;
      return true;
    }
    listed += (index == 0                                      ? "\""
               : index + 1 == static_cast<int>(choices.size()) ? " or \""
                                                               : ", \"");
    listed.append(candidate).append("\"");
    ++index;
  }
  return fail(node->source(),
              describe(section, key) + " must be " + listed + ", not \"" + value + "\"");
}

bool ConfigReader::read_paths(const Section& paths, Config& config) {
  http::PathRules& rules = config.path_rules;
  int escaped_slashes = static_cast<int>(rules.escaped_slashes);
  int backslash = static_cast<int>(rules.backslash);
  // The order of the choices is the order of the enums.
  if (!known_keys(paths, {"merge_slashes", "escaped_slashes", "backslash"}) ||
      !boolean(paths, "merge_slashes", rules.merge_slashes) ||
      !choice(paths, "escaped_slashes", {"reject", "keep", "decode"}, escaped_slashes) ||
      !choice(paths, "backslash", {"reject", "keep", "slash"}, backslash)) {
    return false;
  }
  rules.escaped_slashes = static_cast<http::EscapedSlashes>(escaped_slashes);
  rules.backslash = static_cast<http::Backslash>(backslash);
  return true;
}

bool ConfigReader::read_signin(const Section& signin, Config& config) {
  SigninSettings& out = config.signin;
  out.enabled = true;
  std::vector<std::string> allow;
  if (!known_keys(signin,
                  {"provider", "client", "host", "access_token_seconds", "refresh_token_seconds",
                   "session_seconds", "code_seconds", "registrations_per_minute", "threads",
                   "client_metadata_allow", "client_metadata_ca"}) ||
      !string(signin, "host", false, out.host) ||
      !integer(signin, "access_token_seconds", 60, 86'400, out.access_token_seconds) ||
      !integer(signin, "refresh_token_seconds", 3600, 31'536'000, out.refresh_token_seconds) ||
      !integer(signin, "session_seconds", 300, 2'592'000, out.session_seconds) ||
      !integer(signin, "code_seconds", 10, 600, out.code_seconds) ||
      !integer(signin, "registrations_per_minute", 1, 100'000, out.registrations_per_minute) ||
      !integer(signin, "threads", 1, 16, out.threads) ||
      (signin.table.contains("client_metadata_allow") &&
       !strings(signin, "client_metadata_allow", allow)) ||
      !path(signin, "client_metadata_ca", false, out.client_metadata_ca)) {
    return false;
  }
  if (auto problem = validate_name(out.host)) {
    return fail(signin.table.get("host")->source(), describe(signin, "host") + ": " + *problem);
  }
  if (Status clients = read_signin_clients(signin.table, path_, dir_, out.clients); !clients) {
    error_ = clients.error().message;
    return false;
  }
  for (const std::string& text : allow) {
    auto cidr = policy::Cidr::parse(text);
    if (!cidr) {
      return fail(signin.table.get("client_metadata_allow")->source(),
                  describe(signin, "client_metadata_allow") + ": " + cidr.error().message);
    }
    out.client_metadata_allow.push_back(*cidr);
  }
  return true;
}

Result<Config> ConfigReader::read(const toml::table& root) {
  Config config;
  config.source = path_;
  Section top{root, "", 1};
  std::optional<Section> https, ssh, limits, admin, policy, tuning, audit, log, mcp, paths, signin;
  bool ok = read_top(top, config) && section(root, "https", true, https) &&
            read_https(*https, config) && section(root, "ssh", true, ssh) &&
            read_ssh(*ssh, config) && section(root, "limits", false, limits) &&
            (!limits || read_limits(*limits, config)) && section(root, "admin", false, admin) &&
            (!admin || read_admin(*admin, config)) && section(root, "policy", false, policy) &&
            (!policy || (known_keys(*policy, {"file", "api_key_header"}) &&
                         path(*policy, "file", true, config.policy_file) &&
                         string(*policy, "api_key_header", false, config.api_key_header) &&
                         header_name(*policy, "api_key_header", config.api_key_header))) &&
            section(root, "tuning", false, tuning) && (!tuning || read_tuning(*tuning, config)) &&
            section(root, "audit", false, audit) &&
            (!audit || (known_keys(*audit, {"file", "required"}) &&
                        path(*audit, "file", true, config.audit_file) &&
                        boolean(*audit, "required", config.audit_required))) &&
            section(root, "log", false, log) && (!log || read_log(*log, config)) &&
            section(root, "mcp", false, mcp) && (!mcp || read_mcp(*mcp, config)) &&
            section(root, "paths", false, paths) && (!paths || read_paths(*paths, config)) &&
            section(root, "signin", false, signin) && (!signin || read_signin(*signin, config));
  if (!ok) return make_error(error_);
  if (Status cluster = read_cluster_config(root, path_, dir_, key_lines_, config.cluster);
      !cluster) {
    return cluster.error();
  }
  if (const toml::node* signin_table = root.get("signin")) {
    if (Status read = read_signin_providers(*signin_table, path_, dir_, config.signin_providers);
        !read) {
      return read.error();
    }
  }
  config.key_lines = std::move(key_lines_);
  return config;
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& path) {
  // toml++ reports syntax errors by exception; they stop here, at start-up, as values.
  try {
    toml::table root = toml::parse(text, std::string_view(path));
    return ConfigReader(path).read(root);
  } catch (const toml::parse_error& e) {
    return make_error(path + ":" + std::to_string(std::max<int>(1, e.source().begin.line)) + ": " +
                      std::string(e.description()));
  } catch (const std::exception& e) {
    return make_error(path + ": cannot load: " + e.what());
  }
}

Result<Config> load_config(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  std::string problem;
  try {
    char buffer[16 * 1024];
    for (ssize_t n; problem.empty() && (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno != EINTR) problem = std::strerror(errno);
      if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() > kMaxConfigBytes) problem = "larger than 1 MiB, not a config file";
    }
  } catch (const std::exception& e) {
    problem = e.what();
  }
  ::close(fd);
  if (!problem.empty()) return make_error(path + ": cannot read: " + problem);
  auto config = parse_config(text, path);
  if (!config) return config;
  for (SigninProvider& provider : config->signin_providers) {
    auto secret = read_client_secret(provider.client_secret_file);
    if (!secret) {
      return make_error(path + ":" + std::to_string(provider.line) + ": " + secret.error().message);
    }
    provider.client_secret = std::move(*secret);
  }
  for (SigninClient& client : config->signin.clients) {
    if (client.secret_file.empty()) continue;
    auto secret = read_client_secret(client.secret_file);
    if (!secret) {
      return make_error(path + ":" + std::to_string(client.line) + ": " + secret.error().message);
    }
    client.secret = std::move(*secret);
  }
  return config;
}

}  // namespace tg
