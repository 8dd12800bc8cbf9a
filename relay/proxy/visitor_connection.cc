#include "relay/proxy/visitor_connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

#include "relay/auth/cookies.h"
#include "relay/auth/form_fields.h"
#include "relay/http/path_normalize.h"
#include "relay/http/strict_transport_security.h"
#include "relay/identity/jws_signer.h"
#include "relay/log/log.h"
#include "relay/names.h"
#include "relay/proxy/mcp_exchange.h"
#include "relay/proxy/oauth_answers.h"
#include "relay/proxy/origin_check.h"
#include "relay/proxy/request_access.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

// Caps on what one connection may hold; together they bound its memory whatever the peers do.
constexpr std::size_t kPlainCap = 64 * 1024;       // decrypted request bytes waiting
constexpr std::size_t kCiphertextCap = 64 * 1024;  // received ciphertext not yet decrypted
// The queues each way (request bytes waiting for the channel window, ciphertext waiting to
// reach the visitor) are [tuning] connection_buffer_bytes each (256 KiB by default).

std::uint64_t monotonic_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

AccessDenial denial_reason(policy::AccessOutcome outcome) {
  switch (outcome) {
    case policy::AccessOutcome::kNoAllowMatched:
      return AccessDenial::kNoAllowRule;
    case policy::AccessOutcome::kNoRuleCovers:
      return AccessDenial::kNoRule;
    default:
      return AccessDenial::kDenyRule;
  }
}

// `access_token=` as a query parameter (RFC 6750 §2.3).
bool carries_query_token(std::string_view target) {
  const auto query = target.find('?');
  if (query == std::string_view::npos) return false;
  for (std::size_t at = query; at != std::string_view::npos; at = target.find('&', at + 1)) {
    if (target.substr(at + 1).starts_with("access_token=")) return true;
  }
  return false;
}

// A tunnel's public URL is printed with a trailing "/"; as an OAuth resource, an audience or
// an Origin it is written without one.
std::string_view without_slash(std::string_view url) {
  return url.ends_with('/') ? url.substr(0, url.size() - 1) : url;
}

// Points the head's views that fall in [from, from + size) at the same offsets in `to`.
void rebase(http::RequestHead& head, const char* from, std::size_t size, const char* to) {
  const auto base = reinterpret_cast<std::uintptr_t>(from);
  const auto move = [&](std::string_view& view) {
    const auto at = reinterpret_cast<std::uintptr_t>(view.data());
    if (!view.empty() && at >= base && at + view.size() <= base + size) {
      view = std::string_view(to + (at - base), view.size());
    }
  };
  move(head.method);
  move(head.target);
  move(head.raw_target);
  move(head.host);
  move(head.upgrade_protocol);
  for (std::size_t i = 0; i < head.header_count; ++i) {
    move(head.headers[i].name);
    move(head.headers[i].value);
  }
}

std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') return host;  // IPv6 literal: never a tunnel
  const auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

VisitorConnection::VisitorConnection(Worker& worker, int fd, const sockaddr_storage& peer,
                                     std::string server_name, std::string tunnel_name,
                                     int fixed_status)
    : worker_(worker),
      fd_(fd),
      peer_(peer),
      server_name_(std::move(server_name)),
      tunnel_name_(std::move(tunnel_name)),
      fixed_status_(fixed_status) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
    peer_port_ = ntohs(in4.sin_port);
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    peer_port_ = ntohs(in6.sin6_port);
  }
  peer_ip_ = text;
  if (Tunnel* tunnel = fixed_status_ == 0 ? worker_.find_tunnel(tunnel_name_) : nullptr) {
    count_on(*tunnel);
  }
  recv_completion_ = {&VisitorConnection::on_recv, this};
  send_completion_ = {&VisitorConnection::on_send, this};
}

VisitorConnection::~VisitorConnection() {
  worker_.memory().charge(-static_cast<std::int64_t>(accounted_bytes_));
  if (mcp_exchange_ && mcp_ != nullptr) mcp_->end(status_, monotonic_us() - exchange_started_us_);
  release_counts();
  if (fd_ >= 0) ::close(fd_);
}

void VisitorConnection::count_on(Tunnel& tunnel) {
  if (counted_tunnel_ == tunnel.serial) return;
  // A name has one tunnel per worker, so the instance counted before (taken over, or closed
  // and published again) is gone: releasing leaves `tunnel` alone and moves the key's count.
  release_counts();
  ++tunnel.open_connections;
  counted_tunnel_ = tunnel.serial;
  key_connections_ = tunnel.key_connections;
  key_connections_->fetch_add(1, std::memory_order_relaxed);
}

void VisitorConnection::release_counts() {
  if (counted_tunnel_ != 0) {
    Tunnel* tunnel = worker_.find_tunnel(tunnel_name_);
    // Only the instance this connection was counted on: a newer tunnel of the same name
    // counts its own connections.
    if (tunnel != nullptr && tunnel->serial == counted_tunnel_ && tunnel->open_connections > 0) {
      --tunnel->open_connections;
    }
    counted_tunnel_ = 0;
  }
  if (key_connections_) {
    key_connections_->fetch_sub(1, std::memory_order_relaxed);
    key_connections_.reset();
  }
}

void VisitorConnection::start(std::string_view initial_ciphertext) {
  accepted_us_ = monotonic_us();
  deadline_ms_ = worker_.now_ms() + worker_.config().handshake_timeout_ms;
  WOLFSSL* ssl = worker_.tls().new_session(server_name_);
  if (ssl == nullptr) {
    ++worker_.counters().tls_failures;
    worker_.logs().push(log::JsonLine("tls_failed")
                            .add("sni", server_name_)
                            .add("client", peer_ip_)
                            .add("reason", "no certificate for this name")
                            .finish());
    close_now();
    return;
  }
  tls_.attach(ssl);
  tls_.feed(initial_ciphertext);
  pump();
  account_memory();
}

// --- socket I/O --------------------------------------------------------------------------------

void VisitorConnection::arm_recv() {
  if (recv_armed_ || closed_ || visitor_eof_) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  // Multishot: one submission keeps delivering data; the kernel picks a provided buffer only
  // when bytes arrive, so an idle connection holds no receive buffer.
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = worker_.buffers().group_id();
  io::Ring::set_completion(sqe, &recv_completion_);
  recv_armed_ = true;
  ++io_.in_flight;
}

void VisitorConnection::pause_recv() {
  if (!recv_armed_) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&recv_completion_), 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data(sqe, nullptr);
}

void VisitorConnection::on_recv(void* self_ptr, const io_uring_cqe& cqe) {
  auto& self = *static_cast<VisitorConnection*>(self_ptr);
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    self.recv_armed_ = false;
    --self.io_.in_flight;
  }
  if (cqe.res > 0) {
    if (!self.closed_) self.tls_.feed(self.worker_.buffers().view(cqe));
    self.worker_.buffers().recycle(cqe);
  } else if (cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
    self.visitor_eof_ =
        true;  // end of stream, a reset or another socket error: the visitor is gone
  }
  if (self.closed_) return;
  self.pump();
  if (self.visitor_eof_ && !self.closed_) self.visitor_ended();
  self.account_memory();
}

void VisitorConnection::write_tls(std::string_view plaintext) {
  if (plaintext.empty() || closed_) return;
  if (!tls_.write(plaintext)) close_now();
}

std::size_t VisitorConnection::pending_ciphertext() const {
  return (sending_.size() - sent_) + const_cast<tls::TlsStream&>(tls_).pending_out().size();
}

