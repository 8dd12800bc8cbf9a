#include "relay/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tg {
namespace {

// Each test gets its own folder under /tmp, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tg-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/tunnelgate.toml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<Config> load(const std::string& text) {
    std::ofstream(path_) << text;
    return load_config(path_);
  }
  // The error for `text`, with the file's path replaced by "F" for readable expectations.
  std::string error(const std::string& text) {
    auto result = load(text);
    if (result.ok()) return "(no error)";
    std::string message = result.error().message;
    if (message.compare(0, path_.size(), path_) == 0) message.replace(0, path_.size(), "F");
    return message;
  }

  std::string dir_;
  std::string path_;
};

// The smallest valid file, as lines so tests can swap one out.
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

TEST_F(ConfigTest, ReadsAFullConfig) {
  auto config = load(R"(# tunnelgate
workers = 4
domain = "Tunnels.Example.COM."
state_dir = "/var/lib/tunnelgate"

[https]
listen = ["0.0.0.0:443", "[::]:443", "localhost:8443"]
cert = "tls/fullchain.pem"
key = "/etc/tunnelgate/privkey.pem"
public_port = 443

[ssh]
listen = ["[::1]:2222"]
host_keys = ["keys/ed25519", "/etc/ssh/ssh_host_rsa_key"]
authorized_keys = "authorized_keys"

[limits]
max_head_bytes = 8192
handshake_timeout_ms = 5000
idle_timeout_ms = 60000
drain_timeout_ms = 2000
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->source, path_);
  EXPECT_EQ(config->workers, 4u);
  EXPECT_EQ(config->domain, "tunnels.example.com");
  EXPECT_EQ(config->state_dir, "/var/lib/tunnelgate");
  ASSERT_EQ(config->https_listen.size(), 3u);
  EXPECT_EQ(config->https_listen[0].host, "0.0.0.0");
  EXPECT_EQ(config->https_listen[0].port, 443);
  EXPECT_EQ(config->https_listen[1].host, "::");
  EXPECT_EQ(config->https_listen[1].text, "[::]:443");
  EXPECT_EQ(config->https_listen[2].host, "127.0.0.1");
  EXPECT_EQ(config->https_listen[2].port, 8443);
  EXPECT_EQ(config->https_cert, dir_ + "/tls/fullchain.pem");
  EXPECT_EQ(config->https_key, "/etc/tunnelgate/privkey.pem");
  EXPECT_EQ(config->https_dev_ca, "");
  EXPECT_EQ(config->public_port, 443);
  ASSERT_EQ(config->ssh_listen.size(), 1u);
  EXPECT_EQ(config->ssh_listen[0].host, "::1");
  EXPECT_EQ(config->ssh_listen[0].port, 2222);
  EXPECT_EQ(config->ssh_host_keys,
            (std::vector<std::string>{dir_ + "/keys/ed25519", "/etc/ssh/ssh_host_rsa_key"}));
  EXPECT_EQ(config->ssh_authorized_keys, dir_ + "/authorized_keys");
  EXPECT_EQ(config->max_head_bytes, 8192u);
  EXPECT_EQ(config->handshake_timeout_ms, 5000u);
  EXPECT_EQ(config->idle_timeout_ms, 60000u);
  EXPECT_EQ(config->drain_timeout_ms, 2000u);
}

