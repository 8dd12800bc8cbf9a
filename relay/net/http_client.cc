// HttpClientConnection: a blocking HTTP/1.1 client with deadlines. Techniques: a non-blocking
// socket driven by poll(2), so every wait is bounded by what is left of the caller's deadline;
// TLS over memory (tls::TlsStream), the same stream the relay and the load generator run, so
// wolfSSL never blocks on the socket itself; relay/http's strict response parser and chunked
// scanner for the framing.
#include "relay/net/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls/tls.h"
#include "tls/wolfssl_includes.h"
// After the options wolfssl_includes.h brings in.
#include <wolfssl/error-ssl.h>

namespace tg::net {
namespace {

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
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

}  // namespace

HttpClientConnection::HttpClientConnection() = default;

HttpClientConnection::~HttpClientConnection() {
  close();
}

void HttpClientConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  tls_.reset();
  input_.clear();
  eof_ = false;
  reusable_ = false;
  body_done_ = true;
}

std::string HttpClientConnection::describe_size(std::size_t bytes) {
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Status HttpClientConnection::wait(short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return make_error("timed out");
    pollfd descriptor{fd_, events, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready > 0) return Ok{};
    if (ready == 0) return make_error("timed out");
    if (errno != EINTR) return make_error(std::string("poll: ") + std::strerror(errno));
  }
}

Status HttpClientConnection::connect(const std::string& host, std::uint16_t port,
                                     tls::ClientTlsContext* tls, Clock::time_point deadline,
                                     const AddressCheck& admit) {
  close();
  host_ = host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0) {
    return make_error("cannot resolve " + host + ": " +
                      (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  if (admit) {
    for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
      if (std::string why = admit(address->ai_addr); !why.empty()) return make_error(why);
    }
  }
  std::string error = "no address for " + host;
  bool connected = false;
  for (const addrinfo* address = found; address != nullptr && !connected;
       address = address->ai_next) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   address->ai_protocol);
    if (fd_ < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    // Small requests and answers, one after the other: Nagle would hold each for an ACK.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, address->ai_addr, address->ai_addrlen) == 0) {
      connected = true;
      break;
    }
    if (errno != EINPROGRESS) {
      error = lower_first(std::strerror(errno));
      continue;
    }
    if (Status waited = wait(POLLOUT, deadline); !waited) {
      close();
      return waited;
    }
    int so_error = 0;
    socklen_t size = sizeof so_error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &size);
    if (so_error == 0) {
      connected = true;
      break;
    }
    error = lower_first(std::strerror(so_error));
  }
  if (!connected) {
    close();
    return make_error(error);
  }
  if (tls == nullptr) return Ok{};

  WOLFSSL* session = tls->new_session(host);
  if (session == nullptr) {
    close();
    return make_error("cannot create a TLS session");
  }
  tls_ = std::make_unique<tls::TlsStream>();
  tls_->attach(session);
  for (;;) {
    const tls::TlsStream::Progress progress = tls_->handshake();
    if (progress == tls::TlsStream::Progress::kFailed) {
      (void)send_pending(deadline);  // the alert, as a courtesy: the failure is what matters
      std::string why = describe_tls_failure(tls_->last_error_code(), *tls_, host);
      close();
      return make_error(why);
    }
    if (Status sent = send_pending(deadline); !sent) {
      close();
      return sent;
    }
    if (progress == tls::TlsStream::Progress::kDone) return Ok{};
    Status received = receive(deadline);
    if (received && eof_) received = make_error("connection closed during the TLS handshake");
    if (!received) {
      close();
      return received;
    }
  }
}

Status HttpClientConnection::send_plain(std::string_view bytes, Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status waited = wait(POLLOUT, deadline); !waited) return waited;
    } else if (n < 0 && errno != EINTR) {
      return make_error(lower_first(std::strerror(errno)));
    }
  }
  return Ok{};
}

Status HttpClientConnection::send_pending(Clock::time_point deadline) {
  std::string& out = tls_->pending_out();
  Status sent = send_plain(out, deadline);
  out.clear();
  return sent;
}

Status HttpClientConnection::receive(Clock::time_point deadline) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      const std::string_view bytes(buffer, static_cast<std::size_t>(n));
      if (tls_ == nullptr) {
        input_.append(bytes);
      } else {
        tls_->feed(bytes);
      }
      return Ok{};
    }
    if (n == 0) {
      eof_ = true;
      return Ok{};
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Status waited = wait(POLLIN, deadline); !waited) return waited;
    } else if (errno != EINTR) {
      return make_error(lower_first(std::strerror(errno)));
    }
  }
}

