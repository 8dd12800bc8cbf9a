#include <string>
#include <utility>

#include "ssh/ssh.h"

namespace tg::ssh {
namespace {

// Only host keys whose signatures the relay offers: a host key of another type would leave a
// client nothing to agree on, so it is an error when the config is read, not at the first
// connection.
Status check_host_key(const std::string& path) {
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
    return make_error(path + ": cannot load the SSH host key (a private key without passphrase)");
  }
  const ssh_keytypes_e type = ssh_key_type(key);
  ssh_key_free(key);
  if (type == SSH_KEYTYPE_ED25519 || type == SSH_KEYTYPE_RSA) return Ok{};
  return make_error(path + ": host keys of type " + ssh_key_type_to_char(type) +
                    " are not offered (only ssh-ed25519 and RSA with SHA-2: no NIST curves, no "
                    "DSA); make one with ssh-keygen -t ed25519");
}

}  // namespace

Server::~Server() {
  if (bind_ != nullptr) ssh_bind_free(bind_);
}

Result<std::unique_ptr<Server>> Server::create(const std::vector<std::string>& host_keys,
                                               const std::string& authorized_keys_path) {
  std::unique_ptr<Server> server(new Server());
  server->bind_ = ssh_bind_new();
  if (server->bind_ == nullptr) return make_error("ssh_bind_new failed");
  // RSA keys, the host's and publishers', below 2048 bits are refused (libssh checks it as a
  // host key is loaded and as a publisher's key is offered).
  const int rsa_min_bits = 2048;
  ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_RSA_MIN_SIZE, &rsa_min_bits);
  for (const auto& path : host_keys) {
    if (auto st = check_host_key(path); !st) return st.error();
    if (ssh_bind_options_set(server->bind_, SSH_BIND_OPTIONS_HOSTKEY, path.c_str()) != SSH_OK) {
      return make_error(path + ": cannot load the SSH host key (RSA needs 2048 bits or more): " +
                        ssh_get_error(server->bind_));
    }
  }
  // What `ssh-audit` passes without a failure (tests/integration/test_ssh_audit.py):
  // curve25519 and the 4096/8192-bit DH groups with SHA-512, no NIST curves and no SHA-1;
  // AEAD or CTR+ETM ciphers; host keys signed with Ed25519 or RSA-SHA2. libssh appends the
  // strict key exchange marker (kex-strict-s-v00@openssh.com, against Terrapin) by itself.
  const char* kex =
      "curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,"
      "diffie-hellman-group18-sha512";
  const char* host_key_algorithms = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256";
  const char* ciphers =
      "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
      "aes256-ctr,aes128-ctr";
  const char* macs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com";
  const std::pair<ssh_bind_options_e, const char*> options[] = {
      {SSH_BIND_OPTIONS_KEY_EXCHANGE, kex},
      {SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, host_key_algorithms},
      {SSH_BIND_OPTIONS_CIPHERS_C_S, ciphers},
      {SSH_BIND_OPTIONS_CIPHERS_S_C, ciphers},
      {SSH_BIND_OPTIONS_HMAC_C_S, macs},
      {SSH_BIND_OPTIONS_HMAC_S_C, macs},
      // Publishers' own keys: ECDSA stays accepted here, it is their choice, not the relay's.
      {SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
       "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,"
       "rsa-sha2-256"},
  };
  for (const auto& [option, value] : options) {
    // Fail closed: a libssh that does not take a list would fall back to its defaults.
    if (ssh_bind_options_set(server->bind_, option, value) != SSH_OK) {
      return make_error(std::string("libssh refused the algorithm list \"") + value +
                        "\": " + ssh_get_error(server->bind_));
    }
  }
  auto keys = AuthorizedKeys::load(authorized_keys_path);
  if (!keys) return keys.error();
  server->authorized_ = std::move(*keys);
  return server;
}

}  // namespace tg::ssh