void VisitorConnection::flush_tls() {
  if (send_in_flight_ || fd_ < 0 || (closed_ && !close_after_flush_)) return;
  if (sent_ == sending_.size()) {
    sending_.clear();
    sent_ = 0;
    if (tls_.pending_out().empty()) return;
    sending_.swap(tls_.pending_out());
  }
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  io::Ring::set_completion(sqe, &send_completion_);
  send_in_flight_ = true;
  ++io_.in_flight;
}

void VisitorConnection::on_send(void* self_ptr, const io_uring_cqe& cqe) {
  auto& self = *static_cast<VisitorConnection*>(self_ptr);
  --self.io_.in_flight;
  self.send_in_flight_ = false;
  if (cqe.res < 0) {
    self.close_after_flush_ = false;
    self.close_now();
    return;
  }
  self.sent_ += static_cast<std::size_t>(cqe.res);
  if (self.closed_) return;
  struct AccountOnReturn {
    VisitorConnection& connection;
    ~AccountOnReturn() { connection.account_memory(); }
  } account{self};
  self.flush_tls();
  if (self.close_after_flush_ && !self.send_in_flight_) {
    self.close_now();
    return;
  }
  // Room for the publisher's bytes again: take what libssh held back.
  if (self.channel_ != nullptr && self.channel_->buffered > 0 &&
      self.pending_ciphertext() < self.worker_.config().connection_buffer_bytes / 2) {
    self.session_->pull(self.channel_);
    self.flush_tls();
  }
}

// --- the pump: TLS in, requests out ------------------------------------------------------------

void VisitorConnection::pump() {
  if (closed_ || phase_ == Phase::kClosing) return;
  if (!tls_.handshake_done()) {
    const auto progress = tls_.handshake();
    flush_tls();
    if (progress == tls::TlsStream::Progress::kFailed) {
      ++worker_.counters().tls_failures;
      worker_.logs().push(log::JsonLine("tls_failed")
                              .add("sni", server_name_)
                              .add("client", peer_ip_)
                              .add("reason", tls_.last_error())
                              .finish());
      close_now();
      return;
    }
    if (progress == tls::TlsStream::Progress::kWantMore) {
      arm_recv();
      return;
    }
    if (!take_client_certificate()) return;
    phase_ = Phase::kReadingHead;
    deadline_ms_ = worker_.now_ms() + worker_.config().idle_timeout_ms;
    exchange_started_us_ = monotonic_us();
    processing_us_ = 0;
    ++worker_.counters().tls_handshakes;
    worker_.counters().tls_handshake.record(exchange_started_us_ - accepted_us_);
  }
  // Repeat while anything moves: a full buffer stops a stage, and the next stage draining
  // it must let the earlier one run again without waiting for another packet.
  for (int round = 0; round < 64; ++round) {
    const std::size_t ciphertext = tls_.buffered_ciphertext();
    const std::size_t plain = in_plain_.size();
    const std::size_t queued = to_publisher_.size();
    if (!decrypt()) return;
    process_plain();
    if (closed_) return;
    flush_to_publisher();
    if (closed_) return;
    if (tls_.buffered_ciphertext() == ciphertext && in_plain_.size() == plain &&
        to_publisher_.size() == queued) {
      break;
    }
  }
  flush_tls();
  if (closed_ || phase_ == Phase::kClosing) return;
  if (tls_.buffered_ciphertext() > kCiphertextCap || in_plain_.size() >= kPlainCap) {
    pause_recv();
  } else {
    arm_recv();
  }
}

bool VisitorConnection::take_client_certificate() {
  if (worker_.config().https_client_certs == tls::ClientCertMode::kOff) return true;
  auto certificate = tls_.peer_certificate();
  if (!certificate) {
    ++worker_.counters().tls_failures;
    worker_.logs().push(log::JsonLine("tls_failed")
                            .add("sni", server_name_)
                            .add("client", peer_ip_)
                            .add("reason", certificate.error().message)
                            .finish());
    close_now();
    return false;
  }
  if (*certificate) {
    client_cert_ = std::move(**certificate);
    // Views for the policy, made once the strings have their final home.
    client_cert_san_.assign(client_cert_.san.begin(), client_cert_.san.end());
  }
  return true;
}

bool VisitorConnection::decrypt() {
  // Decrypt into a per-thread scratch record and append: growing the string first would
  // zero-fill 16 KiB on every call.
  static thread_local char scratch[16 * 1024];
  while (in_plain_.size() < kPlainCap) {
    const std::size_t want = std::min(sizeof scratch, kPlainCap - in_plain_.size());
    const long n = tls_.read(scratch, want);
    if (n == 0) break;
    if (n < 0) {
      if (tls_.closed_cleanly()) {
        visitor_eof_ = true;
        break;
      }
      close_now();
      return false;
    }
    in_plain_.append(scratch, static_cast<std::size_t>(n));
  }
  flush_tls();  // TLS 1.3 may answer key updates or send tickets while reading
  return true;
}

void VisitorConnection::process_plain() {
  while (!closed_) {
    switch (phase_) {
      case Phase::kReadingHead: {
        if (in_plain_.empty()) return;
        http::RequestHead head;
        const auto result = http::parse_request_head(in_plain_, head);
        if (result.state == http::ParseState::kIncomplete) {
          if (in_plain_.size() >= worker_.config().max_head_bytes) {
            respond_error(431, "the request head is larger than the relay accepts");
          } else if (head_deadline_ms_ == 0) {
            // Slowloris: a head that has started must arrive whole within the timeout,
            // however slowly its bytes trickle in.
            head_deadline_ms_ = worker_.now_ms() + worker_.config().header_timeout_ms;
          }
          return;
        }
        head_deadline_ms_ = 0;
        if (result.state == http::ParseState::kError) {
          respond_error(result.error_status, result.error_reason);
          return;
        }
        // Kept (in a buffer reused from request to request) so that a stream that outlives
        // a policy reload can be decided again with exactly what it asked, and the head's
        // views moved there, so that they stay valid for the whole exchange (an MCP request
        // is decided after its body is read, which frees the head's bytes in in_plain_).
        request_head_.assign(in_plain_, 0, result.consumed);
        rebase(head, in_plain_.data(), result.consumed, request_head_.data());
        handle_request(head, result.consumed);
        processing_us_ += monotonic_us() - exchange_started_us_;
        continue;
      }
      case Phase::kMcpBody:
        read_mcp_body();
        return;
      case Phase::kSigninBody:
        read_signin_body();
        return;
      case Phase::kSigninWait:
        return;  // a pipelined request waits for the answer
      case Phase::kWaitingChannel:
      case Phase::kExchange:
        move_request_body();
        return;
      case Phase::kTunnel:
        if (!in_plain_.empty() && to_publisher_.size() < worker_.config().connection_buffer_bytes) {
          const std::size_t take = std::min(
              in_plain_.size(), worker_.config().connection_buffer_bytes - to_publisher_.size());
          to_publisher_.append(in_plain_, 0, take);
          in_plain_.erase(0, take);
          bytes_in_ += take;
        }
        return;
      default:
        return;
    }
  }
}

