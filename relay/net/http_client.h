/// A blocking HTTP/1.1 client connection with deadlines, over TCP or TLS: the one piece of
/// code the relay's control threads use to talk HTTP to other servers (a JWKS fetch, the etcd
/// gateway). It must never run on a worker's loop: every call blocks its thread until it is
/// done or its deadline passes.
///
/// One `HttpClientConnection` is one socket. A caller connects it (`connect`, with a TLS
/// context for https), sends requests on it (`send`) and reads each answer: the head
/// (`read_head`, 1xx interim heads skipped) then the body, whole (`read_body`) or piece by
/// piece as it arrives (`read_body_some`, for streams such as etcd's watch, one JSON object per
/// line over chunked coding). When a body has been read to its end and the server did not say
/// `Connection: close`, `reusable()` is true and the next request may follow on the same
/// socket (kept alive); otherwise the caller drops the connection.
///
/// Bodies are framed by Content-Length, chunked coding (relay/http's strict scanner) or the end
/// of the connection. Every wait (connect, handshake, send, receive) is a poll(2) bounded by
/// the caller's deadline; errors are one-line values ("connection refused", "timed out",
/// "certificate not trusted", "certificate not valid for HOST", "connection closed early"),
/// without the URL, which the caller puts in front. Nothing throws; the socket and the TLS
/// session are released by the destructor on every path. Name resolution (getaddrinfo) has no
/// deadline.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "relay/base/result.h"
#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"

namespace tg::tls {
class ClientTlsContext;
class TlsStream;
}  // namespace tg::tls

namespace tg::net {

using Clock = std::chrono::steady_clock;

/// Says why the connection must not go to `address` ("" when it may).
using AddressCheck = std::function<std::string(const sockaddr* address)>;

/// The head of an answer, copied out of the connection's buffer.
struct HttpAnswerHead {
  int status = 0;
  std::string content_type;
  bool has_length = false;           // framed by Content-Length…
  std::uint64_t content_length = 0;  // … of this many bytes
};

class HttpClientConnection {
 public:
  HttpClientConnection();
  ~HttpClientConnection();
  HttpClientConnection(const HttpClientConnection&) = delete;
  HttpClientConnection& operator=(const HttpClientConnection&) = delete;

  /// Connects to `host`:`port` (every address getaddrinfo gives, in turn), then, with `tls`,
  /// runs a TLS handshake that accepts only a certificate valid for `host`. With `admit`,
  /// every address the name resolves to is shown to it first and the connection refused with
  /// its reason when it objects to any: the check and the connection use the same answer, so
  /// a name cannot resolve to one address for the check and another for the connection.
  Status connect(const std::string& host, std::uint16_t port, tls::ClientTlsContext* tls,
                 Clock::time_point deadline, const AddressCheck& admit = {});

  /// Writes `request` (a whole request: head and body) to the server.
  Status send(std::string_view request, Clock::time_point deadline);

  /// Reads the next final answer's head (1xx interim heads are skipped). `method` is the
  /// request's, for the framing rules (a HEAD answer has no body).
  Result<HttpAnswerHead> read_head(std::string_view method, Clock::time_point deadline);

  /// Reads the rest of the body into `body`; refused past `max_bytes`.
  Status read_body(std::string& body, std::size_t max_bytes, Clock::time_point deadline);

  /// Appends what arrives of the body to `out`, waiting until at least one byte of it does or
  /// the body ends: true while the body goes on, false once it has ended.
  Result<bool> read_body_some(std::string& out, Clock::time_point deadline);

  /// The last body was read to its end and the server keeps the connection open.
  bool reusable() const { return reusable_; }
  bool connected() const { return fd_ >= 0; }

  /// "1 MiB", "64 KiB" or "1000 bytes": sizes as the errors quote them.
  static std::string describe_size(std::size_t bytes);

 private:
  Status wait(short events, Clock::time_point deadline);
  Status send_pending(Clock::time_point deadline);
  Status send_plain(std::string_view bytes, Clock::time_point deadline);
  // Moves bytes from the socket into `input_` (decrypted when TLS): ok after some arrived or
  // at the end of the connection (then `eof_` is set).
  Status receive(Clock::time_point deadline);
  bool drain_plaintext();
  // Decodes what `input_` holds of the body into `out`; sets `body_done_`.
  Status take_body(std::string& out);
  void close();

  int fd_ = -1;
  std::string host_;
  std::unique_ptr<tls::TlsStream> tls_;  // null for plain HTTP
  std::string input_;                    // received plaintext not yet consumed
  bool eof_ = false;
  bool reusable_ = false;
  bool body_done_ = true;
  http::BodyFraming framing_ = http::BodyFraming::kNone;
  std::uint64_t length_left_ = 0;  // with kLength
  bool close_after_ = false;       // the answer said Connection: close
  http::ChunkedScanner chunked_;
  http::ChunkedDecoder chunked_decoder_;
};

}  // namespace tg::net
