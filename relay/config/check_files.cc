// check_files: reads what the config names exactly as the workers will, once, up front, so
// `--check-config` and start-up refuse a missing or broken file with the config line that
// named it instead of failing inside a worker.
#include <fstream>

#include "relay/admin/admin_token.h"
#include "relay/config/config.h"
#include "relay/worker/jwks_documents.h"
#include "ssh/ssh.h"
#include "tls/tls.h"

namespace tg {
namespace {

Error at(const Config& config, const std::string& key, const std::string& message) {
  auto it = config.key_lines.find(key);
  const int line = it == config.key_lines.end() ? 1 : it->second;
  return make_error(config.source + ":" + std::to_string(line) + ": " + message);
}

}  // namespace

Status check_files(const Config& config) {
  tls::init_library();
  const tls::ClientAuth client{config.https_client_certs, config.https_client_ca};
  const auto client_ca_problem = [&](const Error& error) {
    return !config.https_client_ca.empty() && error.message.rfind(config.https_client_ca, 0) == 0;
  };
  if (config.https_dev_ca.empty()) {
    auto tls = tls::ServerTlsContext::from_files(config.https_cert, config.https_key, client);
    if (!tls) {
      const bool key_problem = tls.error().message.rfind(config.https_key, 0) == 0;
      const char* key = client_ca_problem(tls.error()) ? "https.client_ca"
                        : key_problem                  ? "https.key"
                                                       : "https.cert";
      return at(config, key, tls.error().message);
    }
  } else if (auto tls = tls::ServerTlsContext::with_dev_ca(config.https_dev_ca, client); !tls) {
    return at(config, client_ca_problem(tls.error()) ? "https.client_ca" : "https.dev_ca",
              tls.error().message);
  }
  for (const auto& key : config.ssh_host_keys) {
    if (!std::ifstream(key)) {
      return at(config, "ssh.host_keys", key + ": cannot read the SSH host key");
    }
  }
  auto keys = ssh::AuthorizedKeys::load(config.ssh_authorized_keys);
  if (!keys) return at(config, "ssh.authorized_keys", keys.error().message);
  auto server = ssh::Server::create(config.ssh_host_keys, config.ssh_authorized_keys);
  if (!server) return at(config, "ssh.host_keys", server.error().message);
  if (!config.admin_token_file.empty()) {
    if (auto token = read_admin_token(config.admin_token_file); !token) {
      return at(config, "admin.token_file", token.error().message);
    }
  }
  if (!config.policy_file.empty()) {
    // The policy's own errors already read `policy-file:line:col: message`.
    // URL issuers' JWKS are fetched, so a policy naming one that cannot be reached fails here.
    if (auto policy = JwksDocuments().load(config.policy_file); !policy) return policy.error();
  }
  return Ok{};
}

}  // namespace tg