void VisitorConnection::handle_request(http::RequestHead& head, std::size_t head_size) {
  method_.assign(head.method);
  path_.assign(head.target);
  exchange_started_ms_ = worker_.now_ms();
  exchange_started_us_ = monotonic_us();
  bytes_in_ = bytes_out_ = 0;
  processing_us_ = 0;
  progress_bytes_ = 0;
  progress_ms_ = exchange_started_ms_;
  status_ = 0;
  event_stream_ = false;
  request_id_.clear();
  rule_.clear();
  subject_.clear();
  token_valid_until_ = 0;
  response_started_ = false;
  mcp_exchange_ = false;
  deadline_ms_ = 0;  // an exchange in progress is never cut by the idle timer
  request_keep_alive_ = head.keep_alive;
  request_http10_ = head.version_minor == 0;
  keep_visitor_ = head.keep_alive && !worker_.stopping();
  if (!normalize_path(head)) return;

  if (normalize_host(strip_port(head.host)) != server_name_) {
    respond_error(421, "the Host header names another host than the TLS server name");
    return;
  }
  if (head.method == "GET" && head.target == kAssertionJwksPath) {
    // Any host: the apex for services configured once, a tunnel's own name for services that
    // look next to where they are called (as Pomerium serves its key on every route).
    respond_with(200, http::make_response(200, "application/json", own_fields(),
                                          worker_.assertion_jwks(), true));
    return;
  }
  if (!worker_.signin_issuer().empty() && (tunnel_name_ == worker_.config().signin.host ||
                                           head.target.starts_with(auth::kReservedPrefix))) {
    begin_signin(head, head_size);
    return;
  }
  if (http::is_get_or_head_with_body(head) && !worker_.config().allow_get_head_bodies) {
    // Decided on the head, before any byte goes out: a service that never reads GET bodies
    // would take this one for its next request, and run it with no decision by the relay.
    // 400 and close, as RFC 9110 9.3.1 foresees; the body is never read, so the connection
    // cannot be reused.
    ++worker_.counters().refused_get_head_body;
    worker_.logs().push(log::JsonLine("request_refused")
                            .add("name", tunnel_name_)
                            .add("client", peer_ip_)
                            .add("method", method_)
                            .add("path", path_)
                            .add("reason", "body_on_get_head")
                            .finish());
    respond_error(400, "a GET or HEAD request with a body is refused by this relay");
    return;
  }
  if (fixed_status_ != 0) {
    respond_error(fixed_status_, !fixed_detail_.empty() ? std::string_view(fixed_detail_)
                                 : fixed_status_ == 404 ? "no tunnel has this name"
                                 : fixed_status_ == 503
                                     ? "the relay is at a limit (connections for this tunnel or "
                                       "its publisher's key, or memory); retry later"
                                     : "the publisher of this name is offline");
    return;
  }
  Tunnel* tunnel = worker_.find_tunnel(tunnel_name_);
  if (tunnel == nullptr) {
    respond_error(502, "the publisher of this name is offline");
    return;
  }
  if (worker_.memory().over_budget()) {
    ++worker_.counters().refused_memory_budget;
    respond_error(503, "the relay is at its memory budget; retry later");
    return;
  }
  if (origin_refused(head, *tunnel)) return;
  const policy::TunnelSettings& settings = worker_.tunnel_settings(*tunnel);
  const std::string_view path = head.target.substr(0, head.target.find('?'));
  // RFC 9728 §3.1: the document for https://NAME/mcp is also asked for at the path-suffixed
  // address, which the MCP SDKs try first. One resource per tunnel: both answer the same.
  if (settings.reads_jwt && head.method == "GET" &&
      (path == kProtectedResourcePath ||
       (path.starts_with(kProtectedResourcePath) && path[kProtectedResourcePath.size()] == '/'))) {
    answer_protected_resource(*tunnel);
    return;
  }
  request_id_ = worker_.next_request_id();
  if (carries_query_token(head.target)) {
    // RFC 6750 allowed it; the MCP authorization spec forbids it, since URLs end up in logs.
    worker_.counters().deny_access(AccessDenial::kQueryToken);
    respond_refusal(400, "invalid_request", "access tokens in the query string are refused", {});
    return;
  }
  // Every request is decided on its own (not once per connection), inline: the caller's
  // credentials from the worker's token cache, then a compiled policy, no allocation.
  Verdict verdict = decide(head, *tunnel);
  const Caller& caller = verdict.caller;
  subject_.assign(caller.subject());
  // A verified client certificate names the caller when no token or key does.
  if (subject_.empty()) subject_.assign(client_cert_.subject);
  const bool refused = caller.status == Caller::Status::kRefused;
  if (refused && caller.from_session_cookie && redirect_to_signin(head)) {
    // A browser whose session ran out (or whose cookie is not good) signs in again.
    return;
  }
  if (refused) {
    audit_request(*tunnel, false, caller.error, {});
    if (!caller.detail.empty()) {
      worker_.logs().push(log::JsonLine("credential_refused")
                              .add("name", tunnel_name_)
                              .add("client", peer_ip_)
                              .add("reason", caller.detail)
                              .add("request_id", request_id_)
                              .finish());
    }
    worker_.counters().deny_access(AccessDenial::kInvalidCredentials);
    respond_challenge(*tunnel, "invalid_token", caller.error);
    return;
  }
  if (verdict.scope_missing) {
    audit_request(*tunnel, false, "insufficient scope", verdict.access.rule_id);
    respond_insufficient_scope(*tunnel);
    return;
  }
  token_valid_until_ = caller.valid_until;
  prepare_forwarded_identity(caller, *tunnel);
  // An MCP request with a body is decided per JSON-RPC message once the body is read.
  if (worker_.is_mcp(*tunnel) && begin_mcp(head, head_size, *tunnel, caller)) return;

  rule_.assign(verdict.access.rule_id);
  audit_request(*tunnel, verdict.access.allowed, policy::to_string(verdict.access.outcome),
                verdict.access.rule_id);
  if (!verdict.access.allowed) {
    // A credential could change the answer only where an allow reads one.
    if (!caller.identified() && settings.wants_identity()) {
      if (redirect_to_signin(head)) return;
      worker_.counters().deny_access(AccessDenial::kNoCredentials);
      respond_challenge(*tunnel, {}, {});
    } else {
      worker_.counters().deny_access(denial_reason(verdict.access.outcome));
      respond_refusal(403, "forbidden", "denied by the relay's policy", {});
    }
    return;
  }
  in_plain_.erase(0, head_size);
  forward_request(head, *tunnel);
}

void VisitorConnection::audit_request(const Tunnel& tunnel, bool allowed, std::string_view reason,
                                      std::string_view rule) {
  worker_.audit(log::JsonLine("audit")
                    .add("decision", allowed ? "allow" : "deny")
                    .add("reason", reason)
                    .add("rule", rule)
                    .add("tunnel", tunnel.name)
                    .add("class", policy::to_string(tunnel.actor_class))
                    .add("subject", subject_.empty() ? std::string_view("anonymous") : subject_)
                    .add("source", peer_ip_)
                    .add("method", method_)
                    .add("path", path_)
                    .add_present("raw_target", raw_target_)
                    .add_present("client_cert", client_cert_.fingerprint)
                    .add_present("client_cert_subject", client_cert_.subject)
                    .add("request_id", request_id_)
                    .finish());
}

void VisitorConnection::respond_insufficient_scope(Tunnel& tunnel) {
  constexpr std::string_view kWhy = "the token lacks a scope this tunnel requires";
  worker_.counters().deny_access(AccessDenial::kInsufficientScope);
  respond_refusal(403, "insufficient_scope", kWhy,
                  bearer_challenge_field({metadata_url(tunnel), "insufficient_scope", kWhy,
                                          worker_.tunnel_settings(tunnel).scopes}));
}

void VisitorConnection::prepare_forwarded_identity(const Caller& caller, const Tunnel& tunnel) {
  drop_authorization_ = caller.authorization_consumed;
  drop_api_key_header_ = caller.api_key_header_consumed;
  assertion_ = caller.identified() ? assertion_field(caller, tunnel) : std::string_view();
}

