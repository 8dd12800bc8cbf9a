#include <fstream>

#include "ssh/authorized_key_line.h"
#include "ssh/ssh.h"

namespace tg::ssh {

AuthorizedKeys::~AuthorizedKeys() {
  for (ssh_key key : keys_) ssh_key_free(key);
}
AuthorizedKeys::AuthorizedKeys(AuthorizedKeys&& other) noexcept
    : keys_(std::move(other.keys_)), fingerprints_(std::move(other.fingerprints_)) {
  other.keys_.clear();
}
AuthorizedKeys& AuthorizedKeys::operator=(AuthorizedKeys&& other) noexcept {
  std::swap(keys_, other.keys_);
  std::swap(fingerprints_, other.fingerprints_);
  return *this;
}

Result<AuthorizedKeys> AuthorizedKeys::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(path + ": cannot read the authorized keys file");
  AuthorizedKeys result;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const KeyLine parsed = parse_authorized_key_line(line, [](std::string_view word) {
      return ssh_key_type_from_name(std::string(word).c_str()) != SSH_KEYTYPE_UNKNOWN;
    });
    if (parsed.kind == KeyLine::Kind::kBlank) continue;
    if (parsed.kind == KeyLine::Kind::kError) {
      return make_error(path + ":" + std::to_string(line_number) + ": " + parsed.error);
    }
    const std::string word(parsed.type);
    const std::string base64(parsed.base64);
    const ssh_keytypes_e type = ssh_key_type_from_name(word.c_str());
    ssh_key key = nullptr;
    // libssh imports some degenerate keys it cannot hash: such a key would match an empty
    // fingerprint, so it is refused rather than kept (found by tests/fuzz/authorized_keys).
    std::string key_fingerprint;
    if (ssh_pki_import_pubkey_base64(base64.c_str(), type, &key) == SSH_OK) {
      key_fingerprint = fingerprint(key);
    }
    if (key_fingerprint.empty()) {
      if (key != nullptr) ssh_key_free(key);
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation): an error, once per file
      return make_error(path + ":" + std::to_string(line_number) + ": cannot decode the " + word +
                        " key");
    }
    result.keys_.push_back(key);
    result.fingerprints_.push_back(std::move(key_fingerprint));
  }
  return result;
}

bool AuthorizedKeys::contains(ssh_key key) const {
  for (ssh_key known : keys_) {
    if (ssh_key_cmp(known, key, SSH_KEY_CMP_PUBLIC) == 0) return true;
  }
  return false;
}

bool AuthorizedKeys::contains_fingerprint(std::string_view fingerprint) const {
  for (const auto& known : fingerprints_) {
    if (known == fingerprint) return true;
  }
  return false;
}

std::string fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t size = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &size) != SSH_OK) return {};
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, size);
  ssh_clean_pubkey_hash(&hash);
  std::string result = text != nullptr ? text : "";
  ssh_string_free_char(text);
  return result;
}

}  // namespace tg::ssh
