/// The local certificate authority of `--dev`: issues a leaf certificate per public name.
///
/// Clients refuse a wildcard directly under `localhost` (`*.localhost` covers a whole
/// top-level name), so `--dev` signs a certificate for each NAME.localhost the first time a
/// visitor asks for it. One EC P-256 leaf key serves every name; certificates are cached per
/// worker (each worker owns its own authority object: no sharing across cores).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/base/result.h"

namespace tg::tls {

class DevCertificateAuthority {
 public:
  ~DevCertificateAuthority();
  DevCertificateAuthority(const DevCertificateAuthority&) = delete;
  DevCertificateAuthority& operator=(const DevCertificateAuthority&) = delete;

  /// Reads a PEM file holding the CA certificate and its EC private key.
  static Result<std::unique_ptr<DevCertificateAuthority>> load(const std::string& ca_path);

  /// DER certificate for `host`, issued on first use; nullptr if signing failed or `host` is
  /// not a plausible DNS name.
  const std::vector<unsigned char>* leaf_for(std::string_view host);
  const std::vector<unsigned char>& leaf_key() const { return leaf_key_der_; }

 private:
  struct State;
  DevCertificateAuthority();
  std::unique_ptr<State> state_;
  std::vector<unsigned char> ca_cert_der_;
  std::vector<unsigned char> leaf_key_der_;
  std::unordered_map<std::string, std::vector<unsigned char>> issued_;
};

}  // namespace tg::tls
