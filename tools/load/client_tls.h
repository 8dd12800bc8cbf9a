/// The visitor's TLS: a wolfSSL client context and TLS over memory, for the load generator.
///
/// The relay's `tg::tls::TlsStream` is the server half (it drives wolfSSL_accept); this is
/// its client twin: ciphertext from the ring's receive buffers is fed in, ciphertext to send
/// is taken out, and wolfSSL never sees a socket, so the visitor thread batches every send
/// and receive on its io_uring. The context verifies the relay's certificate against the CA
/// given with --ca and the name the connection asked for (SNI = NAME.DOMAIN), offers TLS 1.3
/// and 1.2 with the relay's AEAD suites, X25519 first (the group real clients lead with), and
/// ALPN http/1.1. Every handshake is a full one: the tool measures what a new visitor costs.
/// One context per visitor thread, like the relay's one per worker: nothing TLS is shared.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "relay/base/result.h"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace tg::load {

class ClientTlsContext {
 public:
  ~ClientTlsContext();
  ClientTlsContext(const ClientTlsContext&) = delete;
  ClientTlsContext& operator=(const ClientTlsContext&) = delete;

  /// Trusts the PEM certificates in `ca_path`.
  static Result<std::unique_ptr<ClientTlsContext>> create(const std::string& ca_path);

  /// A connection object that sends `server_name` as SNI and accepts only a certificate
  /// valid for it; nullptr when wolfSSL cannot make one.
  WOLFSSL* new_session(const std::string& server_name);

 private:
  ClientTlsContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
};

/// TLS over memory, client side. Same contract as tg::tls::TlsStream.
class ClientTlsStream {
 public:
  ClientTlsStream() = default;
  ~ClientTlsStream();
  ClientTlsStream(const ClientTlsStream&) = delete;
  ClientTlsStream& operator=(const ClientTlsStream&) = delete;

  /// Takes ownership of `ssl` (from ClientTlsContext::new_session); frees a previous one.
  void attach(WOLFSSL* ssl);
  /// Frees the connection object and drops buffered bytes (before a reconnect).
  void reset();
  bool attached() const { return ssl_ != nullptr; }

  void feed(std::string_view ciphertext);

  enum class Progress { kWantMore, kDone, kFailed };
  /// Drives the client handshake as far as the buffered bytes allow (the first call writes
  /// the ClientHello into pending_out()).
  Progress handshake();
  bool handshake_done() const { return handshake_done_; }

  /// Decrypts into `out`: >0 bytes, 0 when more ciphertext is needed, -1 on a closed or
  /// failed stream (`closed_cleanly()` tells a close_notify from an error).
  long read(char* out, std::size_t capacity);
  bool closed_cleanly() const { return peer_closed_; }

  /// Encrypts `plaintext` into the outgoing ciphertext; false when the stream failed.
  bool write(std::string_view plaintext);

  /// Ciphertext waiting to be sent; the caller sends it and clears what went out.
  std::string& pending_out() { return out_; }
  const char* last_error() const { return error_; }

 private:
  static int on_recv(WOLFSSL* ssl, char* buf, int size, void* ctx);
  static int on_send(WOLFSSL* ssl, char* buf, int size, void* ctx);
  void record_error(int rc);

  WOLFSSL* ssl_ = nullptr;
  std::string in_;
  std::size_t in_offset_ = 0;
  std::string out_;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  const char* error_ = "";
};

}  // namespace tg::load
