// read_cluster_config: the [cluster] table, key by key, with the same `file:line: message`
// errors as the rest of the config.
#include "relay/config/cluster_config.h"

#include <arpa/inet.h>

#include <charconv>

namespace tg {
namespace {

constexpr std::uint32_t kMinTtl = 2, kMaxTtl = 3600;
constexpr std::uint32_t kMinDeadline = 50, kMaxDeadline = 60'000;
constexpr std::size_t kMaxNodeId = 63;

class ClusterReader {
 public:
  ClusterReader(const toml::table& table, const std::string& path, const std::filesystem::path& dir,
                std::map<std::string, int>& key_lines)
      : table_(table), path_(path), dir_(dir), key_lines_(key_lines) {}

  Status read(ClusterConfig& out);

 private:
  Error fail(const toml::node* node, const std::string& message) const {
    const int line = node != nullptr ? static_cast<int>(node->source().begin.line)
                                     : static_cast<int>(table_.source().begin.line);
    return make_error(path_ + ":" + std::to_string(line > 0 ? line : 1) + ": " + message);
  }
  static std::string describe(std::string_view key) {
    return "\"" + std::string(key) + "\" in [cluster]";
  }
  Status string(std::string_view key, bool required, std::string& out);
  Status path(std::string_view key, std::string& out);
  Status integer(std::string_view key, std::uint32_t min, std::uint32_t max, std::uint32_t& out);
  Status endpoints(ClusterConfig& out);
  Status node_id(ClusterConfig& out);
  Status internal_address(ClusterConfig& out);
  Status key_prefix(ClusterConfig& out);

  const toml::table& table_;
  const std::string& path_;
  const std::filesystem::path& dir_;
  std::map<std::string, int>& key_lines_;
};

Status ClusterReader::string(std::string_view key, bool required, std::string& out) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) return fail(nullptr, "missing required key " + describe(key));
    return Ok{};
  }
  const auto* value = node->as_string();
  if (value == nullptr) return fail(node, describe(key) + " must be a string");
  if (value->get().empty()) return fail(node, describe(key) + " must not be empty");
  out = value->get();
  return Ok{};
}

Status ClusterReader::path(std::string_view key, std::string& out) {
  if (Status read = string(key, false, out); !read) return read;
  if (const toml::node* node = table_.get(key)) {
    key_lines_["cluster." + std::string(key)] = static_cast<int>(node->source().begin.line);
    const std::filesystem::path p(out);
    if (!p.is_absolute() && !dir_.empty()) out = (dir_ / p).string();
  }
  return Ok{};
}

Status ClusterReader::integer(std::string_view key, std::uint32_t min, std::uint32_t max,
                              std::uint32_t& out) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return Ok{};
  const auto* value = node->as_integer();
  if (value == nullptr) return fail(node, describe(key) + " must be an integer");
  if (value->get() < min || value->get() > max) {
    return fail(node, describe(key) + " must be from " + std::to_string(min) + " to " +
                          std::to_string(max));
  }
  out = static_cast<std::uint32_t>(value->get());
  return Ok{};
}

Status ClusterReader::endpoints(ClusterConfig& out) {
  const toml::node* node = table_.get("etcd_endpoints");
  if (node == nullptr) return fail(nullptr, "missing required key " + describe("etcd_endpoints"));
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    return fail(node, describe("etcd_endpoints") +
                          " must be a list of URLs such as [\"https://10.0.0.1:2379\"]");
  }
  for (const toml::node& item : *array) {
    const auto* text = item.as_string();
    if (text == nullptr) return fail(&item, describe("etcd_endpoints") + " must list strings");
    auto endpoint = cluster::parse_etcd_endpoint(text->get());
    if (!endpoint) return fail(&item, describe("etcd_endpoints") + ": " + endpoint.error().message);
    if (!out.etcd_endpoints.empty() && endpoint->tls != out.etcd_endpoints.front().tls) {
      return fail(&item, describe("etcd_endpoints") + " must all be http:// or all https://");
    }
    for (const cluster::EtcdEndpoint& seen : out.etcd_endpoints) {
      if (seen.host_header == endpoint->host_header) {
        return fail(&item,
                    describe("etcd_endpoints") + " lists " + endpoint->host_header + " twice");
      }
    }
    out.etcd_endpoints.push_back(std::move(*endpoint));
  }
  return Ok{};
}

Status ClusterReader::node_id(ClusterConfig& out) {
  if (Status read = string("node_id", true, out.node_id); !read) return read;
  bool ok = out.node_id.size() <= kMaxNodeId;
  for (char c : out.node_id) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    return fail(table_.get("node_id"),
                describe("node_id") + " must be 1 to 63 of a-z 0-9 . _ - (such as \"relay-1\")");
  }
  return Ok{};
}

