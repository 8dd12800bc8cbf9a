#include "relay/dev/dev_state.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/tls.h"

namespace tg {
namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

Status write_text(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return make_error(path + ": cannot write: " + std::strerror(errno));
  const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return make_error(path + ": short write");
  return Ok{};
}

Status make_ssh_key(const std::string& path, std::string* public_line) {
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
    return make_error("cannot generate an Ed25519 key");
  }
  if (ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str()) != SSH_OK) {
    ssh_key_free(key);
    return make_error(path + ": cannot write the key");
  }
  ::chmod(path.c_str(), 0600);
  char* base64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &base64) != SSH_OK) {
    ssh_key_free(key);
    return make_error("cannot encode the public key");
  }
  const std::string line =
      std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + base64 + " tunnelgate-dev\n";
  ssh_string_free_char(base64);
  ssh_key_free(key);
  if (public_line != nullptr) *public_line = line;
  return write_text(path + ".pub", line, 0644);
}

std::string default_state_dir() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.local/state/tunnelgate-dev";
  return "tunnelgate-dev";
}

}  // namespace

Result<std::string> load_or_create_name_secret(const std::string& state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return make_error(state_dir + ": cannot create the state folder: " + ec.message());
  const std::string path = state_dir + "/name-secret";
  if (exists(path)) {
    std::ifstream in(path);
    std::string secret;
    if (!(in >> secret) || secret.size() < 32) {
      return make_error(path + ": unreadable or too short (delete it to start over)");
    }
    return secret;
  }
  unsigned char random[32];
  if (getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    return make_error("getrandom failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char byte : random) {
    secret.push_back(kHex[byte >> 4]);
    secret.push_back(kHex[byte & 15]);
  }
  if (auto st = write_text(path, secret + "\n", 0600); !st) return st.error();
  return secret;
}

Result<Config> prepare_dev(const DevOptions& options) {
  std::string dir = options.state_dir.empty() ? default_state_dir() : options.state_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(dir + ": cannot create the state folder: " + ec.message());
  dir = fs::absolute(dir).lexically_normal().string();
  if (!dir.empty() && dir.back() == '/') dir.pop_back();

  const std::string ca = dir + "/dev-ca.pem";
  const std::string ca_cert = dir + "/ca.pem";
  if (!exists(ca) || !exists(ca_cert)) {
    if (auto st = tls::create_dev_ca(ca, ca_cert); !st) return st.error();
  }
  const std::string host_key = dir + "/ssh_host_ed25519_key";
  if (!exists(host_key)) {
    if (auto st = make_ssh_key(host_key, nullptr); !st) return st.error();
  }
  const std::string client_key = dir + "/client_key";
  const std::string authorized = dir + "/authorized_keys";
  if (!exists(client_key)) {
    std::string public_line;
    if (auto st = make_ssh_key(client_key, &public_line); !st) return st.error();
    std::ofstream out(authorized, std::ios::app);
    out << public_line;
  }

  // --dev's policy: whoever holds a key in authorized_keys may publish any name, anyone may
  // call it. Written once; edit it and send SIGHUP to try rules.
  const std::string policy = dir + "/dev-policy.toml";
  if (!exists(policy)) {
    const std::string text =
        "# The policy of tunnelgate --dev (see relay/policy/POLICY.md for the language).\n"
        "# Any authorized key may publish any name; anyone may call what is published.\n"
        "[[expose]]\nid = \"dev-expose\"\nnames = [\"*\"]\nclasses = [\"human\", \"workload\", "
        "\"agent\"]\n\n[[access]]\nid = \"dev-access\"\nnames = [\"*\"]\nallow = ['true']\n"
        "\n# Sign-in: a rule that reads jwt.* sends browsers to the --dev sign-in page and MCP\n"
        "# clients through OAuth. Narrow dev-access's names, then try for example:\n"
        "# [[access]]\n# id = \"dev-signed-in\"\n# names = [\"private\"]\n"
        "# allow = ['jwt.email.endsWith(\"@example.com\")']\n";
    if (auto st = write_text(policy, text, 0644); !st) return st.error();
  }

  Config config;
  config.source = "<dev>";
  config.policy_file = policy;
  config.workers = 0;
  config.domain = "localhost";
  // Sign-in with the development page: any typed email, loopback only (the --dev listeners).
  config.signin.enabled = true;
  config.signin.dev_signin = true;
  config.state_dir = dir;
  config.https_listen.push_back(
      {"127.0.0.1", options.https_port, "127.0.0.1:" + std::to_string(options.https_port)});
  config.https_dev_ca = ca;
  // Browsers would apply HSTS to every port of localhost (and, from the apex, every
  // NAME.localhost): a developer's plain-HTTP servers there would stop loading for two years.
  config.https_hsts.clear();
  config.ssh_listen.push_back(
      {"127.0.0.1", options.ssh_port, "127.0.0.1:" + std::to_string(options.ssh_port)});
  config.ssh_host_keys.push_back(host_key);
  if (options.admin_port != 0) {
    config.admin_enabled = true;
    config.admin_listen = {"127.0.0.1", options.admin_port,
                           "127.0.0.1:" + std::to_string(options.admin_port)};
  }
  config.ssh_authorized_keys = authorized;
  return config;
}

std::string dev_instructions(const Config& config) {
  const std::string& dir = config.state_dir;
  const auto ssh_port = std::to_string(config.ssh_listen.front().port);
  const auto https_port = std::to_string(config.https_listen.front().port);
  std::ostringstream text;
  text << "ssh -p " << ssh_port << " -i " << dir << "/client_key -o UserKnownHostsFile=" << dir
       << "/known_hosts -o StrictHostKeyChecking=accept-new -R demo:80:localhost:8080 "
       << "127.0.0.1";
  text << "\ncurl --cacert " << dir << "/ca.pem https://demo.localhost:" << https_port << "/";
  return text.str();
}

}  // namespace tg