bool HttpClientConnection::drain_plaintext() {
  if (tls_ == nullptr) return true;
  char buffer[16384];
  for (;;) {
    const long n = tls_->read(buffer, sizeof buffer);
    if (n > 0) {
      input_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0) {
      if (!tls_->closed_cleanly()) return false;
      eof_ = true;  // close_notify: nothing more will come
    }
    // A post-handshake message (a TLS 1.2 renegotiation refusal, a TLS 1.3 KeyUpdate) may
    // have queued a reply; the server having stopped reading is no reason to fail.
    if (!tls_->pending_out().empty()) (void)send_pending(Clock::now());
    return true;
  }
}

Status HttpClientConnection::send(std::string_view request, Clock::time_point deadline) {
  if (fd_ < 0) return make_error("not connected");
  reusable_ = false;
  if (tls_ == nullptr) return send_plain(request, deadline);
  if (!tls_->write(request)) {
    return make_error(std::string("TLS write failed: ") + tls_->last_error());
  }
  return send_pending(deadline);
}

Result<HttpAnswerHead> HttpClientConnection::read_head(std::string_view method,
                                                       Clock::time_point deadline) {
  for (;;) {
    if (!drain_plaintext()) return make_error(std::string("TLS error: ") + tls_->last_error());
    http::ResponseHead head;
    const http::ParseResult parsed = http::parse_response_head(input_, method, head);
    if (parsed.state == http::ParseState::kError) {
      return make_error("malformed response: " + std::string(parsed.error_reason));
    }
    if (parsed.state == http::ParseState::kComplete) {
      if (head.status < 200 && head.status != 101) {  // 1xx interim: the real head follows
        input_.erase(0, parsed.consumed);
        continue;
      }
      HttpAnswerHead answer;
      answer.status = head.status;
      answer.content_type =
          std::string(http::find_header(head.headers.data(), head.header_count, "content-type"));
      answer.has_length = head.framing == http::BodyFraming::kLength;
      answer.content_length = head.content_length;
      framing_ = head.framing;
      length_left_ = head.framing == http::BodyFraming::kLength ? head.content_length : 0;
      close_after_ = !head.keep_alive;
      chunked_ = http::ChunkedScanner();
      chunked_decoder_ = http::ChunkedDecoder();
      body_done_ = false;
      input_.erase(0, parsed.consumed);
      return answer;
    }
    if (eof_) return make_error("connection closed before a response");
    if (Status received = receive(deadline); !received) return received.error();
  }
}

Status HttpClientConnection::take_body(std::string& out) {
  switch (framing_) {
    case http::BodyFraming::kNone:
      body_done_ = true;
      break;
    case http::BodyFraming::kLength: {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(length_left_, input_.size()));
      out.append(input_, 0, take);
      input_.erase(0, take);
      length_left_ -= take;
      body_done_ = length_left_ == 0;
      break;
    }
    case http::BodyFraming::kUntilClose:
      out.append(input_);
      input_.clear();
      body_done_ = eof_;
      break;
    case http::BodyFraming::kChunked: {
      const http::ChunkedScanner::Step step = chunked_.feed(input_);
      if (step.error) return make_error("malformed chunked body");
      chunked_decoder_.feed(std::string_view(input_).substr(0, step.consumed), out);
      input_.erase(0, step.consumed);
      body_done_ = step.done;
      break;
    }
  }
  if (body_done_) reusable_ = !close_after_ && framing_ != http::BodyFraming::kUntilClose && !eof_;
  return Ok{};
}

Result<bool> HttpClientConnection::read_body_some(std::string& out, Clock::time_point deadline) {
  const std::size_t before = out.size();
  for (;;) {
    if (!drain_plaintext()) return make_error(std::string("TLS error: ") + tls_->last_error());
    if (Status taken = take_body(out); !taken) return taken.error();
    if (body_done_) return false;
    if (out.size() > before) return true;
    if (eof_) return make_error("connection closed early");
    if (Status received = receive(deadline); !received) return received.error();
  }
}

Status HttpClientConnection::read_body(std::string& body, std::size_t max_bytes,
                                       Clock::time_point deadline) {
  body.clear();
  for (;;) {
    auto more = read_body_some(body, deadline);
    if (!more) return more.error();
    if (body.size() > max_bytes) return make_error("larger than " + describe_size(max_bytes));
    if (!*more) return Ok{};
  }
}

}  // namespace tg::net
