/// `[cluster]`: this relay as one node of a cluster coordinated through etcd (relay/cluster).
///
/// Absent, the relay is a single node (the default; `--dev` never has one). Present, it names
/// the etcd members, this node's id and the address other nodes reach it on, and the timing
/// of the node's lease. Read by config.cc's loader; errors read `file:line: message` like the
/// rest of the file. README.md documents every key.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "relay/base/result.h"
#include "relay/cluster/etcd_endpoint.h"

namespace tg {

struct ClusterConfig {
  bool enabled = false;
  std::vector<cluster::EtcdEndpoint> etcd_endpoints;
  std::string etcd_ca;           // PEM CA for https:// endpoints (required with them)
  std::string etcd_cert;         // PEM client certificate for https:// endpoints (optional)…
  std::string etcd_key;          // … and its key (both or neither)
  std::string node_id;           // unique in the cluster: [a-z0-9._-], at most 63 bytes
  std::string internal_address;  // host:port the other nodes reach this node on
  std::string key_prefix = "/tunnelgate/";  // every key the cluster writes starts with it
  std::uint32_t lease_ttl_seconds = 10;
  std::uint32_t request_deadline_ms = 1000;
};

/// Reads the `[cluster]` table of `root` (if any) into `out`. `path` names the file in errors;
/// relative file paths resolve against `dir`. `key_lines` gets the line of each file-naming key
/// ("cluster.etcd_ca"…).
Status read_cluster_config(const toml::table& root, const std::string& path,
                           const std::filesystem::path& dir, std::map<std::string, int>& key_lines,
                           ClusterConfig& out);

}  // namespace tg