TEST_F(ConfigTest, FillsDefaultsAndResolvesStateDir) {
  auto config = load(std::string(kMinimal));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->workers, 0u);
  EXPECT_EQ(config->state_dir, dir_ + "/state");
  EXPECT_EQ(config->public_port, 0);
  EXPECT_EQ(config->max_head_bytes, 16u * 1024);
  EXPECT_EQ(config->handshake_timeout_ms, 10'000u);
  EXPECT_EQ(config->idle_timeout_ms, 300'000u);
  EXPECT_EQ(config->drain_timeout_ms, 30'000u);
}

TEST_F(ConfigTest, DevCaReplacesCertAndKey) {
  auto config = load(R"(domain = "localhost"
state_dir = "run/state"
[https]
listen = ["127.0.0.1:8443"]
dev_ca = "dev-ca.pem"
[ssh]
listen = ["127.0.0.1:2222"]
host_keys = ["host_key"]
authorized_keys = "/home/me/.ssh/authorized_keys"
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->domain, "localhost");
  EXPECT_EQ(config->state_dir, dir_ + "/run/state");
  EXPECT_EQ(config->https_dev_ca, dir_ + "/dev-ca.pem");
  EXPECT_EQ(config->https_cert, "");
  EXPECT_EQ(config->https_key, "");
}

TEST_F(ConfigTest, PathsResolveAgainstARelativeConfigFolder) {
  auto config = parse_config(kMinimal, "conf/tunnelgate.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->https_cert, "conf/cert.pem");
  EXPECT_EQ(config->state_dir, "conf/state");
  config = parse_config(kMinimal, "tunnelgate.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->https_cert, "cert.pem");
}

TEST_F(ConfigTest, UnknownKeys) {
  EXPECT_EQ(error("wrokers = 2\n" + std::string(kMinimal)), "F:1: unknown key \"wrokers\"");
  EXPECT_EQ(error(std::string(kMinimal) + "[http]\nlisten = []\n"), "F:10: unknown key \"http\"");
  std::string text(kMinimal);
  text.insert(text.find("cert ="), "certificate = \"x\"\n");
  EXPECT_EQ(error(text), "F:4: unknown key \"certificate\" in [https]");
  EXPECT_EQ(error(std::string(kMinimal) + "[limits]\nmax_body_bytes = 1\nz = 2\n"),
            "F:11: unknown key \"max_body_bytes\" in [limits]");
  EXPECT_EQ(error(std::string(kMinimal) + "[ssh.extra]\n"), "F:10: unknown key \"extra\" in [ssh]");
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_EQ(error("workers = \"4\"\n" + std::string(kMinimal)),
            "F:1: \"workers\" must be an integer");
  EXPECT_EQ(error("workers = 4.0\n" + std::string(kMinimal)),
            "F:1: \"workers\" must be an integer");
  std::string text(kMinimal);
  text.replace(text.find("domain = \"tunnels.example.com\""), 30, "domain = 7");
  EXPECT_EQ(error(text), "F:1: \"domain\" must be a string");
  EXPECT_EQ(error(std::string(kMinimal) + "[limits]\nidle_timeout_ms = true\n"),
            "F:11: \"idle_timeout_ms\" in [limits] must be an integer");
  text = kMinimal;
  text.replace(text.find("listen = [\"0.0.0.0:443\"]"), 24, "listen = \"0.0.0.0:443\"");
  EXPECT_EQ(error(text), "F:3: \"listen\" in [https] must be an array of strings");
  text = kMinimal;
  text.replace(text.find("[\"ssh_host_ed25519_key\"]"), 24, "[\"a\", 5]");
  EXPECT_EQ(error(text), "F:8: \"host_keys\" in [ssh] must be an array of strings");
  EXPECT_EQ(error("limits = 5\n" + std::string(kMinimal)), "F:1: \"limits\" must be a table");
}

TEST_F(ConfigTest, ValuesOutOfRange) {
  EXPECT_EQ(error("workers = 257\n" + std::string(kMinimal)),
            "F:1: \"workers\" must be from 0 to 256, not 257");
  EXPECT_EQ(error("workers = -1\n" + std::string(kMinimal)),
            "F:1: \"workers\" must be from 0 to 256, not -1");
  std::string text(kMinimal);
  text.insert(text.find("[ssh]"), "public_port = 65536\n");
  EXPECT_EQ(error(text), "F:6: \"public_port\" in [https] must be from 1 to 65535, not 65536");
  EXPECT_EQ(error(std::string(kMinimal) + "[limits]\nmax_head_bytes = 512\n"),
            "F:11: \"max_head_bytes\" in [limits] must be from 1024 to 16384, not 512");
  EXPECT_EQ(error(std::string(kMinimal) + "[limits]\ndrain_timeout_ms = 0\n"),
            "F:11: \"drain_timeout_ms\" in [limits] must be from 1 to 600000, not 0");
}

TEST_F(ConfigTest, MissingRequiredKeys) {
  std::string text(kMinimal);
  text.erase(0, text.find('\n') + 1);
  EXPECT_EQ(error(text), "F:1: missing required key \"domain\"");
  text = kMinimal;
  text.erase(text.find("[ssh]"));
  EXPECT_EQ(error(text), "F:1: missing required table [ssh]");
  text = kMinimal;
  text.erase(text.find("key = \"key.pem\"\n"), 16);
  EXPECT_EQ(error(text), "F:2: missing required key \"key\" in [https]");
  text = kMinimal;
  text.erase(text.find("authorized_keys = "));
  EXPECT_EQ(error(text), "F:6: missing required key \"authorized_keys\" in [ssh]");
  text = kMinimal;
  text.replace(text.find("[\"ssh_host_ed25519_key\"]"), 24, "[]");
  EXPECT_EQ(error(text), "F:8: \"host_keys\" in [ssh] must list at least one entry");
}

TEST_F(ConfigTest, BadValues) {
  std::string text(kMinimal);
  text.replace(text.find("tunnels.example.com"), 19, "tunnels..example.com");
  EXPECT_EQ(error(text),
            "F:1: \"domain\" must be a DNS name such as \"tunnels.example.com\", not "
            "\"tunnels..example.com\"");
  text = kMinimal;
  text.replace(text.find("\"0.0.0.0:2222\""), 14, "\n  \"0.0.0.0:2222\",\n  \"0.0.0.0\"");
  EXPECT_EQ(error(text),
            "F:9: \"listen\" in [ssh]: listen address \"0.0.0.0\" has no port: write HOST:PORT, "
            "e.g. \"0.0.0.0:443\"");
  text = kMinimal;
  text.insert(text.find("[ssh]"), "dev_ca = \"ca.pem\"\n");
  EXPECT_EQ(error(text), "F:6: [https] takes \"cert\" and \"key\", or \"dev_ca\", not both");
  text = kMinimal;
  text.replace(text.find("\"cert.pem\""), 10, "\"\"");
  EXPECT_EQ(error(text), "F:4: \"cert\" in [https] must not be empty");
}

TEST_F(ConfigTest, SyntaxErrorsCarryTheLine) {
  std::string message = error(std::string(kMinimal) + "[limits]\nidle_timeout_ms = = 5\n");
  EXPECT_EQ(message.substr(0, 6), "F:11: ") << message;
  message = error("domain = \"a.b\"\ndomain = \"c.d\"\n");
  EXPECT_EQ(message.substr(0, 5), "F:2: ") << message;
}

// kMinimal with `lines` added to [https].
std::string with_https(const std::string& lines) {
  std::string text(kMinimal);
  const std::string after = "key = \"key.pem\"\n";
  text.insert(text.find(after) + after.size(), lines);
  return text;
}

TEST_F(ConfigTest, ClientCertificatesAreOffUnlessAsked) {
  auto config = load(std::string(kMinimal));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->https_client_certs, tls::ClientCertMode::kOff);
  EXPECT_TRUE(config->proxy_protocol_from.empty());
  for (const auto& [mode, expected] :
       {std::pair<std::string, tls::ClientCertMode>{"optional", tls::ClientCertMode::kOptional},
        {"required", tls::ClientCertMode::kRequired},
        {"off", tls::ClientCertMode::kOff}}) {
    auto with_ca =
        load(with_https("client_ca = \"clients.pem\"\nclient_certs = \"" + mode + "\"\n"));
    ASSERT_TRUE(with_ca.ok()) << with_ca.error().message;
    EXPECT_EQ(with_ca->https_client_certs, expected);
    EXPECT_EQ(with_ca->https_client_ca, dir_ + "/clients.pem");
  }
}

TEST_F(ConfigTest, ClientCertificatesNeedACaAndAKnownMode) {
  EXPECT_EQ(error(with_https("client_certs = \"required\"\n")),
            "F:6: client_certs = \"required\" needs \"client_ca\" in [https]: the CA bundle that "
            "verifies visitors' certificates");
  EXPECT_EQ(error(with_https("client_ca = \"c.pem\"\nclient_certs = \"yes\"\n")),
            "F:7: \"client_certs\" in [https] must be \"off\", \"optional\" or \"required\", not "
            "\"yes\"");
  EXPECT_EQ(error(with_https("client_certs = true\n")),
            "F:6: \"client_certs\" in [https] must be a string");
}

TEST_F(ConfigTest, ProxyProtocolFromTakesAddressBlocks) {
  auto config =
      load(with_https("proxy_protocol_from = [\"10.0.0.0/8\", \"127.0.0.1/32\", "
                      "\"2001:db8::/32\"]\n"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->proxy_protocol_from.size(), 3u);
  EXPECT_TRUE(config->proxy_protocol_from[0].contains(*policy::IpAddress::parse("10.1.2.3")));
  EXPECT_FALSE(config->proxy_protocol_from[1].contains(*policy::IpAddress::parse("127.0.0.2")));
  EXPECT_TRUE(config->proxy_protocol_from[2].contains(*policy::IpAddress::parse("2001:db8::9")));
  EXPECT_EQ(error(with_https("proxy_protocol_from = [\"10.0.0.1/8\"]\n")).substr(0, 39),
            "F:6: \"proxy_protocol_from\" in [https]: ");
  EXPECT_EQ(error(with_https("proxy_protocol_from = \"10.0.0.0/8\"\n")),
            "F:6: \"proxy_protocol_from\" in [https] must be an array of address blocks "
            "(\"10.0.0.0/8\")");
  EXPECT_EQ(error(with_https("proxy_protocol_from = [\"lb.example\"]\n")),
            "F:6: \"proxy_protocol_from\" in [https]: \"lb.example\" is not an IP address");
}

TEST_F(ConfigTest, UnreadableFiles) {
  auto missing = load_config(dir_ + "/absent.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, dir_ + "/absent.toml: cannot read: No such file or directory");
  auto folder = load_config(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().message, dir_ + ": cannot read: Is a directory");
}

TEST(ListenAddress, ParsesHostAndPort) {
  auto v4 = parse_listen_address("1.2.3.4:443");
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  EXPECT_EQ(v4->host, "1.2.3.4");
  EXPECT_EQ(v4->port, 443);
  EXPECT_EQ(v4->text, "1.2.3.4:443");
  auto v6 = parse_listen_address("[::1]:65535");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  auto local = parse_listen_address("localhost:1");
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(local->host, "127.0.0.1");
  EXPECT_EQ(local->port, 1);
}

TEST(ListenAddress, RefusesTheRest) {
  for (std::string_view text :
       {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:443x", "1.2.3.4:-1",
        "1.2.3.4: 443", "1.2.3:443", "example.com:443", ":443", "::1:443", "[::1]", "[::1]443",
        "[1.2.3.4]:443", "[::1:443", "[]:443", "1.2.3.4:4430000", "256.0.0.1:80"}) {
    auto result = parse_listen_address(text);
    EXPECT_FALSE(result.ok()) << text;
    if (!result.ok()) {
      EXPECT_EQ(result.error().message.rfind("listen address \"" + std::string(text) + "\" ", 0),
                0u)
          << result.error().message;
    }
  }
  EXPECT_EQ(parse_listen_address("1.2.3.4:0").error().message,
            "listen address \"1.2.3.4:0\" has a bad port: use 1 to 65535");
  EXPECT_EQ(parse_listen_address("::1:443").error().message,
            "listen address \"::1:443\" needs brackets around its IPv6 address, e.g. "
            "\"[::1]:443\"");
}

TEST_F(ConfigTest, McpSectionDefaultsAndValues) {
  auto defaults = load(std::string(kMinimal));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->mcp_max_body, 1u << 20);
  EXPECT_EQ(defaults->mcp_deny_code, -32602);
  EXPECT_FALSE(defaults->mcp_audit_arguments);
  EXPECT_TRUE(defaults->mcp_redact_keys.empty());

  auto set = load(std::string(kMinimal) +
                  "[mcp]\nmax_body = 4096\ndeny_code = -32601\naudit_arguments = true\n"
                  "redact_keys = [\"password\", \"token\"]\nsession_idle_ms = 60000\n"
                  "max_sessions = 10\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->mcp_max_body, 4096u);
  EXPECT_EQ(set->mcp_deny_code, -32601);
  EXPECT_TRUE(set->mcp_audit_arguments);
  EXPECT_EQ(set->mcp_redact_keys, (std::vector<std::string>{"password", "token"}));
  EXPECT_EQ(set->mcp_session_idle_ms, 60000u);
  EXPECT_EQ(set->mcp_max_sessions, 10u);
}

TEST_F(ConfigTest, McpSectionErrorsNameTheLine) {
  const std::string base(kMinimal);
  EXPECT_EQ(error(base + "[mcp]\nmax_body = 0\n"),
            "F:11: \"max_body\" in [mcp] must be from 1 to 67108864, not 0");
  EXPECT_EQ(error(base + "[mcp]\ndeny_code = 0\n"),
            "F:11: \"deny_code\" in [mcp] must not be 0 (it is not an error code)");
  EXPECT_EQ(error(base + "[mcp]\naudit_arguments = \"yes\"\n"),
            "F:11: \"audit_arguments\" in [mcp] must be true or false");
  EXPECT_EQ(error(base + "[mcp]\nredact_keys = [\"a\", 3]\n"),
            "F:11: \"redact_keys\" in [mcp] must be an array of strings");
  EXPECT_EQ(error(base + "[mcp]\nmax_bodies = 3\n"), "F:11: unknown key \"max_bodies\" in [mcp]");
}

TEST_F(ConfigTest, PathsSectionDefaultsToTheStrictestRules) {
  auto defaults = load(std::string(kMinimal));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_TRUE(defaults->path_rules.merge_slashes);
  EXPECT_EQ(defaults->path_rules.escaped_slashes, http::EscapedSlashes::kReject);
  EXPECT_EQ(defaults->path_rules.backslash, http::Backslash::kReject);

  auto keep = load(std::string(kMinimal) +
                   "[paths]\nmerge_slashes = false\nescaped_slashes = \"keep\"\n"
                   "backslash = \"slash\"\n");
  ASSERT_TRUE(keep.ok()) << keep.error().message;
  EXPECT_FALSE(keep->path_rules.merge_slashes);
  EXPECT_EQ(keep->path_rules.escaped_slashes, http::EscapedSlashes::kKeep);
  EXPECT_EQ(keep->path_rules.backslash, http::Backslash::kSlash);

  auto decode =
      load(std::string(kMinimal) + "[paths]\nescaped_slashes = \"decode\"\nbackslash = \"keep\"\n");
  ASSERT_TRUE(decode.ok()) << decode.error().message;
  EXPECT_EQ(decode->path_rules.escaped_slashes, http::EscapedSlashes::kDecode);
  EXPECT_EQ(decode->path_rules.backslash, http::Backslash::kKeep);
}

TEST_F(ConfigTest, PathsSectionErrorsNameTheLineAndTheChoices) {
  const std::string base(kMinimal);
  EXPECT_EQ(error(base + "[paths]\nescaped_slashes = \"allow\"\n"),
            "F:11: \"escaped_slashes\" in [paths] must be \"reject\", \"keep\" or \"decode\", "
            "not \"allow\"");
  EXPECT_EQ(error(base + "[paths]\nbackslash = 1\n"),
            "F:11: \"backslash\" in [paths] must be a string");
  EXPECT_EQ(error(base + "[paths]\nmerge_slashes = \"yes\"\n"),
            "F:11: \"merge_slashes\" in [paths] must be true or false");
  EXPECT_EQ(error(base + "[paths]\nnormalize = true\n"),
            "F:11: unknown key \"normalize\" in [paths]");
}

}  // namespace

TEST(ConfigTuning, ReadsSizesAndPinsAndRefusesBadOnes) {
  const std::string base = R"(domain = "tg.test"
[https]
listen = ["127.0.0.1:8443"]
cert = "c.pem"
key = "k.pem"
[ssh]
listen = ["127.0.0.1:2222"]
host_keys = ["h"]
authorized_keys = "a"
[tuning]
)";
  auto good = parse_config(base + "pin_cpus = [1, 0]\nring_entries = 1024\nreceive_buffers = 256\n",
                           "/etc/tg/F");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->pin_cpus, (std::vector<unsigned>{1, 0}));
  EXPECT_EQ(good->ring_entries, 1024u);
  EXPECT_EQ(good->receive_buffers, 256u);
  auto odd = parse_config(base + "ring_entries = 1000\n", "F");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().message, "F:11: \"ring_entries\" in [tuning] must be a power of 2");
  auto negative = parse_config(base + "pin_cpus = [-1]\n", "F");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("F:11:"), std::string::npos);
}

}  // namespace tg

