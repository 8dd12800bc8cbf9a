#include <algorithm>
#include <cstring>

#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace tg::tls {

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

void TlsStream::attach(WOLFSSL* ssl) {
  reset();
  ssl_ = ssl;
  wolfSSL_SSLSetIORecv(ssl_, &TlsStream::on_recv);
  wolfSSL_SSLSetIOSend(ssl_, &TlsStream::on_send);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
}

int TlsStream::on_recv(WOLFSSL*, char* buf, int size, void* ctx) {
  auto* self = static_cast<TlsStream*>(ctx);
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

int TlsStream::on_send(WOLFSSL*, char* buf, int size, void* ctx) {
  // Always accepted: the connection bounds what it asks TLS to write, so the ciphertext
  // waiting here stays bounded too.
  static_cast<TlsStream*>(ctx)->out_.append(buf, static_cast<std::size_t>(size));
  return size;
}

void TlsStream::reset() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
  ssl_ = nullptr;
  in_.clear();
  in_offset_ = 0;
  out_.clear();
  handshake_done_ = false;
  peer_closed_ = false;
  error_ = "";
  error_code_ = 0;
}

void TlsStream::feed(std::string_view ciphertext) {
  if (in_offset_ > 0 && in_offset_ > in_.size() / 2) {
    in_.erase(0, in_offset_);
    in_offset_ = 0;
  }
  in_.append(ciphertext);
}

void TlsStream::record_error(int rc) {
  const int code = wolfSSL_get_error(ssl_, rc);
  error_code_ = code;
  if (code == WOLFSSL_ERROR_ZERO_RETURN) {
    peer_closed_ = true;
    error_ = "closed";
    return;
  }
  error_ = wolfSSL_ERR_reason_error_string(static_cast<unsigned long>(code));
  if (error_ == nullptr) error_ = "tls error";
}

TlsStream::Progress TlsStream::handshake() {
  if (handshake_done_) return Progress::kDone;
  const int rc = wolfSSL_negotiate(ssl_);  // accept or connect, by the session's side
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

long TlsStream::read(char* out, std::size_t capacity) {
  const int rc =
      wolfSSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(capacity, 1 << 30)));
  if (rc > 0) return rc;
  const int code = wolfSSL_get_error(ssl_, rc);
  if (code == WOLFSSL_ERROR_WANT_READ || code == WOLFSSL_ERROR_WANT_WRITE) return 0;
  record_error(rc);
  return -1;
}

bool TlsStream::write(std::string_view plaintext) {
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

void TlsStream::shutdown() {
  if (ssl_ != nullptr && handshake_done_) wolfSSL_shutdown(ssl_);
}

Result<std::optional<PeerCertificate>> TlsStream::peer_certificate() const {
  if (ssl_ == nullptr || !handshake_done_) return std::optional<PeerCertificate>();
  // Kept by wolfSSL (KEEP_PEER_CERT) only after it verified the certificate against the
  // context's CAs: a certificate that failed ended the handshake.
  WOLFSSL_X509* x509 = wolfSSL_get_peer_certificate(ssl_);
  if (x509 == nullptr) return std::optional<PeerCertificate>();
  int size = 0;
  const unsigned char* der = wolfSSL_X509_get_der(x509, &size);
  Result<PeerCertificate> described =
      der != nullptr && size > 0 ? describe_certificate({reinterpret_cast<const char*>(der),
                                                         static_cast<std::size_t>(size)})
                                 : make_error("client certificate: no DER");
  wolfSSL_X509_free(x509);
  if (!described) return described.error();
  return std::optional<PeerCertificate>(std::move(*described));
}

std::string_view TlsStream::negotiated_alpn() const {
  char* name = nullptr;
  unsigned short size = 0;
  if (wolfSSL_ALPN_GetProtocol(ssl_, &name, &size) != WOLFSSL_SUCCESS || name == nullptr) {
    return {};
  }
  return {name, size};
}

const char* TlsStream::version_name() const {
  return wolfSSL_get_version(ssl_);
}

}  // namespace tg::tls
