// [[signin.provider]]: the values read, the defaults, each refusal with its line, and the
// client secret file's checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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
host_keys = ["k"]
authorized_keys = "authorized_keys"
)";

class SigninConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tg-signin-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/tunnelgate.toml";
    write_secret("secret", "s3cret\n", 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_secret(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  Result<Config> load(const std::string& signin) {
    std::ofstream(path_) << kMinimal << signin;
    return load_config(path_);
  }
  std::string error(const std::string& signin) {
    auto result = load(signin);
    if (result.ok()) return "(no error)";
    std::string message = result.error().message;
    for (std::size_t at; (at = message.find(path_)) != std::string::npos;) {
      message.replace(at, path_.size(), "F");
    }
    for (std::size_t at; (at = message.find(dir_)) != std::string::npos;) {
      message.replace(at, dir_.size(), "D");
    }
    return message;
  }

  std::string dir_, path_;
};

constexpr std::string_view kProvider = R"(
[[signin.provider]]
id = "corp"
issuer = "https://idp.example.com/realms/corp"
client_id = "tunnelgate"
client_secret_file = "secret"
)";

TEST_F(SigninConfigTest, ReadsProvidersWithTheirDefaults) {
  auto config = load(std::string(kProvider) + R"(
[[signin.provider]]
id = "google"
display_name = "Google"
issuer = "https://accounts.google.com"
client_id = "123.apps"
client_secret_file = "secret"
scopes = "openid email"
email_claim = "upn"
groups_claim = "roles"
allowed_email_domains = ["Example.COM", "example.org"]
ca_file = "ca.pem"
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->signin_providers.size(), 2u);
  const SigninProvider& corp = config->signin_providers[0];
  EXPECT_EQ(corp.id, "corp");
  EXPECT_EQ(corp.display_name, "corp");
  EXPECT_EQ(corp.issuer, "https://idp.example.com/realms/corp");
  EXPECT_EQ(corp.client_secret, "s3cret");
  EXPECT_EQ(corp.client_secret_file, dir_ + "/secret");
  EXPECT_EQ(corp.scopes, "openid email profile");
  EXPECT_EQ(corp.email_claim, "email");
  EXPECT_EQ(corp.groups_claim, "groups");
  EXPECT_TRUE(corp.allowed_email_domains.empty());
  EXPECT_EQ(corp.ca_file, policy::kSystemCaBundle);
  EXPECT_EQ(corp.line, 11);
  const SigninProvider& google = config->signin_providers[1];
  EXPECT_EQ(google.display_name, "Google");
  EXPECT_EQ(google.scopes, "openid email");
  EXPECT_EQ(google.email_claim, "upn");
  EXPECT_EQ(google.groups_claim, "roles");
  EXPECT_EQ(google.allowed_email_domains, (std::vector<std::string>{"example.com", "example.org"}));
  EXPECT_EQ(google.ca_file, dir_ + "/ca.pem");
}

TEST_F(SigninConfigTest, NoSigninTableMeansNoProviders) {
  auto config = load("");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->signin_providers.empty());
}

TEST_F(SigninConfigTest, RefusesBadTablesWithTheirLine) {
  const std::string head = "\n[[signin.provider]]\n";
  const std::string rest =
      "issuer = \"https://idp.example\"\nclient_id = \"c\"\n"
      "client_secret_file = \"secret\"\n";
  EXPECT_EQ(error(head + "id = \"Corp\"\n" + rest),
            "F:12: \"id\" in [[signin.provider]] must be 1 to 32 of a-z, 0-9 and '-' (not at "
            "either end), not \"Corp\"");
  EXPECT_EQ(error(head + rest), "F:11: missing required key \"id\" in [[signin.provider]]");
  EXPECT_EQ(
      error(head + "id = \"a\"\nissuer = \"http://idp\"\nclient_id = \"c\"\n"
                   "client_secret_file = \"secret\"\n"),
      "F:13: \"issuer\" in [[signin.provider]]: http://idp: invalid URL: not an https:// URL");
  EXPECT_EQ(error(head + "id = \"a\"\n" + rest + "scopes = \"email profile\"\n"),
            "F:16: \"scopes\" in [[signin.provider]] must include \"openid\"");
  EXPECT_EQ(error(head + "id = \"a\"\n" + rest + "colour = \"blue\"\n"),
            "F:16: unknown key \"colour\" in [[signin.provider]]");
  EXPECT_EQ(error(head + "id = \"a\"\n" + rest + "allowed_email_domains = [\"@x\"]\n"),
            "F:16: \"allowed_email_domains\" in [[signin.provider]]: \"@x\" is not a domain name");
  EXPECT_EQ(error(head + "id = \"a\"\n" + rest + head + "id = \"a\"\n" + rest),
            "F:18: [[signin.provider]] id \"a\" is already used on line 11");
  EXPECT_EQ(error("\n[signin]\nprovider = 3\n"),
            "F:12: \"provider\" in [signin] must be [[signin.provider]] tables");
  EXPECT_EQ(error("\n[signin]\ncolour = 3\n"), "F:12: unknown key \"colour\" in [signin]");
}

