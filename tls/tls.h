/// The TLS side of the relay: wolfSSL server contexts, certificates and TLS over memory.
///
/// A visitor's bytes arrive in the worker's io_uring buffers; `TlsStream` runs wolfSSL over
/// them through custom I/O callbacks (no socket inside wolfSSL), so the worker decides when
/// ciphertext is read and sent and can batch it with everything else on its ring. Each
/// worker owns its own `ServerTlsContext`, so no TLS state is shared between cores.
/// Certificates come from files, or in `--dev` from a local CA that signs a leaf for each
/// name on demand (browsers and curl refuse a wildcard directly under `localhost`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relay/base/result.h"
#include "tls/peer_certificate.h"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace tg::tls {

/// Calls wolfSSL_Init once per process; returns a line describing the build for the log.
std::string init_library();

/// Whether visitors present client certificates (mTLS), `[https] client_certs`.
enum class ClientCertMode {
  kOff,       // never asked for
  kOptional,  // asked for; one that is sent must verify, none is fine too
  kRequired,  // asked for; the handshake fails without one that verifies
};

/// How a server context verifies client certificates: the mode and the PEM bundle of CAs.
struct ClientAuth {
  ClientCertMode mode = ClientCertMode::kOff;
  std::string ca_path;
};

class DevCertificateAuthority;
class TicketKeys;

class ServerTlsContext {
 public:
  ~ServerTlsContext();
  ServerTlsContext(const ServerTlsContext&) = delete;
  ServerTlsContext& operator=(const ServerTlsContext&) = delete;

  /// TLS 1.2 (ECDHE + AEAD) and 1.3, ALPN http/1.1, the chain and key from PEM files.
  /// With client certificates on, sessions are never resumed: a resumed session carries no
  /// certificate, and every connection must show the one its policy decisions rest on.
  static Result<std::unique_ptr<ServerTlsContext>> from_files(const std::string& chain_path,
                                                              const std::string& key_path,
                                                              const ClientAuth& client = {});
  /// Same protocol settings; a leaf certificate is issued per name by the CA in `ca_path`
  /// (a PEM file with the CA certificate followed by its private key).
  static Result<std::unique_ptr<ServerTlsContext>> with_dev_ca(const std::string& ca_path,
                                                               const ClientAuth& client = {});

  /// Seals and opens session tickets with `keys` (the worker's copy of the process's ticket
  /// key schedule, see ticket_keys.h), which must outlive this context.
  void use_ticket_keys(TicketKeys* keys);

  /// A new connection object for `server_name`; nullptr when no certificate can serve it.
  WOLFSSL* new_session(std::string_view server_name);

 private:
  ServerTlsContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
  std::unique_ptr<DevCertificateAuthority> dev_ca_;
};

/// A TLS client context: verifies the server's chain against the PEM CA certificates of one
/// file and, per session, the server's name. TLS 1.2 (ECDHE + AEAD) and 1.3, X25519 first,
/// ALPN http/1.1. Used by the JWKS fetcher (control path) and the load generator (one
/// context per visitor thread); nothing in it is shared between threads.
class ClientTlsContext {
 public:
  ~ClientTlsContext();
  ClientTlsContext(const ClientTlsContext&) = delete;
  ClientTlsContext& operator=(const ClientTlsContext&) = delete;

  /// Trusts the PEM certificates in `ca_path`; with `cert_path` and `key_path` (PEM), presents
  /// that client certificate to servers that ask (etcd's client-cert-auth).
  static Result<std::unique_ptr<ClientTlsContext>> create(const std::string& ca_path,
                                                          const std::string& cert_path = "",
                                                          const std::string& key_path = "");

  /// A client session that accepts only a certificate valid for `server_name` (a DNS name,
  /// also sent as SNI, or an IP literal, which is not); nullptr when wolfSSL cannot make one.
  WOLFSSL* new_session(const std::string& server_name);

 private:
  ClientTlsContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
};

/// The suites both sides of this project speak: TLS 1.3 first, then TLS 1.2 with ECDHE and
/// an AEAD only (no CBC, no static RSA).
extern const char* const kCipherList;

/// TLS over memory: feed ciphertext in, take ciphertext out, read and write plaintext. The
/// same stream serves the relay (a server session) and the load generator (a client one):
/// the session's side decides whether the handshake accepts or connects.
class TlsStream {
 public:
  TlsStream() = default;
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Takes ownership of `ssl` (a server or client session); frees a previous one.
  void attach(WOLFSSL* ssl);
  /// Frees the session and drops buffered bytes (before a reconnect).
  void reset();
  bool attached() const { return ssl_ != nullptr; }

  /// Ciphertext received from the visitor.
  void feed(std::string_view ciphertext);
  std::size_t buffered_ciphertext() const { return in_.size() - in_offset_; }
  /// Bytes this stream's own buffers hold (their capacity), for memory accounting.
  std::size_t held_bytes() const { return in_.capacity() + out_.capacity(); }

  enum class Progress { kWantMore, kDone, kFailed };
  /// Drives the handshake as far as the buffered bytes allow (a client's first call writes
  /// its ClientHello into pending_out()).
  Progress handshake();
  bool handshake_done() const { return handshake_done_; }

  /// Decrypts into `out`: >0 bytes, 0 when more ciphertext is needed, -1 on a closed or
  /// failed stream (`closed_cleanly()` tells a close_notify from an error).
  long read(char* out, std::size_t capacity);
  bool closed_cleanly() const { return peer_closed_; }

  /// Encrypts `plaintext` into the outgoing ciphertext; false when the stream failed.
  bool write(std::string_view plaintext);
  /// Queues a close_notify alert.
  void shutdown();

  /// Ciphertext waiting to be sent; the caller sends it and calls `consume_out`.
  std::string& pending_out() { return out_; }
  /// The client certificate the handshake verified (server side, client certificates on);
  /// nullopt when the visitor sent none, an error when it cannot be described. Call once the
  /// handshake is done.
  Result<std::optional<PeerCertificate>> peer_certificate() const;
  std::string_view negotiated_alpn() const;
  const char* version_name() const;
  const char* last_error() const { return error_; }
  /// wolfSSL's code for the last failure (0 when none): tells, say, an untrusted certificate
  /// (ASN_NO_SIGNER_E) from a name mismatch (DOMAIN_NAME_MISMATCH).
  int last_error_code() const { return error_code_; }

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
  int error_code_ = 0;
};

/// Creates a CA (EC P-256) and writes it as one PEM file (certificate, then key), plus the
/// certificate alone to `ca_cert_path` for clients to trust. Used by --dev on first start.
Status create_dev_ca(const std::string& ca_path, const std::string& ca_cert_path);

}  // namespace tg::tls
