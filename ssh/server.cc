#include "ssh/ssh.h"

namespace tg::ssh {

Server::~Server() {
  if (bind_ != nullptr) ssh_bind_free(bind_);
}

Result<std::unique_ptr<Server>> Server::create(const std::vector<std::string>& host_keys,
                                               const std::string& authorized_keys_path) {
  std::unique_ptr<Server> server(new Server());
  server->bind_ = ssh_bind_new();
  if (server->bind_ == nullptr) return make_error("ssh_bind_new failed");
  for (const auto& path : host_keys) {
    if (ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_HOSTKEY, path.c_str()) != SSH_OK) {
      return make_error(path + ": cannot load the SSH host key: " + ssh_get_error(server->bind_));
    }
  }
  // Modern algorithms only: curve25519/ECDH key exchange, AEAD or CTR+ETM ciphers, no SHA-1.
  const char* kex =
      "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
      "ecdh-sha2-nistp384,ecdh-sha2-nistp521";
  const char* ciphers =
      "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
      "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr";
  const char* macs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com";
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_KEY_EXCHANGE, kex);
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_CIPHERS_C_S, ciphers);
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_CIPHERS_S_C, ciphers);
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_HMAC_C_S, macs);
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_HMAC_S_C, macs);
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
                       "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
                       "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256");
  auto keys = AuthorizedKeys::load(authorized_keys_path);
  if (!keys) return keys.error();
  server->authorized_ = std::move(*keys);
  return server;
}

}  // namespace tg::ssh
