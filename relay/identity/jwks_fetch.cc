// https_request / fetch_https: one blocking HTTPS exchange with one deadline. Techniques: a
// non-blocking socket driven by poll(2), so every wait (connect, handshake, response) is bounded by
// what is left of the deadline; TLS over memory (tls::TlsStream), the same stream the relay and the
// load generator run, so wolfSSL never blocks on the socket itself; relay/http's strict response
// parser and chunked scanner for the framing.
#include "relay/identity/jwks_fetch.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "relay/http/http.h"
#include "relay/identity/jwks_fetch_internal.h"
#include "tls/tls.h"
#include "tls/wolfssl_includes.h"
// After the options wolfssl_includes.h brings in.
#include <wolfssl/error-ssl.h>

namespace tg::identity {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

// One fetch: the URL, its deadline and the socket. Each step returns an error text (without
// the URL, which `fetch_https` puts in front) or "" on success.
class Fetch {
 public:
  Fetch(const HttpsUrl& url, const HttpsRequest& request, const FetchOptions& options)
      : url_(url),
        request_(request),
        options_(options),
        deadline_(Clock::now() + std::chrono::milliseconds(options.timeout_ms)) {}

  std::string connect();
  std::string handshake(tls::ClientTlsContext& context);
  std::string send_request();
  std::string read_response(HttpsResponse& response);

 private:
  // Waits for `events` on the socket until the deadline: "" when ready, else why not.
  std::string wait(short events);
  std::string send_pending();
  // Moves ciphertext from the socket into the stream: "" after some arrived (or, with
  // `eof_ok`, at the end of the connection: then `eof_` is set), else why not.
  std::string receive(bool eof_ok);
  // Decrypts what has arrived into `plain_`; false on a failed stream.
  bool drain_plaintext();
  std::string body_from(std::string_view raw, const http::ResponseHead& head, std::string& body);
  std::string too_large() const { return "larger than " + describe_size(options_.max_bytes); }

  const HttpsUrl& url_;
  const HttpsRequest& request_;
  const FetchOptions& options_;
  const Clock::time_point deadline_;
  Fd socket_;
  tls::TlsStream tls_;
  std::string plain_;  // decrypted response bytes (after any 1xx heads)
  bool eof_ = false;
  http::ChunkedScanner chunked_;   // walks a chunked body as it arrives
  std::size_t chunked_bytes_ = 0;  // of the body, scanned so far
};

std::string Fetch::wait(short events) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) return "timed out";
    pollfd descriptor{socket_.get(), events, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready > 0) return "";
    if (ready == 0) return "timed out";
    if (errno != EINTR) return std::string("poll: ") + std::strerror(errno);
  }
}

std::string Fetch::connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url_.port);
  const int rc = ::getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return "cannot resolve " + url_.host + ": " +
           (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  std::string error = "no address for " + url_.host;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    socket_.reset(::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           address->ai_protocol));
    if (socket_.get() < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    if (::connect(socket_.get(), address->ai_addr, address->ai_addrlen) == 0) return "";
    if (errno != EINPROGRESS) {
      error = lower_first(std::strerror(errno));
      continue;
    }
    if (std::string waited = wait(POLLOUT); !waited.empty()) return waited;
    int so_error = 0;
    socklen_t size = sizeof so_error;
    ::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &so_error, &size);
    if (so_error == 0) return "";
    error = lower_first(std::strerror(so_error));
  }
  socket_.reset(-1);
  return error;
}

std::string Fetch::send_pending() {
  std::string& out = tls_.pending_out();
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(socket_.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (std::string waited = wait(POLLOUT); !waited.empty()) return waited;
    } else if (n < 0 && errno != EINTR) {
      return lower_first(std::strerror(errno));
    }
  }
  out.clear();
  return "";
}

std::string Fetch::receive(bool eof_ok) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(socket_.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      tls_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
      return "";
    }
    if (n == 0) {
      if (!eof_ok) return "connection closed early";
      eof_ = true;
      return "";
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (std::string waited = wait(POLLIN); !waited.empty()) return waited;
    } else if (errno != EINTR) {
      return lower_first(std::strerror(errno));
    }
  }
}