void VisitorConnection::forward_request(const http::RequestHead& head, Tunnel& tunnel_ref) {
  Tunnel* tunnel = &tunnel_ref;
  if (session_ != nullptr && session_ != tunnel->session) release_channel();  // taken over
  count_on(*tunnel);  // this request may be the first to meet a newer tunnel of the name

  http::ForwardContext context;
  context.target_host = tunnel->session->host_override().empty()
                            ? std::string_view(tunnel->target_host)
                            : std::string_view(tunnel->session->host_override());
  context.client_ip = peer_ip_;
  context.original_host = head.host;
  // The credentials the relay consumed never reach the service, and no visitor may pose as
  // the relay: the service learns who calls from the relay's own signed assertion.
  std::array<std::string_view, 4> drop{kAssertionHeader};
  std::size_t dropped = 1;
  if (drop_authorization_) drop[dropped++] = "authorization";
  if (drop_api_key_header_) drop[dropped++] = worker_.config().api_key_header;
  context.extra_fields = assertion_;
  if (!worker_.signin_issuer().empty() && strip_session_cookie(head)) {
    drop[dropped++] = "cookie";
    context.extra_fields = forwarded_cookie_;
  }
  context.drop = std::span<const std::string_view>(drop.data(), dropped);
  to_publisher_.clear();
  http::write_forward_request_head(head, context, to_publisher_);
  request_upgrade_ = head.upgrade;
  request_framing_ = head.framing;
  request_remaining_ = head.content_length;
  request_chunks_ = http::ChunkedScanner();
  request_body_done_ = head.framing == http::BodyFraming::kNone ||
                       (head.framing == http::BodyFraming::kLength && head.content_length == 0);
  response_ = ResponseState::kHead;
  response_deadline_ms_ = 0;  // armed by on_tick once the whole request has gone out
  response_head_.clear();
  ++tunnel->requests;

  if (channel_ == nullptr) {
    session_ = tunnel->session;
    channel_ = session_->open_channel(tunnel->forward, peer_ip_, peer_port_, this);
    if (channel_ == nullptr) {
      session_ = nullptr;
      respond_error(502, "the publisher's SSH connection refused a new channel");
      return;
    }
    channel_reusable_ = true;
    phase_ = Phase::kWaitingChannel;
  } else {
    phase_ = Phase::kExchange;
  }
}

bool VisitorConnection::strip_session_cookie(const http::RequestHead& head) {
  // The relay's session cookie is the relay's: the service never sees it. Other cookies pass,
  // in order, on one Cookie line (RFC 9113 §8.2.3 and RFC 6265 §5.4 join them the same way).
  std::string joined;
  bool ours = false;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    if (!http::iequals(head.headers[i].name, "cookie")) continue;
    if (!joined.empty()) joined.append("; ");
    joined.append(head.headers[i].value);
    ours = ours || head.headers[i].value.find(auth::kTunnelSessionCookie) != std::string_view::npos;
  }
  if (!ours) return false;
  const std::string rest = auth::without_cookie(joined, auth::kTunnelSessionCookie);
  forwarded_cookie_.assign(assertion_);
  if (!rest.empty()) forwarded_cookie_.append("cookie: ").append(rest).append("\r\n");
  return true;
}

VisitorConnection::Verdict VisitorConnection::decide(const http::RequestHead& head,
                                                     Tunnel& tunnel) {
  const auto now = static_cast<std::int64_t>(worker_.now_epoch_s());
  RequestAccess access;
  access.build(head, tunnel, connection_facts(), now);
  Verdict verdict;
  verdict.caller = identify_caller(
      access.context().http_headers, worker_.config().api_key_header, worker_.identity_sources(),
      worker_.token_cache(), tunnel.url, now,
      worker_.signin_issuer().empty() ? std::string_view() : auth::kTunnelSessionCookie);
  if (verdict.caller.status == Caller::Status::kRefused) return verdict;
  verdict.caller.fill(access.context());
  verdict.access = worker_.policy().decide_access(access.context());

  // Scopes bind bearer tokens: a caller presenting a token must hold every scope the
  // tunnel's rules name (callers admitted otherwise, by key or address, carry no scopes).
  const policy::TunnelSettings& settings = worker_.tunnel_settings(tunnel);
  if (verdict.caller.token != nullptr) {
    const policy::StringList held = verdict.caller.token->scope();
    for (std::string_view scope : settings.scopes) {
      if (!held.contains(scope)) verdict.scope_missing = true;
    }
  }
  return verdict;
}

ConnectionFacts VisitorConnection::connection_facts() const {
  return {&peer_, server_name_, client_cert_.fingerprint, client_cert_.subject, client_cert_san_};
}

std::string VisitorConnection::metadata_url(Tunnel& tunnel) const {
  return worker_.tunnel_settings(tunnel).reads_jwt
             ? std::string(without_slash(tunnel.url)).append(kProtectedResourcePath)
             : std::string();
}

void VisitorConnection::answer_protected_resource(Tunnel& tunnel) {
  std::vector<std::string> issuers;
  // The relay's own authorization server first: MCP clients use the first one listed.
  if (!worker_.signin_issuer().empty()) issuers.push_back(worker_.signin_issuer());
  for (const auto& issuer : worker_.policy().identity().jwt) {
    if (issuer.issuer != worker_.signin_issuer()) issuers.push_back(issuer.issuer);
  }
  const std::string body = protected_resource_metadata(without_slash(tunnel.url), issuers,
                                                       worker_.tunnel_settings(tunnel).scopes);
  respond_with(200, http::make_response(200, "application/json", own_fields(), body, true));
}

void VisitorConnection::respond_challenge(Tunnel& tunnel, std::string_view error,
                                          std::string_view description) {
  const std::string url = metadata_url(tunnel);
  respond_refusal(401, error.empty() ? "unauthorized" : error,
                  description.empty() ? "this tunnel requires credentials" : description,
                  bearer_challenge_field({url, error, description, {}}));
}

void VisitorConnection::respond_refusal(int status, std::string_view error,
                                        std::string_view message, std::string_view fields) {
  respond_with(status, http::make_response(status, "application/json", own_fields(fields),
                                           refusal_body(error, message, request_id_), true));
}

std::string_view VisitorConnection::assertion_field(const Caller& caller, const Tunnel& tunnel) {
  const auto now = static_cast<std::int64_t>(worker_.now_epoch_s());
  // Signing costs some 20 µs: a keep-alive connection reuses its assertion for the same
  // caller and tunnel while it has most of its minute left.
  std::string key = tunnel.name;
  key.append("\n").append(caller.subject()).append("\n").append(caller.api_key_name);
  if (caller.token != nullptr) key.append("\n").append(caller.token->issuer());
  if (key == assertion_key_ && now < assertion_issued_s_ + kAssertionReuseSeconds) {
    return assertion_field_;
  }
  const std::string payload =
      assertion_claims(caller, tunnel, now, now + kAssertionLifetimeSeconds);
  auto signed_jwt = worker_.assertion_key().sign_jwt(payload);
  assertion_field_.clear();
  assertion_key_.clear();
  if (!signed_jwt) {
    // The service then sees no assertion: it treats the call as anonymous, which fails closed.
    return {};
  }
  assertion_field_.append(kAssertionHeader).append(": ").append(*signed_jwt).append("\r\n");
  assertion_key_ = std::move(key);
  assertion_issued_s_ = now;
  return assertion_field_;
}