namespace tg {

// A config with only what is required; a line appended to it is line 11.
constexpr std::string_view kMinimalConfig = R"(domain = "tg.test"
[https]
listen = ["127.0.0.1:8443"]
cert = "c.pem"
key = "k.pem"
[ssh]
listen = ["127.0.0.1:2222"]
host_keys = ["h"]
authorized_keys = "a"
)";

TEST(ConfigLimits, ReadsTheSourceCapMemoryBudgetAndHandoffQueue) {
  const std::string base(kMinimalConfig);
  auto defaults = parse_config(base, "F");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->max_connections_per_source, 256u);
  EXPECT_EQ(defaults->memory_budget_bytes, std::uint64_t{1} << 30);
  EXPECT_EQ(defaults->handoff_queue_entries, 3072u);
  auto set =
      parse_config(base +
                       "[limits]\nmax_connections_per_source = 0\n"
                       "memory_budget_bytes = 8589934592\n[tuning]\nhandoff_queue_entries = 0\n",
                   "F");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->max_connections_per_source, 0u);
  EXPECT_EQ(set->memory_budget_bytes, std::uint64_t{8} << 30);
  EXPECT_EQ(set->handoff_queue_entries, 0u);
  auto too_deep = parse_config(base + "[tuning]\nhandoff_queue_entries = 5000\n", "F");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().message,
            "F:11: \"handoff_queue_entries\" in [tuning] must be from 0 to 4096, not 5000");
}