std::string describe_tls_failure(int code, const tls::TlsStream& tls, const std::string& host) {
  switch (code) {
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
    case ASN_SIG_CONFIRM_E:
      return "certificate not trusted";
    case DOMAIN_NAME_MISMATCH:
    case IPADDR_MISMATCH:
      return "certificate not valid for " + host;
    case ASN_AFTER_DATE_E:
      return "certificate expired";
    case ASN_BEFORE_DATE_E:
      return "certificate not yet valid";
    default:
      return std::string("TLS handshake failed: ") + tls.last_error();
  }
}

std::string Fetch::handshake(tls::ClientTlsContext& context) {
  WOLFSSL* session = context.new_session(url_.host);
  if (session == nullptr) return "cannot create a TLS session";
  tls_.attach(session);
  for (;;) {
    const tls::TlsStream::Progress progress = tls_.handshake();
    if (progress == tls::TlsStream::Progress::kFailed) {
      (void)send_pending();  // the alert, as a courtesy: the failure is what matters
      return describe_tls_failure(tls_.last_error_code(), tls_, url_.host);
    }
    if (std::string sent = send_pending(); !sent.empty()) return sent;
    if (progress == tls::TlsStream::Progress::kDone) return "";
    if (std::string received = receive(false); !received.empty()) {
      return received == "connection closed early" ? "connection closed during the TLS handshake"
                                                   : received;
    }
  }
}

std::string Fetch::send_request() {
  std::string request = request_.method + " " + url_.target +
                        " HTTP/1.1\r\nHost: " + url_.host_header +
                        "\r\nAccept: application/json\r\nConnection: close\r\n"
                        "User-Agent: tunnelgate\r\n";
  for (const auto& [name, value] : request_.headers) {
    request.append(name).append(": ").append(value).append("\r\n");
  }
  if (!request_.body.empty() || request_.method == "POST") {
    request.append("Content-Type: ").append(request_.content_type).append("\r\n");
    request.append("Content-Length: ").append(std::to_string(request_.body.size()));
    request.append("\r\n");
  }
  request.append("\r\n").append(request_.body);
  if (!tls_.write(request)) return std::string("TLS write failed: ") + tls_.last_error();
  return send_pending();
}

bool Fetch::drain_plaintext() {
  char buffer[16384];
  for (;;) {
    const long n = tls_.read(buffer, sizeof buffer);
    if (n > 0) {
      plain_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0) {
      if (!tls_.closed_cleanly()) return false;
      eof_ = true;  // close_notify: nothing more will come
    }
    // A post-handshake message (a TLS 1.2 renegotiation refusal, a TLS 1.3 KeyUpdate) may
    // have queued a reply; the server having stopped reading is no reason to fail.
    if (!tls_.pending_out().empty()) (void)send_pending();
    return true;
  }
}