std::string VisitorConnection::assertion_claims(const Caller& caller, const Tunnel& tunnel,
                                                std::int64_t now, std::int64_t expires) const {
  using identity::json_quote;
  // The relay is the issuer: https://DOMAIN[:PORT], the tunnel URL without its name.
  const std::string_view url = without_slash(tunnel.url);
  const std::size_t host = url.find("://") + 3;
  const std::string issuer =
      std::string(url.substr(0, host)) + std::string(url.substr(host + tunnel.name.size() + 1));
  std::string json = "{\"iss\":" + json_quote(issuer) + ",\"aud\":" + json_quote(url);
  json.append(",\"sub\":").append(json_quote(caller.subject()));
  if (caller.token != nullptr) {
    if (!caller.token->email().empty()) {
      json.append(",\"email\":").append(json_quote(caller.token->email()));
    }
    json.append(",\"groups\":[");
    bool first = true;
    for (std::string_view group : caller.token->groups()) {
      if (!first) json.push_back(',');
      json.append(json_quote(group));
      first = false;
    }
    json.append("],\"idp\":").append(json_quote(caller.token->issuer()));
  }
  if (!caller.api_key_name.empty()) {
    json.append(",\"api_key\":").append(json_quote(caller.api_key_name));
  }
  json.append(",\"tunnel\":").append(json_quote(tunnel.name));
  json.append(",\"class\":").append(json_quote(policy::to_string(tunnel.actor_class)));
  json.append(",\"iat\":").append(std::to_string(now));
  json.append(",\"exp\":").append(std::to_string(expires)).append("}");
  return json;
}

// --- MCP tunnels -------------------------------------------------------------------------------

bool VisitorConnection::origin_refused(const http::RequestHead& head, Tunnel& tunnel) {
  const std::string_view origin =
      http::find_header(head.headers.data(), head.header_count, "origin");
  if (origin.empty() ||
      origin_allowed(origin, tunnel.url, worker_.tunnel_settings(tunnel).origins)) {
    return false;
  }
  ++worker_.counters().mcp.origin_refused;
  respond_error(403, "requests from this Origin may not call this tunnel");
  return true;
}

bool VisitorConnection::begin_mcp(const http::RequestHead& head, std::size_t head_size,
                                  Tunnel& tunnel, const Caller& caller) {
  if (mcp_ == nullptr) mcp_ = std::make_unique<McpExchange>(worker_);
  mcp_exchange_ = true;
  const bool challenge = !caller.identified() && worker_.tunnel_settings(tunnel).wants_identity();
  switch (mcp_->begin(head, tunnel, caller, challenge, connection_facts(), peer_ip_, request_id_)) {
    case McpExchange::Start::kOrdinary:
      return false;
    case McpExchange::Start::kAnswered:
      in_plain_.erase(0, head_size);
      send_mcp_answer();
      return true;
    case McpExchange::Start::kReadBody:
      break;
  }
  in_plain_.erase(0, head_size);
  request_body_done_ = false;
  phase_ = Phase::kMcpBody;
  // The whole body must be in before anything is decided: bound its arrival like a head's.
  head_deadline_ms_ = worker_.now_ms() + worker_.config().response_timeout_ms;
  if (mcp_->wants_continue()) write_tls("HTTP/1.1 100 Continue\r\n\r\n");
  read_mcp_body();
  return true;
}

void VisitorConnection::read_mcp_body() {
  switch (mcp_->collect(in_plain_)) {
    case McpExchange::Body::kNeedMore:
      return;
    case McpExchange::Body::kRefused:
      head_deadline_ms_ = 0;
      send_mcp_answer();
      return;
    case McpExchange::Body::kComplete:
      head_deadline_ms_ = 0;
      dispatch_mcp();
      return;
  }
}

void VisitorConnection::dispatch_mcp() {
  const McpExchange::Dispatch dispatched = mcp_->dispatch();
  if (dispatched == McpExchange::Dispatch::kAnswered) {
    send_mcp_answer();
    return;
  }
  Tunnel* tunnel = worker_.find_tunnel(tunnel_name_);
  if (tunnel == nullptr) {
    respond_error(502, "the publisher of this name is offline");
    return;
  }
  if (dispatched == McpExchange::Dispatch::kChallenge) {
    worker_.counters().deny_access(AccessDenial::kNoCredentials);
    respond_challenge(*tunnel, {}, {});
    return;
  }
  forward_request(mcp_->forward_head(), *tunnel);
  if (closed_ || phase_ == Phase::kClosing) return;
  // Exactly the bytes inspected (or a split batch's allowed messages), with their length.
  to_publisher_.append(mcp_->forward_body());
  bytes_in_ += mcp_->forward_body().size();
  request_remaining_ = 0;
  request_body_done_ = true;
}

void VisitorConnection::send_mcp_answer() {
  const McpExchange::Answer& answer = mcp_->answer();
  if (answer.close) keep_visitor_ = false;
  status_ = answer.status;
  write_tls(http::make_response(answer.status, "application/json", own_fields(), answer.body,
                                !keep_visitor_));
  bytes_out_ += answer.body.size();
  response_started_ = true;
  request_body_done_ = true;
  finish_exchange();
}

void VisitorConnection::move_request_body() {
  // Every byte is checked here before it can be queued for the publisher: a request whose
  // body framing is broken is refused while its bytes are still ours.
  while (!request_body_done_ && !in_plain_.empty() &&
         to_publisher_.size() < worker_.config().connection_buffer_bytes) {
    const std::size_t room = worker_.config().connection_buffer_bytes - to_publisher_.size();
    std::size_t take = std::min(in_plain_.size(), room);
    if (request_framing_ == http::BodyFraming::kLength) {
      take = static_cast<std::size_t>(std::min<std::uint64_t>(take, request_remaining_));
      request_remaining_ -= take;
      request_body_done_ = request_remaining_ == 0;
    } else {
      const auto step = request_chunks_.feed(std::string_view(in_plain_).substr(0, take));
      if (step.error) {
        respond_error(400, "malformed chunked request body");  // a cut once a response started
        return;
      }
      request_body_done_ = step.done;
      if (step.consumed == 0) break;
      // Trailer fields never reach the service (they could restate X-Forwarded-For, the
      // assertion, Host or the framing after the head was checked): the body ends with the
      // last chunk and an empty trailer section.
      const std::size_t forward = step.consumed - step.trailer_bytes;
      to_publisher_.append(in_plain_, 0, forward);
      if (step.done) to_publisher_.append("\r\n");
      in_plain_.erase(0, step.consumed);
      bytes_in_ += forward + (step.done ? 2 : 0);
      continue;
    }
    to_publisher_.append(in_plain_, 0, take);
    in_plain_.erase(0, take);
    bytes_in_ += take;
  }
}

void VisitorConnection::flush_to_publisher() {
  if (channel_ == nullptr || to_publisher_.empty() ||
      (phase_ != Phase::kExchange && phase_ != Phase::kTunnel)) {
    return;
  }
  const long n = session_->write(channel_, to_publisher_.data(), to_publisher_.size());
  if (n < 0) {
    respond_error(502, "the publisher's channel failed");  // a cut once a response started
    return;
  }
  to_publisher_.erase(0, static_cast<std::size_t>(n));
  if (phase_ == Phase::kTunnel && visitor_eof_ && to_publisher_.empty() && in_plain_.empty()) {
    session_->send_eof(channel_);
  }
}

// --- the channel: the publisher's side --------------------------------------------------------

void VisitorConnection::on_channel_open() {
  if (phase_ != Phase::kWaitingChannel) return;
  phase_ = Phase::kExchange;
  pump();  // the request head and what body arrived meanwhile go out now
}

void VisitorConnection::on_channel_open_failed(std::string_view why) {
  channel_ = nullptr;
  session_ = nullptr;
  if (phase_ == Phase::kWaitingChannel) respond_error(502, why);
}

void VisitorConnection::on_channel_writable() {
  pump();
}

std::size_t VisitorConnection::channel_room() {
  if (closed_) return 1 << 20;  // discard: nobody is listening any more
  const std::size_t pending = pending_ciphertext();
  const std::size_t room = pending >= worker_.config().connection_buffer_bytes
                               ? 0
                               : worker_.config().connection_buffer_bytes - pending;
  if (response_ == ResponseState::kHead) {
    const std::size_t head_room = worker_.config().max_head_bytes + 1 - response_head_.size();
    return std::min(room, head_room);
  }
  return room;
}

