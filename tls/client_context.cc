// ClientTlsContext: the client side of the project's TLS settings (see tls.h).
#include <arpa/inet.h>

#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace tg::tls {
namespace {

std::string wolfssl_error(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return text;
}

bool is_ip_literal(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

ClientTlsContext::~ClientTlsContext() {
  if (ctx_ != nullptr) wolfSSL_CTX_free(ctx_);
}

Result<std::unique_ptr<ClientTlsContext>> ClientTlsContext::create(const std::string& ca_path,
                                                                   const std::string& cert_path,
                                                                   const std::string& key_path) {
  init_library();
  std::unique_ptr<ClientTlsContext> context(new ClientTlsContext());
  context->ctx_ = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (context->ctx_ == nullptr) return make_error("wolfSSL_CTX_new failed");
  WOLFSSL_CTX* ctx = context->ctx_;
  if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_cipher_list(ctx, kCipherList) != WOLFSSL_SUCCESS) {
    return make_error("cannot set TLS versions and ciphers");
  }
  // X25519 first, as browsers and curl do: its key share is the one sent in the ClientHello,
  // so a server preferring it answers without a HelloRetryRequest.
  const int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  wolfSSL_CTX_set_groups(ctx, const_cast<int*>(groups), 3);
  const int rc = wolfSSL_CTX_load_verify_locations(ctx, ca_path.c_str(), nullptr);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error(ca_path + ": cannot load CA certificates: " + wolfssl_error(rc));
  }
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
  if (!cert_path.empty()) {
    const int cert_rc = wolfSSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str());
    if (cert_rc != WOLFSSL_SUCCESS) {
      return make_error(cert_path +
                        ": cannot load the client certificate: " + wolfssl_error(cert_rc));
    }
    const int key_rc = wolfSSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), WOLFSSL_FILETYPE_PEM);
    if (key_rc != WOLFSSL_SUCCESS) {
      return make_error(key_path + ": cannot load the client key: " + wolfssl_error(key_rc));
    }
  }
  return context;
}

WOLFSSL* ClientTlsContext::new_session(const std::string& server_name) {
  WOLFSSL* ssl = wolfSSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  char alpn[] = "http/1.1";
  // RFC 6066 allows only DNS names in SNI; an IP literal is still checked against the
  // certificate.
  const bool send_sni = !is_ip_literal(server_name);
  if ((send_sni &&
       wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, server_name.data(),
                      static_cast<unsigned short>(server_name.size())) != WOLFSSL_SUCCESS) ||
      wolfSSL_check_domain_name(ssl, server_name.c_str()) != WOLFSSL_SUCCESS ||
      wolfSSL_UseALPN(ssl, alpn, sizeof alpn - 1, WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
          WOLFSSL_SUCCESS) {
    wolfSSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

}  // namespace tg::tls
