#include "tools/load/client_tls.h"

#include <algorithm>
#include <cstring>

#include "tls/wolfssl_includes.h"

namespace tg::load {
namespace {

// The relay's suites: TLS 1.3 first, then TLS 1.2 with ECDHE and an AEAD.
constexpr const char* kCipherList =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string wolfssl_error(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return text;
}

}  // namespace

ClientTlsContext::~ClientTlsContext() {
  if (ctx_ != nullptr) wolfSSL_CTX_free(ctx_);
}

Result<std::unique_ptr<ClientTlsContext>> ClientTlsContext::create(const std::string& ca_path) {
  std::unique_ptr<ClientTlsContext> context(new ClientTlsContext());
  context->ctx_ = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (context->ctx_ == nullptr) return make_error("wolfSSL_CTX_new failed");
  WOLFSSL_CTX* ctx = context->ctx_;
  if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_cipher_list(ctx, kCipherList) != WOLFSSL_SUCCESS) {
    return make_error("cannot set TLS versions and ciphers");
  }
  // X25519 first, as browsers and curl do: its key share is the one sent in the ClientHello,
  // so a relay preferring it answers without a HelloRetryRequest.
  const int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  wolfSSL_CTX_set_groups(ctx, const_cast<int*>(groups), 3);
  const int rc = wolfSSL_CTX_load_verify_locations(ctx, ca_path.c_str(), nullptr);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error(ca_path + ": cannot load CA certificates: " + wolfssl_error(rc));
  }
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
  return context;
}

WOLFSSL* ClientTlsContext::new_session(const std::string& server_name) {
  WOLFSSL* ssl = wolfSSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  char alpn[] = "http/1.1";
  if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, server_name.data(),
                     static_cast<unsigned short>(server_name.size())) != WOLFSSL_SUCCESS ||
      wolfSSL_check_domain_name(ssl, server_name.c_str()) != WOLFSSL_SUCCESS ||
      wolfSSL_UseALPN(ssl, alpn, sizeof alpn - 1, WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
          WOLFSSL_SUCCESS) {
    wolfSSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

ClientTlsStream::~ClientTlsStream() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

void ClientTlsStream::attach(WOLFSSL* ssl) {
  reset();
  ssl_ = ssl;
  wolfSSL_SSLSetIORecv(ssl_, &ClientTlsStream::on_recv);
  wolfSSL_SSLSetIOSend(ssl_, &ClientTlsStream::on_send);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
}

void ClientTlsStream::reset() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
  ssl_ = nullptr;
  in_.clear();
  in_offset_ = 0;
  out_.clear();
  handshake_done_ = false;
  peer_closed_ = false;
  error_ = "";
}

int ClientTlsStream::on_recv(WOLFSSL*, char* buf, int size, void* ctx) {
  auto* self = static_cast<ClientTlsStream*>(ctx);
  const std::size_t available = self->in_.size() - self->in_offset_;
  if (available == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  const std::size_t n = std::min(available, static_cast<std::size_t>(size));
  std::memcpy(buf, self->in_.data() + self->in_offset_, n);
  self->in_offset_ += n;
  if (self->in_offset_ == self->in_.size()) {
    self->in_.clear();
    self->in_offset_ = 0;
  }
  return static_cast<int>(n);
}

int ClientTlsStream::on_send(WOLFSSL*, char* buf, int size, void* ctx) {
  // Always accepted: a visitor writes one request at a time, so what waits here is bounded.
  static_cast<ClientTlsStream*>(ctx)->out_.append(buf, static_cast<std::size_t>(size));
  return size;
}

void ClientTlsStream::feed(std::string_view ciphertext) {
  if (in_offset_ > 0 && in_offset_ > in_.size() / 2) {
    in_.erase(0, in_offset_);
    in_offset_ = 0;
  }
  in_.append(ciphertext);
}

void ClientTlsStream::record_error(int rc) {
  const int code = wolfSSL_get_error(ssl_, rc);
  if (code == WOLFSSL_ERROR_ZERO_RETURN) {
    peer_closed_ = true;
    error_ = "closed";
    return;
  }
  error_ = wolfSSL_ERR_reason_error_string(static_cast<unsigned long>(code));
  if (error_ == nullptr) error_ = "tls error";
}

ClientTlsStream::Progress ClientTlsStream::handshake() {
  if (handshake_done_) return Progress::kDone;
  const int rc = wolfSSL_connect(ssl_);
  if (rc == WOLFSSL_SUCCESS) {
    handshake_done_ = true;
    return Progress::kDone;
  }
  const int code = wolfSSL_get_error(ssl_, rc);
  if (code == WOLFSSL_ERROR_WANT_READ || code == WOLFSSL_ERROR_WANT_WRITE) {
    return Progress::kWantMore;
  }
  record_error(rc);
  return Progress::kFailed;
}

long ClientTlsStream::read(char* out, std::size_t capacity) {
  const int rc =
      wolfSSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(capacity, 1 << 30)));
  if (rc > 0) return rc;
  const int code = wolfSSL_get_error(ssl_, rc);
  if (code == WOLFSSL_ERROR_WANT_READ || code == WOLFSSL_ERROR_WANT_WRITE) return 0;
  record_error(rc);
  return -1;
}

bool ClientTlsStream::write(std::string_view plaintext) {
  std::size_t done = 0;
  while (done < plaintext.size()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(plaintext.size() - done, 1 << 20));
    const int rc = wolfSSL_write(ssl_, plaintext.data() + done, chunk);
    if (rc <= 0) {
      record_error(rc);
      return false;
    }
    done += static_cast<std::size_t>(rc);
  }
  return true;
}

}  // namespace tg::load