// Reads until the response head is complete, then until the body is.
std::string Fetch::read_response(HttpsResponse& response) {
  std::string& body = response.body;
  const std::size_t raw_cap = options_.max_bytes * 2 + 65536;  // chunk framing's overhead
  http::ResponseHead head;
  std::size_t head_bytes = 0;
  for (;;) {
    if (!drain_plaintext()) return std::string("TLS error: ") + tls_.last_error();
    while (head_bytes == 0) {
      const http::ParseResult parsed = http::parse_response_head(plain_, request_.method, head);
      if (parsed.state == http::ParseState::kError) {
        return "malformed response: " + std::string(parsed.error_reason);
      }
      if (parsed.state == http::ParseState::kIncomplete) break;
      if (head.status < 200 && head.status != 101) {  // 1xx interim: the real head follows
        plain_.erase(0, parsed.consumed);
        continue;
      }
      if (head.status >= 300 && head.status < 400) {
        return "HTTP " + std::to_string(head.status) + " (redirects are not followed)";
      }
      response.status = head.status;
      if (head.framing == http::BodyFraming::kLength && head.content_length > options_.max_bytes) {
        return too_large();
      }
      head_bytes = parsed.consumed;
    }
    if (head_bytes != 0) {
      const std::string_view raw = std::string_view(plain_).substr(head_bytes);
      std::string done = body_from(raw, head, body);
      if (done != "more") return done;
      if (raw.size() > raw_cap) return too_large();
    }
    if (eof_) {
      return head_bytes == 0 ? "connection closed before a response" : "connection closed early";
    }
    if (std::string received = receive(true); !received.empty()) return received;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a complete chunked body that http::ChunkedScanner has validated; false when the
// data passes `max_bytes`.
bool decode_chunked(std::string_view raw, std::size_t max_bytes, std::string& body) {
  std::size_t pos = 0;
  body.clear();
  for (;;) {
    std::uint64_t size = 0;
    for (int digit; pos < raw.size() && (digit = hex_value(raw[pos])) >= 0; ++pos) {
      size = size * 16 + static_cast<std::uint64_t>(digit);
      if (size > max_bytes) return false;
    }
    pos = raw.find('\n', pos) + 1;  // past extensions and CRLF
    if (size == 0) return true;     // trailers follow; nothing we need
    if (body.size() + size > max_bytes) return false;
    body.append(raw.substr(pos, size));
    pos += size + 2;
  }
}

// "" when `raw` holds the whole body (then it is in `body`), "more" when bytes are missing,
// else an error.
std::string Fetch::body_from(std::string_view raw, const http::ResponseHead& head,
                             std::string& body) {
  switch (head.framing) {
    case http::BodyFraming::kNone:
      body.clear();
      return "";
    case http::BodyFraming::kLength:
      if (raw.size() < head.content_length) return "more";
      body.assign(raw.substr(0, head.content_length));
      return "";
    case http::BodyFraming::kUntilClose:
      if (raw.size() > options_.max_bytes) return too_large();
      if (!eof_) return "more";
      body.assign(raw);
      return "";
    case http::BodyFraming::kChunked: {
      const http::ChunkedScanner::Step step = chunked_.feed(raw.substr(chunked_bytes_));
      chunked_bytes_ += step.consumed;
      if (step.error) return "malformed chunked body";
      if (!step.done) return "more";
      if (!decode_chunked(raw.substr(0, chunked_bytes_), options_.max_bytes, body)) {
        return too_large();
      }
      return "";
    }
  }
  return "unknown framing";
}

// A header line the request would carry: a token name and a value without line breaks, so a
// caller's value can never add a header or end the head.
bool is_safe_header(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    if (!token) return false;
  }
  for (const char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<HttpsResponse> https_request(std::string_view url, const HttpsRequest& request,
                                    const FetchOptions& options) {
  auto parsed = parse_https_url(url);
  if (!parsed) return parsed.error();
  const std::string where = detail::quote_url(url) + ": ";
  if (request.method != "GET" && request.method != "POST") {
    return make_error(where + "method " + request.method + " not supported");
  }
  if (!is_safe_header("Content-Type", request.content_type)) {
    return make_error(where + "invalid request header");
  }
  for (const auto& [name, value] : request.headers) {
    if (!is_safe_header(name, value)) return make_error(where + "invalid request header");
  }
  // The context outlives the fetch's session (declared first, destroyed last).
  auto context = tls::ClientTlsContext::create(options.ca_file);
  if (!context) return make_error(where + context.error().message);
  Fetch fetch(*parsed, request, options);
  HttpsResponse response;
  if (std::string error = fetch.connect(); !error.empty()) return make_error(where + error);
  if (std::string error = fetch.handshake(**context); !error.empty()) {
    return make_error(where + error);
  }
  if (std::string error = fetch.send_request(); !error.empty()) return make_error(where + error);
  if (std::string error = fetch.read_response(response); !error.empty()) {
    return make_error(where + error);
  }
  return response;
}

Result<std::string> fetch_https(std::string_view url, const FetchOptions& options) {
  auto response = https_request(url, HttpsRequest{}, options);
  if (!response) return response.error();
  if (response->status != 200) {
    return make_error(detail::quote_url(url) + ": HTTP " + std::to_string(response->status));
  }
  return std::move(response->body);
}

}  // namespace tg::identity