void VisitorConnection::on_channel_data(const char* data, std::size_t size) {
  if (closed_) return;
  if (phase_ == Phase::kTunnel) {
    write_tls({data, size});
    bytes_out_ += size;
  } else if (response_ == ResponseState::kHead) {
    response_head_.append(data, size);
    parse_response_heads();
  } else if (response_ == ResponseState::kBody) {
    handle_response_body({data, size});
  } else {
    // Bytes nobody asked for (a second answer, a body past its framing): drop them and the
    // channel now, so they can never be taken for the answer to this visitor's next request.
    note_response_desync(size);
    release_channel();
  }
  flush_tls();
  account_memory();
}

void VisitorConnection::parse_response_heads() {
  const std::uint64_t started_us = monotonic_us();
  struct AddProcessing {
    std::uint64_t& total;
    std::uint64_t started;
    ~AddProcessing() { total += monotonic_us() - started; }
  } add_processing{processing_us_, started_us};
  while (response_ == ResponseState::kHead && !response_head_.empty() && !closed_) {
    http::ResponseHead head;
    const auto result = http::parse_response_head(response_head_, method_, head);
    if (result.state == http::ParseState::kIncomplete) {
      if (response_head_.size() > worker_.config().max_head_bytes) {
        channel_reusable_ = false;
        respond_error(502, "the publisher's response head is too large");
      }
      return;
    }
    if (result.state == http::ParseState::kError) {
      channel_reusable_ = false;
      respond_error(502, "the publisher's service sent a malformed response");
      return;
    }
    std::string rest = response_head_.substr(result.consumed);
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      // 100 Continue, 103 Early Hints…: an HTTP/1.0 client has no interim responses (RFC 9110
      // 15.2), so it would take one for the final answer; it gets only the final one.
      if (!request_http10_) write_tls(std::string_view(response_head_).substr(0, result.consumed));
      response_head_ = std::move(rest);
      continue;
    }
    if (head.status == 101) {
      if (!request_upgrade_) {
        channel_reusable_ = false;
        respond_error(502, "the publisher switched protocols without an upgrade request");
        return;
      }
      write_tls(std::string_view(response_head_).substr(0, result.consumed));
      status_ = 101;
      response_started_ = true;
      phase_ = Phase::kTunnel;
      response_ = ResponseState::kDone;
      response_head_.clear();
      channel_reusable_ = false;
      keep_visitor_ = false;
      log_request(101);
      write_tls(rest);
      bytes_out_ += rest.size();
      process_plain();
      flush_to_publisher();
      return;
    }
    status_ = head.status;
    response_deadline_ms_ = 0;
    worker_.counters().first_response_byte.record(monotonic_us() - exchange_started_us_);
    event_stream_ = http::find_header(head.headers.data(), head.header_count, "content-type")
                        .starts_with("text/event-stream");
    response_framing_ = head.framing;
    response_remaining_ = head.content_length;
    response_chunks_ = http::ChunkedScanner();
    dechunk_response_ = false;
    if (!head.keep_alive) channel_reusable_ = false;
    if (head.framing == http::BodyFraming::kUntilClose) keep_visitor_ = false;
    if (worker_.config().https_hsts_on_services &&
        http::find_header(head.headers.data(), head.header_count, "strict-transport-security")
            .empty()) {
      head.added_strict_transport_security = worker_.config().https_hsts;
    }
    std::string out;
    if (mcp_exchange_) {
      if (!mcp_->on_response_head(head, keep_visitor_, out)) {
        channel_reusable_ = false;
        respond_error(502, "the publisher named an MCP session that belongs to another caller");
        return;
      }
      if (mcp_->response_closes_visitor()) keep_visitor_ = false;
    }
    if (!mcp_exchange_ || mcp_->response_mode() == McpResponseRewriter::Mode::kPass) {
      if (request_http10_ && head.framing == http::BodyFraming::kChunked) {
        // No transfer coding to an HTTP/1.0 request (RFC 9112 6.1), whatever the service
        // sent: the body goes out decoded (trailers dropped) and ends with the connection.
        dechunk_response_ = true;
        response_dechunker_ = http::ChunkedDecoder();
        keep_visitor_ = false;
        head.framing = http::BodyFraming::kUntilClose;  // response_framing_ keeps "chunked"
      }
      http::write_visitor_response_head(head, keep_visitor_, out);
    }
    write_tls(out);
    response_started_ = true;
    response_head_.clear();
    response_ = ResponseState::kBody;
    if (head.framing == http::BodyFraming::kNone ||
        (head.framing == http::BodyFraming::kLength && head.content_length == 0)) {
      if (!rest.empty()) note_response_desync(rest.size());
      response_complete();
      return;
    }
    handle_response_body(rest);
    return;
  }
}

void VisitorConnection::handle_response_body(std::string_view bytes) {
  if (bytes.empty()) return;
  std::size_t take = bytes.size();
  bool complete = false;
  switch (response_framing_) {
    case http::BodyFraming::kLength:
      take = static_cast<std::size_t>(std::min<std::uint64_t>(take, response_remaining_));
      response_remaining_ -= take;
      complete = response_remaining_ == 0;
      break;
    case http::BodyFraming::kChunked: {
      const auto step = response_chunks_.feed(bytes);
      if (step.error) {
        // Mid-body there is no status left to send: cut the connection so the visitor
        // sees a broken transfer rather than a silently wrong one.
        channel_reusable_ = false;
        cut_after_flush();
        return;
      }
      take = step.consumed;
      complete = step.done;
      break;
    }
    default:
      break;
  }
  if (mcp_exchange_ && mcp_->response_mode() != McpResponseRewriter::Mode::kPass) {
    std::string out;
    if (!mcp_->response_body(bytes.substr(0, take), out)) {
      channel_reusable_ = false;  // an event over the cap while a list was pending: cut
      close_now();
      return;
    }
    write_tls(out);
    bytes_out_ += out.size();
  } else if (dechunk_response_) {
    std::string data;
    response_dechunker_.feed(bytes.substr(0, take), data);
    write_tls(data);
    bytes_out_ += data.size();
  } else {
    write_tls(bytes.substr(0, take));
    bytes_out_ += take;
  }
  if (take < bytes.size()) note_response_desync(bytes.size() - take);  // past the framing
  if (complete) response_complete();
}

void VisitorConnection::note_response_desync(std::size_t bytes) {
  channel_reusable_ = false;
  ++worker_.counters().response_desyncs;
  worker_.logs().push(log::JsonLine("response_desync")
                          .add("name", tunnel_name_)
                          .add("bytes", static_cast<std::uint64_t>(bytes))
                          .add("worker", worker_.index())
                          .finish());
}

void VisitorConnection::response_complete() {
  response_ = ResponseState::kDone;
  if (mcp_exchange_ && mcp_->response_mode() != McpResponseRewriter::Mode::kPass) {
    std::string out;
    mcp_->response_end(out);
    write_tls(out);
    bytes_out_ += out.size();
  }
  if (!request_body_done_) {
    // The service answered before reading the whole upload (a 413, a redirect): the rest
    // of the body has nowhere to go, so neither connection can be reused.
    channel_reusable_ = false;
    keep_visitor_ = false;
  }
  finish_exchange();
}

