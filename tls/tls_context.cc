#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "tls/dev_ca.h"
#include "tls/ticket_keys.h"
#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace tg::tls {

const char* const kCipherList =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace {

std::string wolfssl_error(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return text;
}

Result<WOLFSSL_CTX*> new_server_ctx() {
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  if (ctx == nullptr) return make_error("wolfSSL_CTX_new failed");
  if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_cipher_list(ctx, kCipherList) != WOLFSSL_SUCCESS) {
    wolfSSL_CTX_free(ctx);
    return make_error("cannot set TLS versions and ciphers");
  }
  // X25519 first: most clients offer it in their first key share, so no HelloRetryRequest.
  const int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  wolfSSL_CTX_set_groups(ctx, const_cast<int*>(groups), 3);
  return ctx;
}

// Asks visitors for certificates and verifies them against the CA bundle; see ClientCertMode.
Status require_client_certificates(WOLFSSL_CTX* ctx, const ClientAuth& client) {
  if (client.mode == ClientCertMode::kOff) return Ok{};
  const int rc = wolfSSL_CTX_load_verify_locations(ctx, client.ca_path.c_str(), nullptr);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error(client.ca_path + ": cannot load the client CA bundle: " + wolfssl_error(rc));
  }
  int mode = WOLFSSL_VERIFY_PEER;
  if (client.mode == ClientCertMode::kRequired) mode |= WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  wolfSSL_CTX_set_verify(ctx, mode, nullptr);
  // No resumption: a resumed session (ID or ticket) shows no certificate, so the connection
  // would lose the identity its first handshake proved.
  wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
  wolfSSL_CTX_NoTicketTLSv12(ctx);
  wolfSSL_CTX_no_ticket_TLSv13(ctx);
  return Ok{};
}

}  // namespace

std::string init_library() {
  static const bool initialized = [] {
    wolfSSL_Init();
    return true;
  }();
  (void)initialized;
  std::string line = "wolfSSL " LIBWOLFSSL_VERSION_STRING;
#if defined(WOLFSSL_AESNI) && defined(USE_INTEL_SPEEDUP) && defined(WOLFSSL_SP_X86_64_ASM)
  line += " with x86-64 assembly (AES-NI, AVX, SP)";
#else
  line += " WITHOUT x86-64 assembly: expect a fraction of the AES-GCM throughput";
#endif
  return line;
}

ServerTlsContext::~ServerTlsContext() {
  if (ctx_ != nullptr) wolfSSL_CTX_free(ctx_);
}

Result<std::unique_ptr<ServerTlsContext>> ServerTlsContext::from_files(
    const std::string& chain_path, const std::string& key_path, const ClientAuth& client) {
  for (const std::string* path : {&chain_path, &key_path}) {
    std::FILE* file = std::fopen(path->c_str(), "rb");
    if (file == nullptr) return make_error(*path + ": cannot read: " + std::strerror(errno));
    std::fclose(file);
  }
  auto ctx = new_server_ctx();
  if (!ctx) return ctx.error();
  std::unique_ptr<ServerTlsContext> context(new ServerTlsContext());
  context->ctx_ = *ctx;
  int rc = wolfSSL_CTX_use_certificate_chain_file(context->ctx_, chain_path.c_str());
  if (rc != WOLFSSL_SUCCESS) {
    return make_error(chain_path + ": cannot load certificate chain: " + wolfssl_error(rc));
  }
  rc = wolfSSL_CTX_use_PrivateKey_file(context->ctx_, key_path.c_str(), WOLFSSL_FILETYPE_PEM);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error(key_path + ": cannot load private key: " + wolfssl_error(rc));
  }
  if (wolfSSL_CTX_check_private_key(context->ctx_) != WOLFSSL_SUCCESS) {
    return make_error(key_path + ": the key does not match the certificate in " + chain_path);
  }
  if (auto st = require_client_certificates(context->ctx_, client); !st) return st.error();
  return context;
}

Result<std::unique_ptr<ServerTlsContext>> ServerTlsContext::with_dev_ca(const std::string& ca_path,
                                                                        const ClientAuth& client) {
  auto ca = DevCertificateAuthority::load(ca_path);
  if (!ca) return ca.error();
  auto ctx = new_server_ctx();
  if (!ctx) return ctx.error();
  std::unique_ptr<ServerTlsContext> context(new ServerTlsContext());
  context->ctx_ = *ctx;
  // wolfSSL will not create a server session from a context without a certificate: give the
  // context one for the bare dev domain; each session then uses its own name's leaf.
  const auto* fallback = (*ca)->leaf_for("localhost");
  if (fallback == nullptr ||
      wolfSSL_CTX_use_certificate_buffer(context->ctx_, fallback->data(),
                                         static_cast<long>(fallback->size()),
                                         WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_use_PrivateKey_buffer(context->ctx_, (*ca)->leaf_key().data(),
                                        static_cast<long>((*ca)->leaf_key().size()),
                                        WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) {
    return make_error(ca_path + ": cannot issue certificates with this CA");
  }
  if (auto st = require_client_certificates(context->ctx_, client); !st) return st.error();
  context->dev_ca_ = std::move(*ca);
  return context;
}

void ServerTlsContext::use_ticket_keys(TicketKeys* keys) {
  wolfSSL_CTX_set_TicketEncCtx(ctx_, keys);
  wolfSSL_CTX_set_TicketEncCb(ctx_, &TicketKeys::callback);
  // Clients may keep a ticket for one key period (wolfSSL's default hint is 300 s); the keys
  // open it for one to two periods, and wolfSSL refuses it past the session timeout.
  const auto period = static_cast<int>(TicketKeys::kPeriodSeconds);
  wolfSSL_CTX_set_TicketHint(ctx_, period);
  wolfSSL_CTX_set_timeout(ctx_, static_cast<unsigned>(period));
}

WOLFSSL* ServerTlsContext::new_session(std::string_view server_name) {
  WOLFSSL* ssl = wolfSSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (dev_ca_ != nullptr) {
    const auto* leaf = dev_ca_->leaf_for(server_name);
    if (leaf == nullptr ||
        wolfSSL_use_certificate_buffer(ssl, leaf->data(), static_cast<long>(leaf->size()),
                                       WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
        wolfSSL_use_PrivateKey_buffer(ssl, dev_ca_->leaf_key().data(),
                                      static_cast<long>(dev_ca_->leaf_key().size()),
                                      WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) {
      wolfSSL_free(ssl);
      return nullptr;
    }
  }
  char alpn[] = "http/1.1";
  // A client that offers only h2 still gets HTTP/1.1 rather than a failed handshake.
  wolfSSL_UseALPN(ssl, alpn, sizeof alpn - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
  return ssl;
}

}  // namespace tg::tls
