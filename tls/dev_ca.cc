#include "tls/dev_ca.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace tg::tls {
namespace {

constexpr std::size_t kMaxIssued = 4096;  // bounds memory if a client cycles through names
constexpr int kLeafDays = 30;

std::string crypt_error(int rc) {
  return wc_GetErrorString(rc);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status write_file(const std::string& path, std::string_view data, bool secret) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(path + ": cannot write: " + std::strerror(errno));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (secret) ::chmod(path.c_str(), 0600);
  return Ok{};
}

Result<std::string> der_to_pem(const unsigned char* der, int size, int type) {
  std::string pem(static_cast<std::size_t>(size) * 2 + 256, '\0');
  const int n = wc_DerToPem(der, static_cast<word32>(size), reinterpret_cast<byte*>(pem.data()),
                            static_cast<word32>(pem.size()), type);
  if (n <= 0) return make_error("cannot encode PEM: " + crypt_error(n));
  pem.resize(static_cast<std::size_t>(n));
  return pem;
}

// subjectAltName value: GeneralNames ::= SEQUENCE { dNSName [2] IA5String }.
std::vector<unsigned char> san_for(std::string_view host) {
  std::vector<unsigned char> der;
  der.push_back(0x30);
  der.push_back(static_cast<unsigned char>(host.size() + 2));
  der.push_back(0x82);
  der.push_back(static_cast<unsigned char>(host.size()));
  der.insert(der.end(), host.begin(), host.end());
  return der;
}

bool plausible_host(std::string_view host) {
  if (host.empty() || host.size() > 120) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct DevCertificateAuthority::State {
  WC_RNG rng{};
  ecc_key ca_key{};
  ecc_key leaf_key{};
  bool rng_ready = false, ca_ready = false, leaf_ready = false;
  ~State() {
    if (leaf_ready) wc_ecc_free(&leaf_key);
    if (ca_ready) wc_ecc_free(&ca_key);
    if (rng_ready) wc_FreeRng(&rng);
  }
};

DevCertificateAuthority::DevCertificateAuthority() : state_(std::make_unique<State>()) {}
DevCertificateAuthority::~DevCertificateAuthority() = default;

Result<std::unique_ptr<DevCertificateAuthority>> DevCertificateAuthority::load(
    const std::string& ca_path) {
  auto pem = read_file(ca_path);
  if (!pem) return pem.error();
  std::unique_ptr<DevCertificateAuthority> ca(new DevCertificateAuthority());
  State& st = *ca->state_;
  if (wc_InitRng(&st.rng) != 0) return make_error("cannot initialise the random generator");
  st.rng_ready = true;

  std::vector<unsigned char> der(8192);
  int n = wc_CertPemToDer(reinterpret_cast<const unsigned char*>(pem->data()),
                          static_cast<int>(pem->size()), der.data(), static_cast<int>(der.size()),
                          CERT_TYPE);
  if (n <= 0) return make_error(ca_path + ": no CA certificate: " + crypt_error(n));
  ca->ca_cert_der_.assign(der.begin(), der.begin() + n);

  const auto key_at = pem->find("-----BEGIN EC PRIVATE KEY-----");
  if (key_at == std::string::npos) return make_error(ca_path + ": no EC private key");
  n = wc_KeyPemToDer(reinterpret_cast<const unsigned char*>(pem->data() + key_at),
                     static_cast<int>(pem->size() - key_at), der.data(),
                     static_cast<int>(der.size()), nullptr);
  if (n <= 0) return make_error(ca_path + ": bad CA key: " + crypt_error(n));
  word32 index = 0;
  wc_ecc_init(&st.ca_key);
  st.ca_ready = true;
  if (int rc = wc_EccPrivateKeyDecode(der.data(), &index, &st.ca_key, static_cast<word32>(n));
      rc != 0) {
    return make_error(ca_path + ": bad CA key: " + crypt_error(rc));
  }

  wc_ecc_init(&st.leaf_key);
  st.leaf_ready = true;
  if (int rc = wc_ecc_make_key(&st.rng, 32, &st.leaf_key); rc != 0) {
    return make_error("cannot make the leaf key: " + crypt_error(rc));
  }
  n = wc_EccKeyToDer(&st.leaf_key, der.data(), static_cast<word32>(der.size()));
  if (n <= 0) return make_error("cannot encode the leaf key: " + crypt_error(n));
  ca->leaf_key_der_.assign(der.begin(), der.begin() + n);
  return ca;
}

const std::vector<unsigned char>* DevCertificateAuthority::leaf_for(std::string_view host) {
  if (!plausible_host(host)) return nullptr;
  std::string key(host);
  if (auto it = issued_.find(key); it != issued_.end()) return &it->second;
  if (issued_.size() >= kMaxIssued) issued_.clear();

  State& st = *state_;
  Cert cert;
  wc_InitCert(&cert);
  std::strncpy(cert.subject.commonName, key.c_str(), CTC_NAME_SIZE - 1);
  std::strncpy(cert.subject.org, "tunnelgate dev", CTC_NAME_SIZE - 1);
  cert.daysValid = kLeafDays;
  cert.isCA = 0;
  cert.sigType = CTC_SHA256wECDSA;
  const auto san = san_for(host);
  std::memcpy(cert.altNames, san.data(), san.size());
  cert.altNamesSz = static_cast<int>(san.size());
  if (wc_SetIssuerBuffer(&cert, ca_cert_der_.data(), static_cast<int>(ca_cert_der_.size())) != 0 ||
      wc_SetKeyUsage(&cert, "digitalSignature") != 0 ||
      wc_SetExtKeyUsage(&cert, "serverAuth") != 0) {
    return nullptr;
  }
  std::vector<unsigned char> der(4096);
  int n = wc_MakeCert(&cert, der.data(), static_cast<word32>(der.size()), nullptr, &st.leaf_key,
                      &st.rng);
  if (n <= 0) return nullptr;
  n = wc_SignCert(cert.bodySz, cert.sigType, der.data(), static_cast<word32>(der.size()), nullptr,
                  &st.ca_key, &st.rng);
  if (n <= 0) return nullptr;
  der.resize(static_cast<std::size_t>(n));
  return &issued_.emplace(std::move(key), std::move(der)).first->second;
}

Status create_dev_ca(const std::string& ca_path, const std::string& ca_cert_path) {
  WC_RNG rng;
  if (wc_InitRng(&rng) != 0) return make_error("cannot initialise the random generator");
  ecc_key key;
  wc_ecc_init(&key);
  auto cleanup = [&] {
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
  };
  if (int rc = wc_ecc_make_key(&rng, 32, &key); rc != 0) {
    cleanup();
    return make_error("cannot make the CA key: " + crypt_error(rc));
  }
  Cert cert;
  wc_InitCert(&cert);
  std::strncpy(cert.subject.commonName, "tunnelgate dev CA", CTC_NAME_SIZE - 1);
  std::strncpy(cert.subject.org, "tunnelgate dev", CTC_NAME_SIZE - 1);
  cert.daysValid = 3650;
  cert.isCA = 1;
  cert.sigType = CTC_SHA256wECDSA;
  wc_SetKeyUsage(&cert, "keyCertSign,cRLSign");
  wc_SetSubjectKeyIdFromPublicKey(&cert, nullptr, &key);
  std::vector<unsigned char> der(4096);
  int n = wc_MakeCert(&cert, der.data(), static_cast<word32>(der.size()), nullptr, &key, &rng);
  if (n > 0) {
    n = wc_SignCert(cert.bodySz, cert.sigType, der.data(), static_cast<word32>(der.size()), nullptr,
                    &key, &rng);
  }
  if (n <= 0) {
    cleanup();
    return make_error("cannot sign the CA certificate: " + crypt_error(n));
  }
  auto cert_pem = der_to_pem(der.data(), n, CERT_TYPE);
  std::vector<unsigned char> key_der(1024);
  const int key_size = wc_EccKeyToDer(&key, key_der.data(), static_cast<word32>(key_der.size()));
  cleanup();
  if (!cert_pem) return cert_pem.error();
  if (key_size <= 0) return make_error("cannot encode the CA key");
  auto key_pem = der_to_pem(key_der.data(), key_size, ECC_PRIVATEKEY_TYPE);
  if (!key_pem) return key_pem.error();
  if (auto st = write_file(ca_path, *cert_pem + *key_pem, true); !st) return st;
  return write_file(ca_cert_path, *cert_pem, false);
}

}  // namespace tg::tls