TEST_F(SigninConfigTest, ChecksTheClientSecretFile) {
  write_secret("secret", "s3cret\n", 0644);
  EXPECT_EQ(error(std::string(kProvider)),
            "F:11: D/secret: the client secret file can be read by others (chmod 600 it)");
  write_secret("secret", "\n", 0600);
  EXPECT_EQ(error(std::string(kProvider)), "F:11: D/secret: the client secret file is empty");
  write_secret("secret", "two words\n", 0600);
  EXPECT_EQ(error(std::string(kProvider)),
            "F:11: D/secret: the client secret must be one word of visible ASCII (spaces, tabs "
            "or control characters found)");
  std::filesystem::remove(dir_ + "/secret");
  EXPECT_EQ(error(std::string(kProvider)),
            "F:11: D/secret: cannot read the client secret: No such file or directory");
  write_secret("secret", "crlf-secret\r\n", 0400);
  auto config = load(std::string(kProvider));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->signin_providers[0].client_secret, "crlf-secret");
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST_F(SigninConfigTest, ReadsTheAuthorizationServersSettings) {
  auto config = load(std::string("\n[signin]\nhost = \"login\"\naccess_token_seconds = 600\n"
                                 "code_seconds = 30\nthreads = 3\n"
                                 "client_metadata_allow = [\"10.0.0.0/8\"]\n") +
                     std::string(kProvider));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->signin.enabled);
  EXPECT_EQ(config->signin.host, "login");
  EXPECT_EQ(config->signin.access_token_seconds, 600u);
  EXPECT_EQ(config->signin.code_seconds, 30u);
  EXPECT_EQ(config->signin.threads, 3u);
  ASSERT_EQ(config->signin.client_metadata_allow.size(), 1u);
  EXPECT_FALSE(config->signin.dev_signin);  // only --dev has the development page
  auto defaults = load(std::string(kProvider));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->signin.host, "auth");
  EXPECT_EQ(defaults->signin.refresh_token_seconds, 2'592'000u);
  auto off = load("");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->signin.enabled);
}

TEST_F(SigninConfigTest, RefusesBadSettings) {
  const std::string provider(kProvider);
  EXPECT_EQ(error("\n[signin]\nhost = \"Auth.Box\"\n" + provider).find("F:12: "), 0u);
  EXPECT_NE(error("\n[signin]\ncode_seconds = 5\n" + provider).find("code_seconds"),
            std::string::npos);
  EXPECT_NE(error("\n[signin]\nclient_metadata_allow = [\"10.0.0.1/8\"]\n" + provider)
                .find("client_metadata_allow"),
            std::string::npos);
  EXPECT_NE(error("\n[signin]\ndev_signin = true\n" + provider).find("dev_signin"),
            std::string::npos);
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST_F(SigninConfigTest, ReadsConfiguredClients) {
  write_secret("agent", "agent-secret\n", 0600);
  auto config =
      load(std::string(kProvider) +
           "\n[[signin.client]]\nid = \"corp-agent\"\nname = \"Corp Agent\"\n"
           "redirect_uris = [\"http://127.0.0.1/cb\", \"https://agent.example/cb\"]\n"
           "secret_file = \"agent\"\n"
           "\n[[signin.client]]\nid = \"ide\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->signin.clients.size(), 2u);
  EXPECT_EQ(config->signin.clients[0].secret, "agent-secret");
  EXPECT_EQ(config->signin.clients[0].redirect_uris.size(), 2u);
  EXPECT_EQ(config->signin.clients[1].name, "ide");
  EXPECT_TRUE(config->signin.clients[1].secret.empty());
}

TEST_F(SigninConfigTest, RefusesBadClients) {
  const std::string provider(kProvider);
  const std::string head = provider + "\n[[signin.client]]\n";
  EXPECT_NE(error(head + "id = \"tgc1.x\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n")
                .find("\"id\" in [[signin.client]]"),
            std::string::npos);
  EXPECT_NE(error(head + "id = \"a\"\nredirect_uris = [\"http://evil.example/cb\"]\n")
                .find("redirect_uris"),
            std::string::npos);
  EXPECT_NE(error(head + "id = \"a\"\n").find("redirect_uris"), std::string::npos);
  EXPECT_NE(error(head + "id = \"a\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\ncolour = 1\n")
                .find("unknown key \"colour\""),
            std::string::npos);
  EXPECT_NE(error(head + "id = \"a\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n" +
                  "\n[[signin.client]]\nid = \"a\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n")
                .find("already used"),
            std::string::npos);
}

}  // namespace
}  // namespace tg