TEST(ConfigLimits, ReadsConnectionBuffersAndPerKeyConnections) {
  const std::string base(kMinimalConfig);
  auto defaults = parse_config(base, "F");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->connection_buffer_bytes, 256u * 1024);
  EXPECT_EQ(defaults->max_connections_per_key, 16384u);
  auto set = parse_config(
      base + "[limits]\nmax_connections_per_key = 3\n[tuning]\nconnection_buffer_bytes = 65536\n",
      "F");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->connection_buffer_bytes, 65536u);
  EXPECT_EQ(set->max_connections_per_key, 3u);
  auto tiny = parse_config(base + "[tuning]\nconnection_buffer_bytes = 100\n", "F");
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(
      tiny.error().message,
      "F:11: \"connection_buffer_bytes\" in [tuning] must be from 16384 to 16777216, not 100");
}

TEST(ConfigLimits, RefusesBodiesOnGetAndHeadUnlessAllowed) {
  const std::string base(kMinimalConfig);
  auto defaults = parse_config(base, "F");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_FALSE(defaults->allow_get_head_bodies);
  auto allowed = parse_config(base + "[limits]\nallow_get_head_bodies = true\n", "F");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  EXPECT_TRUE(allowed->allow_get_head_bodies);
  auto wrong = parse_config(base + "[limits]\nallow_get_head_bodies = 1\n", "F");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message,
            "F:11: \"allow_get_head_bodies\" in [limits] must be true or false");
}

}  // namespace tg