Status ClusterReader::internal_address(ClusterConfig& out) {
  if (Status read = string("internal_address", true, out.internal_address); !read) return read;
  const std::string& text = out.internal_address;
  const toml::node* node = table_.get("internal_address");
  const Error bad = fail(node, describe("internal_address") +
                                   " must be host:port the other nodes can reach, such as "
                                   "\"10.0.0.5:8443\", not \"" +
                                   text + "\"");
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad;
  std::string host = text.substr(0, colon);
  const std::string_view port = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return bad;
  }
  unsigned char address[16];
  if (host.front() == '[') {
    if (host.back() != ']') return bad;
    host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET6, host.c_str(), address) != 1) return bad;
  } else {
    for (char c : host) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.')) {
        return bad;
      }
    }
  }
  if (host == "0.0.0.0" || host == "::") {
    return fail(node, describe("internal_address") +
                          " must be an address the other nodes can reach, not a wildcard");
  }
  return Ok{};
}

Status ClusterReader::key_prefix(ClusterConfig& out) {
  if (Status read = string("key_prefix", false, out.key_prefix); !read) return read;
  if (!out.key_prefix.starts_with('/') || !out.key_prefix.ends_with('/')) {
    return fail(table_.get("key_prefix"),
                describe("key_prefix") + " must start and end with /, such as \"/tunnelgate/\"");
  }
  return Ok{};
}

Status ClusterReader::read(ClusterConfig& out) {
  for (auto&& [key, value] : table_) {
    static constexpr std::string_view kKnown[] = {
        "etcd_endpoints",   "etcd_ca",    "etcd_cert",         "etcd_key",           "node_id",
        "internal_address", "key_prefix", "lease_ttl_seconds", "request_deadline_ms"};
    bool known = false;
    for (std::string_view name : kKnown) known = known || key.str() == name;
    if (!known) return fail(&value, "unknown key " + describe(key.str()));
  }
  Status read = endpoints(out);
  if (read) read = path("etcd_ca", out.etcd_ca);
  if (read) read = path("etcd_cert", out.etcd_cert);
  if (read) read = path("etcd_key", out.etcd_key);
  if (read) read = node_id(out);
  if (read) read = internal_address(out);
  if (read) read = key_prefix(out);
  if (read) read = integer("lease_ttl_seconds", kMinTtl, kMaxTtl, out.lease_ttl_seconds);
  if (read) {
    read = integer("request_deadline_ms", kMinDeadline, kMaxDeadline, out.request_deadline_ms);
  }
  if (!read) return read;
  const bool tls = out.etcd_endpoints.front().tls;
  if (tls && out.etcd_ca.empty()) {
    return fail(table_.get("etcd_endpoints"),
                "https:// etcd endpoints need \"etcd_ca\" in [cluster] (the CA of etcd's "
                "certificates)");
  }
  if (!tls && (!out.etcd_ca.empty() || !out.etcd_cert.empty() || !out.etcd_key.empty())) {
    return fail(table_.get(!out.etcd_ca.empty()     ? "etcd_ca"
                           : !out.etcd_cert.empty() ? "etcd_cert"
                                                    : "etcd_key"),
                "etcd_ca, etcd_cert and etcd_key in [cluster] need https:// etcd endpoints");
  }
  if (out.etcd_cert.empty() != out.etcd_key.empty()) {
    return fail(table_.get(out.etcd_cert.empty() ? "etcd_key" : "etcd_cert"),
                "\"etcd_cert\" and \"etcd_key\" in [cluster] go together");
  }
  // The fence (relay/cluster/lease_keeper.h) falls one deadline before the lease's end and
  // renewals start at a third of it: below three deadlines a node could fence itself before a
  // single renewal had the time to fail and be tried again.
  if (std::uint64_t{out.lease_ttl_seconds} * 1000 < std::uint64_t{out.request_deadline_ms} * 3) {
    return fail(table_.get("lease_ttl_seconds"),
                describe("lease_ttl_seconds") + " must be at least 3 request deadlines (" +
                    std::to_string(out.request_deadline_ms) + " ms each)");
  }
  out.enabled = true;
  return Ok{};
}

}  // namespace

Status read_cluster_config(const toml::table& root, const std::string& path,
                           const std::filesystem::path& dir, std::map<std::string, int>& key_lines,
                           ClusterConfig& out) {
  const toml::node* node = root.get("cluster");
  if (node == nullptr) return Ok{};
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    return make_error(path + ":" + std::to_string(std::max<int>(1, node->source().begin.line)) +
                      ": \"cluster\" must be a table ([cluster])");
  }
  return ClusterReader(*table, path, dir, key_lines).read(out);
}

}  // namespace tg
