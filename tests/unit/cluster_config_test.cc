// [cluster]: absent is a single node; present, every key is checked with file:line errors.
#include <gtest/gtest.h>

#include <string>

#include "relay/config/config.h"

namespace tg {
namespace {

constexpr std::string_view kMinimal = R"(domain = "tunnels.example.com"
[https]
listen = ["0.0.0.0:443"]
cert = "cert.pem"
key = "key.pem"
[ssh]
listen = ["0.0.0.0:2222"]
host_keys = ["ssh_host_ed25519_key"]
authorized_keys = "authorized_keys"
)";

Result<Config> parse(std::string_view cluster) {
  return parse_config(std::string(kMinimal) + std::string(cluster), "/etc/tg/relay.toml");
}

std::string error(std::string_view cluster) {
  auto config = parse(cluster);
  return config ? "(no error)" : config.error().message;
}

TEST(ClusterConfig, AbsentIsASingleNode) {
  auto config = parse("");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->cluster.enabled);
  EXPECT_TRUE(config->cluster.etcd_endpoints.empty());
}

TEST(ClusterConfig, ReadsEveryKey) {
  auto config = parse(R"([cluster]
etcd_endpoints = ["https://10.0.0.1:2379", "https://etcd-2.internal:2379", "https://[fd00::3]"]
etcd_ca = "etcd/ca.pem"
etcd_cert = "/etc/tg/etcd/client.pem"
etcd_key = "etcd/client.key"
node_id = "relay-1"
internal_address = "10.0.0.5:8443"
key_prefix = "/tg-prod/"
lease_ttl_seconds = 15
request_deadline_ms = 800
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const ClusterConfig& cluster = config->cluster;
  EXPECT_TRUE(cluster.enabled);
  ASSERT_EQ(cluster.etcd_endpoints.size(), 3u);
  EXPECT_TRUE(cluster.etcd_endpoints[0].tls);
  EXPECT_EQ(cluster.etcd_endpoints[0].host, "10.0.0.1");
  EXPECT_EQ(cluster.etcd_endpoints[1].host_header, "etcd-2.internal:2379");
  EXPECT_EQ(cluster.etcd_endpoints[2].host, "fd00::3");
  EXPECT_EQ(cluster.etcd_endpoints[2].port, 2379);
  EXPECT_EQ(cluster.etcd_ca, "/etc/tg/etcd/ca.pem");  // relative to the config's folder
  EXPECT_EQ(cluster.etcd_cert, "/etc/tg/etcd/client.pem");
  EXPECT_EQ(cluster.etcd_key, "/etc/tg/etcd/client.key");
  EXPECT_EQ(cluster.node_id, "relay-1");
  EXPECT_EQ(cluster.internal_address, "10.0.0.5:8443");
  EXPECT_EQ(cluster.key_prefix, "/tg-prod/");
  EXPECT_EQ(cluster.lease_ttl_seconds, 15u);
  EXPECT_EQ(cluster.request_deadline_ms, 800u);
  EXPECT_EQ(config->key_lines.at("cluster.etcd_ca"), 12);
}

TEST(ClusterConfig, DefaultsTheTimings) {
  auto config = parse(R"([cluster]
etcd_endpoints = ["http://127.0.0.1:2379"]
node_id = "a"
internal_address = "[::1]:9443"
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->cluster.lease_ttl_seconds, 10u);
  EXPECT_EQ(config->cluster.request_deadline_ms, 1000u);
  EXPECT_EQ(config->cluster.key_prefix, "/tunnelgate/");
}

TEST(ClusterConfig, RefusesWhatIsWrongWithTheLine) {
  constexpr std::string_view kNode = "node_id = \"a\"\ninternal_address = \"10.0.0.5:8443\"\n";
  const std::string http = "[cluster]\netcd_endpoints = [\"http://127.0.0.1:2379\"]\n";
  EXPECT_EQ(error("[cluster]\nnode_id = \"a\"\n"),
            "/etc/tg/relay.toml:10: missing required key \"etcd_endpoints\" in [cluster]");
  EXPECT_EQ(error("[cluster]\netcd_endpoints = []\n" + std::string(kNode)),
            "/etc/tg/relay.toml:11: \"etcd_endpoints\" in [cluster] must be a list of URLs such as "
            "[\"https://10.0.0.1:2379\"]");
  EXPECT_EQ(error("[cluster]\netcd_endpoints = [\"127.0.0.1:2379\"]\n" + std::string(kNode)),
            "/etc/tg/relay.toml:11: \"etcd_endpoints\" in [cluster]: \"127.0.0.1:2379\" is not an "
            "etcd endpoint: it must start with http:// or https://");
  EXPECT_EQ(
      error("[cluster]\netcd_endpoints = [\"http://a:1\", \"https://b:2\"]\n" + std::string(kNode)),
      "/etc/tg/relay.toml:11: \"etcd_endpoints\" in [cluster] must all be http:// or all "
      "https://");
  EXPECT_EQ(
      error("[cluster]\netcd_endpoints = [\"http://a:1\", \"http://A:1/\"]\n" + std::string(kNode)),
      "/etc/tg/relay.toml:11: \"etcd_endpoints\" in [cluster] lists a:1 twice");
  EXPECT_EQ(error("[cluster]\netcd_endpoints = [\"https://a:1\"]\n" + std::string(kNode)),
            "/etc/tg/relay.toml:11: https:// etcd endpoints need \"etcd_ca\" in [cluster] (the CA "
            "of etcd's certificates)");
  EXPECT_EQ(error(http + "etcd_ca = \"ca.pem\"\n" + std::string(kNode)),
            "/etc/tg/relay.toml:12: etcd_ca, etcd_cert and etcd_key in [cluster] need https:// "
            "etcd endpoints");
  EXPECT_EQ(error("[cluster]\netcd_endpoints = [\"https://a:1\"]\netcd_ca = \"ca.pem\"\n"
                  "etcd_cert = \"c.pem\"\n" +
                  std::string(kNode)),
            "/etc/tg/relay.toml:13: \"etcd_cert\" and \"etcd_key\" in [cluster] go together");
  EXPECT_EQ(error(http + "internal_address = \"10.0.0.5:8443\"\n"),
            "/etc/tg/relay.toml:10: missing required key \"node_id\" in [cluster]");
  EXPECT_EQ(error(http + "node_id = \"Relay 1\"\ninternal_address = \"10.0.0.5:8443\"\n"),
            "/etc/tg/relay.toml:12: \"node_id\" in [cluster] must be 1 to 63 of a-z 0-9 . _ - "
            "(such as \"relay-1\")");
  EXPECT_EQ(error(http + "node_id = \"a\"\ninternal_address = \"10.0.0.5\"\n"),
            "/etc/tg/relay.toml:13: \"internal_address\" in [cluster] must be host:port the other "
            "nodes can reach, such as \"10.0.0.5:8443\", not \"10.0.0.5\"");
  EXPECT_EQ(error(http + "node_id = \"a\"\ninternal_address = \"0.0.0.0:8443\"\n"),
            "/etc/tg/relay.toml:13: \"internal_address\" in [cluster] must be an address the other "
            "nodes can reach, not a wildcard");
  EXPECT_EQ(error(http + std::string(kNode) + "key_prefix = \"tg\"\n"),
            "/etc/tg/relay.toml:14: \"key_prefix\" in [cluster] must start and end with /, such "
            "as \"/tunnelgate/\"");
  EXPECT_EQ(error(http + std::string(kNode) + "lease_ttl_seconds = 1\n"),
            "/etc/tg/relay.toml:14: \"lease_ttl_seconds\" in [cluster] must be from 2 to 3600");
  EXPECT_EQ(error(http + std::string(kNode) + "request_deadline_ms = \"1s\"\n"),
            "/etc/tg/relay.toml:14: \"request_deadline_ms\" in [cluster] must be an integer");
  EXPECT_EQ(
      error(http + std::string(kNode) + "lease_ttl_seconds = 5\nrequest_deadline_ms = 2000\n"),
      "/etc/tg/relay.toml:14: \"lease_ttl_seconds\" in [cluster] must be at least 3 request "
      "deadlines (2000 ms each)");
  EXPECT_EQ(error(http + std::string(kNode) + "ttl = 5\n"),
            "/etc/tg/relay.toml:14: unknown key \"ttl\" in [cluster]");
  auto not_a_table = parse_config("cluster = 1\n" + std::string(kMinimal), "/etc/tg/relay.toml");
  ASSERT_FALSE(not_a_table.ok());
  EXPECT_EQ(not_a_table.error().message,
            "/etc/tg/relay.toml:1: \"cluster\" must be a table ([cluster])");
}

}  // namespace
}  // namespace tg