void VisitorConnection::finish_exchange() {
  log_request(status_);
  if (!channel_reusable_) release_channel();
  response_ = ResponseState::kIdle;
  to_publisher_.clear();
  if (!keep_visitor_) {
    close_gracefully();
    return;
  }
  phase_ = Phase::kReadingHead;
  deadline_ms_ = worker_.now_ms() + worker_.config().idle_timeout_ms;
  exchange_started_us_ = monotonic_us();
  method_.clear();
  path_.clear();
  // Nothing has gone out for the next request yet: an error found in it (a malformed head, a
  // head too large, a timeout) is answered with its status after the responses already
  // queued, never by cutting the connection under them.
  response_started_ = false;
  process_plain();  // a pipelined request may be waiting
  if (!closed_ && phase_ != Phase::kClosing) {
    flush_to_publisher();
    flush_tls();
    arm_recv();
  }
}

void VisitorConnection::on_channel_eof() {
  if (closed_) return;
  if (phase_ == Phase::kTunnel) {
    close_gracefully();
    return;
  }
  channel_reusable_ = false;
  if (response_ == ResponseState::kBody && response_framing_ == http::BodyFraming::kUntilClose) {
    response_complete();
  } else if (response_ == ResponseState::kHead && phase_ != Phase::kReadingHead) {
    respond_error(502, "the publisher's service closed the connection without a response");
  } else if (response_ == ResponseState::kBody) {
    cut_after_flush();  // truncated: the visitor must not take a partial body for a whole one
  } else {
    release_channel();
  }
}

void VisitorConnection::on_channel_closed() {
  on_channel_eof();
  release_channel();
}

void VisitorConnection::release_channel() {
  if (channel_ != nullptr && session_ != nullptr) session_->release_channel(channel_);
  channel_ = nullptr;
  session_ = nullptr;
}

// --- endings ---------------------------------------------------------------------------------

void VisitorConnection::respond_error(int status, std::string_view detail) {
  respond_with(status, http::make_error_response(status, detail, true, own_fields()));
}

std::string VisitorConnection::own_fields(std::string_view more) const {
  std::string fields = http::strict_transport_security_field(worker_.config().https_hsts);
  fields.append(more);
  return fields;
}

void VisitorConnection::respond_with(int status, std::string_view response) {
  if (closed_) return;
  if (response_started_) {
    // Mid-response there is no status left to send: what is queued (earlier whole responses
    // and this one's start) goes out, then the cut shows the visitor a body short of its end.
    channel_reusable_ = false;
    cut_after_flush();
    return;
  }
  channel_reusable_ = false;
  release_channel();
  status_ = status;
  if (method_.empty()) method_ = "-";
  if (path_.empty()) path_ = "-";
  write_tls(response);
  response_started_ = true;
  log_request(status);
  close_gracefully();
}

void VisitorConnection::close_gracefully() {
  if (closed_) return;
  release_channel();
  phase_ = Phase::kClosing;
  tls_.shutdown();
  pause_recv();
  close_after_flush_ = true;
  flush_tls();
  if (!send_in_flight_) close_now();
}

void VisitorConnection::cut_after_flush() {
  // What went out so far is sent, then the socket closes without a close_notify: the
  // visitor's TLS sees the truncation, and its HTTP framing sees a body short of its end.
  if (closed_) return;
  release_channel();
  phase_ = Phase::kClosing;
  pause_recv();
  close_after_flush_ = true;
  flush_tls();
  if (!send_in_flight_) close_now();
}

void VisitorConnection::visitor_ended() {
  if (phase_ == Phase::kTunnel) {
    flush_to_publisher();
    if (channel_ != nullptr && to_publisher_.empty() && in_plain_.empty()) {
      session_->send_eof(channel_);
    }
    return;  // the publisher's side may still be talking; its EOF ends the stream
  }
  if (phase_ == Phase::kReadingHead && in_plain_.empty() && !response_started_) {
    close_now();
    return;
  }
  if (response_ == ResponseState::kHead || response_ == ResponseState::kBody) {
    close_now();  // the visitor left mid-exchange: the channel closes, the service sees it
    return;
  }
  close_now();
}

void VisitorConnection::close_now() {
  if (closed_ && !close_after_flush_) return;
  closed_ = true;
  if (signin_handle_ != 0) worker_.forget_signin(signin_handle_);
  signin_handle_ = 0;
  close_after_flush_ = false;
  release_channel();
  release_counts();  // now, as the connection leaves the worker's count: not when it is reaped
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  if (recv_armed_ || send_in_flight_) {
    io_uring_sqe* sqe = worker_.ring().sqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
  }
  worker_.forget(this);
}

void VisitorConnection::abort() {
  close_after_flush_ = false;
  close_now();
}

bool VisitorConnection::recheck_access() {
  const bool streaming =
      phase_ == Phase::kTunnel || (event_stream_ && response_ == ResponseState::kBody);
  if (closed_ || !streaming || fixed_status_ != 0) return false;
  Tunnel* tunnel = worker_.find_tunnel(tunnel_name_);
  http::RequestHead head;
  const auto parsed = http::parse_request_head(request_head_, head);
  std::string target;  // decided again on the normal form it was first decided on
  // An inspected MCP request was decided per message: its messages are decided again.
  const bool mcp_messages = mcp_exchange_ && mcp_->inspected();
  if (tunnel != nullptr && parsed.state == http::ParseState::kComplete &&
      http::normalize_request_target(head, worker_.config().path_rules, target) ==
          http::PathRefusal::kNone) {
    const Verdict verdict = decide(head, *tunnel);
    const bool still_allowed =
        mcp_messages ? mcp_->recheck() : verdict.access.allowed && !verdict.scope_missing;
    if (verdict.caller.status != Caller::Status::kRefused && still_allowed) return false;
  }
  worker_.logs().push(log::JsonLine("stream_revoked")
                          .add("name", tunnel_name_)
                          .add("path", path_)
                          .add("client", peer_ip_)
                          .add("worker", worker_.index())
                          .finish());
  close_gracefully();
  return true;
}

void VisitorConnection::on_tick(std::uint64_t now_ms, bool stopping) {
  if (closed_) return;
  if (stopping && phase_ == Phase::kReadingHead && in_plain_.empty()) {
    close_gracefully();
    return;
  }
  if (stopping) {
    keep_visitor_ = false;
    // Streams do not finish on their own: a drain ends them at once and clients reconnect
    // (to another relay); ordinary requests get the drain timeout to complete.
    if (phase_ == Phase::kTunnel || (event_stream_ && response_ == ResponseState::kBody)) {
      close_gracefully();
      return;
    }
  }
  // A stream outlives no token: when the caller's token expires, its stream ends (the next
  // request on a keep-alive connection is checked anyway).
  const bool streaming =
      phase_ == Phase::kTunnel || (event_stream_ && response_ == ResponseState::kBody);
  if (streaming && token_valid_until_ != 0 &&
      static_cast<std::int64_t>(worker_.now_epoch_s()) > token_valid_until_) {
    worker_.logs().push(log::JsonLine("stream_expired")
                            .add("name", tunnel_name_)
                            .add("path", path_)
                            .add("client", peer_ip_)
                            .add("subject", subject_)
                            .finish());
    close_gracefully();
    return;
  }
  // A stalled publisher (a suspended laptop, a dead network) must not hold the visitor
  // forever: once the whole request is out, the response head is due within the timeout
  // (an upload's own duration does not count against it).
  const bool awaiting_response = response_ == ResponseState::kHead && !response_started_ &&
                                 request_body_done_ &&
                                 (phase_ == Phase::kExchange || phase_ == Phase::kWaitingChannel);
  if (awaiting_response && response_deadline_ms_ == 0) {
    response_deadline_ms_ = now_ms + worker_.config().response_timeout_ms;
  }
  if (awaiting_response && now_ms >= response_deadline_ms_) {
    response_deadline_ms_ = 0;
    respond_error(504, "the publisher's service did not answer in time");
    return;
  }
  // A body that stops moving either way (an upload that stalls, a service that stalls
  // mid-response, a visitor that stops reading) frees its connection after the body idle
  // timeout. Event streams and WebSockets may be quiet for as long as they like.
  const bool in_body = (phase_ == Phase::kExchange || phase_ == Phase::kWaitingChannel) &&
                       !event_stream_ && (!request_body_done_ || response_ == ResponseState::kBody);
  const std::uint64_t moved = bytes_in_ + bytes_out_;
  if (!in_body || moved != progress_bytes_) {
    progress_bytes_ = moved;
    progress_ms_ = now_ms;
  } else if (now_ms - progress_ms_ >= worker_.config().body_idle_timeout_ms) {
    worker_.logs().push(log::JsonLine("body_idle_timeout")
                            .add("name", tunnel_name_)
                            .add("path", path_)
                            .add("client", peer_ip_)
                            .add("response_started", response_started_)
                            .finish());
    if (response_started_) {
      close_now();  // the visitor sees the response cut short, never a complete one
    } else {
      respond_error(408, "the request body stopped arriving");
    }
    return;
  }
  if (head_deadline_ms_ != 0 && now_ms >= head_deadline_ms_ &&
      (phase_ == Phase::kReadingHead || phase_ == Phase::kMcpBody)) {
    respond_error(408, phase_ == Phase::kMcpBody ? "the request body did not arrive in time"
                                                 : "the request head did not arrive in time");
    return;
  }
  if (deadline_ms_ != 0 && now_ms >= deadline_ms_) {
    if (phase_ == Phase::kHandshake) {
      close_now();
    } else {
      close_gracefully();
    }
  }
}