namespace tg {
namespace {

// `[https] hsts` and `hsts_on_services`: the default, a value, off, and values a browser would
// misread, reported at their line (line 6, after `key`).
class ConfigHsts : public ConfigTest {
 protected:
  std::string with(const std::string& lines) {
    std::string text(kMinimal);
    const std::string key = "key = \"key.pem\"\n";
    text.insert(text.find(key) + key.size(), lines);
    return text;
  }
};

TEST_F(ConfigHsts, DefaultValueOffAndOnServices) {
  auto defaults = load(std::string(kMinimal));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->https_hsts, "max-age=63072000; includeSubDomains");
  EXPECT_FALSE(defaults->https_hsts_on_services);
  auto set = load(with("hsts = \"max-age=600; preload\"\nhsts_on_services = true\n"));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->https_hsts, "max-age=600; preload");
  EXPECT_TRUE(set->https_hsts_on_services);
  auto off = load(with("hsts = false\n"));
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->https_hsts, "");
}

TEST_F(ConfigHsts, RefusesWhatABrowserWouldMisread) {
  EXPECT_EQ(error(with("hsts = \"max-age=soon\"\n")),
            "F:6: \"hsts\" in [https]: \"max-age\" needs a number of seconds, as in "
            "max-age=63072000");
  EXPECT_EQ(error(with("hsts = \"includeSubDomains\"\n")),
            "F:6: \"hsts\" in [https]: \"max-age\" is required, as in max-age=63072000");
  EXPECT_EQ(error(with("hsts = \"max-age=1; max-age=2\"\n")),
            "F:6: \"hsts\" in [https]: \"max-age\" is given twice");
  EXPECT_EQ(error(with("hsts = \"max-age=1; includeSubDomains=yes\"\n")),
            "F:6: \"hsts\" in [https]: \"includeSubDomains\" takes no value");
  EXPECT_NE(error(with("hsts = \"max-age=1; include\"\n")).find("is not a directive"),
            std::string::npos);
  EXPECT_NE(error(with("hsts = true\n")).find("or false"), std::string::npos);
  EXPECT_EQ(error(with("hsts = false\nhsts_on_services = true\n")),
            "F:7: hsts_on_services needs Strict-Transport-Security on: \"hsts\" is false");
}

}  // namespace
}  // namespace tg