void VisitorConnection::log_request(int status) {
  Tunnel* tunnel = fixed_status_ == 0 ? worker_.find_tunnel(tunnel_name_) : nullptr;
  if (tunnel != nullptr) {
    tunnel->bytes_in += bytes_in_;
    tunnel->bytes_out += bytes_out_;
    tunnel->last_request_epoch_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  }
  WorkerCounters& counters = worker_.counters();
  counters.count_response(status);
  counters.relay_processing.record(processing_us_);
  processing_us_ = 0;
  counters.bytes_in += bytes_in_;
  counters.bytes_out += bytes_out_;
  log::JsonLine line("request");
  line.add("name", tunnel_name_.empty() ? server_name_ : tunnel_name_)
      .add("method", method_)
      .add("path", path_)
      .add_present("raw_target", raw_target_)
      .add("status", status)
      .add("bytes_in", bytes_in_)
      .add("bytes_out", bytes_out_)
      .add("duration_us", monotonic_us() - exchange_started_us_)
      .add("client", peer_ip_)
      .add("rule", rule_)
      .add("worker", worker_.index());
  if (!request_id_.empty()) line.add("request_id", request_id_);
  if (!subject_.empty()) line.add("subject", subject_);
  worker_.logs().push(line.finish());
  if (mcp_exchange_) mcp_->end(status, monotonic_us() - exchange_started_us_);
}

}  // namespace tg

namespace tg {

// --- the relay's own sign-in endpoints -------------------------------------------------------

namespace {

// Sign-in forms and registrations are small; anything larger is not one of them.
constexpr std::uint64_t kMaxSigninBody = 64 * 1024;

std::string joined_header(const http::RequestHead& head, std::string_view name) {
  std::string joined;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    if (!http::iequals(head.headers[i].name, name)) continue;
    if (!joined.empty()) joined.append(name == "cookie" ? "; " : ", ");
    joined.append(head.headers[i].value);
  }
  return joined;
}

}  // namespace

void VisitorConnection::begin_signin(const http::RequestHead& head, std::size_t head_size) {
  if (head.framing == http::BodyFraming::kChunked) {
    respond_error(411, "the relay's sign-in endpoints need a Content-Length");
    return;
  }
  if (head.content_length > kMaxSigninBody) {
    respond_error(413, "the body is larger than the relay's sign-in endpoints accept");
    return;
  }
  auto exchange = std::make_shared<auth::Exchange>();
  auth::Request& request = exchange->request;
  request.auth_host = tunnel_name_ == worker_.config().signin.host;
  request.host = normalize_host(strip_port(head.host));
  request.origin = request.auth_host ? worker_.signin_issuer()
                                     : std::string(without_slash(worker_.public_url(tunnel_name_)));
  request.method.assign(head.method);
  request.target.assign(head.target);
  request.cookie = joined_header(head, "cookie");
  request.authorization = joined_header(head, "authorization");
  request.content_type = joined_header(head, "content-type");
  request.accept = joined_header(head, "accept");
  request.origin_header = joined_header(head, "origin");
  request.sec_fetch_site = joined_header(head, "sec-fetch-site");
  request.peer_ip = peer_ip_;
  signin_ = std::move(exchange);
  signin_remaining_ = head.framing == http::BodyFraming::kLength ? head.content_length : 0;
  in_plain_.erase(0, head_size);
  request_body_done_ = false;
  phase_ = Phase::kSigninBody;
  head_deadline_ms_ = worker_.now_ms() + worker_.config().header_timeout_ms;
  if (head.expect_continue && signin_remaining_ > 0) write_tls("HTTP/1.1 100 Continue\r\n\r\n");
  read_signin_body();
}

void VisitorConnection::read_signin_body() {
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(signin_remaining_, in_plain_.size()));
  signin_->request.body.append(in_plain_, 0, take);
  in_plain_.erase(0, take);
  bytes_in_ += take;
  signin_remaining_ -= take;
  if (signin_remaining_ > 0) return;
  head_deadline_ms_ = 0;
  request_body_done_ = true;
  std::shared_ptr<auth::Exchange> exchange = signin_;
  if (!worker_.ask_signin(exchange, this)) {
    signin_.reset();
    respond_error(503, "the relay's sign-in is busy; retry later");
    return;
  }
  signin_handle_ = exchange->connection;
  phase_ = Phase::kSigninWait;
}

void VisitorConnection::on_signin_answer(const auth::Answer& answer) {
  if (closed_ || phase_ != Phase::kSigninWait) return;
  signin_handle_ = 0;
  status_ = answer.status;
  if (answer.close) keep_visitor_ = false;
  const bool head_only = method_ == "HEAD";
  if (head_only) {
    // The same head, no body (RFC 9110 §9.3.2).
    const std::size_t end = answer.response.find("\r\n\r\n");
    write_tls(std::string_view(answer.response).substr(0, end == std::string::npos ? 0 : end + 4));
  } else {
    write_tls(answer.response);
  }
  bytes_out_ += answer.response.size();
  signin_.reset();
  response_started_ = true;
  finish_exchange();
}

bool VisitorConnection::redirect_to_signin(const http::RequestHead& head) {
  if (worker_.signin_issuer().empty()) return false;
  if (head.method != "GET" && head.method != "HEAD") return false;
  // A browser navigating (a person typed the URL or followed a link): not an API client, not
  // a fetch from a page's script, which keep getting the 401 they can act on.
  const std::string_view mode =
      http::find_header(head.headers.data(), head.header_count, "sec-fetch-mode");
  const std::string_view accept =
      http::find_header(head.headers.data(), head.header_count, "accept");
  const bool navigation =
      mode.empty() ? accept.find("text/html") != std::string_view::npos : mode == "navigate";
  if (!navigation) return false;
  const std::string here =
      std::string(without_slash(worker_.public_url(tunnel_name_))) + std::string(head.target);
  std::string location = worker_.signin_issuer() + "/signin?return_to=" + auth::form_encode(here);
  ++worker_.counters().signin_redirects;
  status_ = 302;
  std::string fields = own_fields();
  fields.append("location: ").append(location).append("\r\n");
  respond_with(302, http::make_response(302, "text/plain", fields, "", true));
  return true;
}

}  // namespace tg
