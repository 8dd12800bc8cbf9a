/// One visitor's HTTPS connection, proxied over one SSH channel to the publisher's service.
///
/// The connection terminates TLS on its worker, reads HTTP/1.1 requests, and relays each one
/// over a `forwarded-tcpip` channel of its tunnel's SSH session; the channel is kept across
/// keep-alive requests while the publisher's side keeps it open. Bodies stream in both
/// directions as they arrive and are never buffered whole: every buffer has a cap, and a
/// full buffer stops the reading side (a slow visitor holds back the channel window, a slow
/// publisher stops the visitor's socket from being read). Framing is checked on both sides;
/// a request that two parsers could frame differently is refused before it is forwarded.
/// After `101 Switching Protocols` the connection becomes a plain byte stream (WebSocket).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/auth/exchange.h"
#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"
#include "relay/io/ring.h"
#include "relay/policy/policy.h"
#include "relay/proxy/caller.h"
#include "relay/proxy/request_access.h"
#include "ssh/ssh.h"
#include "tls/tls.h"

namespace tg {

class Worker;
struct Tunnel;
class McpExchange;

/// The header carrying the relay's signed statement of who calls (an ES256 JWT whose keys are
/// served at /.well-known/tunnelgate/jwks.json); a visitor's own copy is always dropped.
inline constexpr std::string_view kAssertionHeader = "x-tunnelgate-assertion";
inline constexpr std::int64_t kAssertionLifetimeSeconds = 60;
inline constexpr std::int64_t kAssertionReuseSeconds = 30;

class VisitorConnection final : public ssh::ChannelSink {
 public:
  /// `fixed_status` non-zero answers every request with that status (404 for an unknown
  /// name, 502 for a publisher that is gone) without touching any tunnel.
  VisitorConnection(Worker& worker, int fd, const sockaddr_storage& peer, std::string server_name,
                    std::string tunnel_name, int fixed_status);
  ~VisitorConnection();
  VisitorConnection(const VisitorConnection&) = delete;
  VisitorConnection& operator=(const VisitorConnection&) = delete;

  /// Begins TLS with the bytes read while routing (the ClientHello).
  void start(std::string_view initial_ciphertext);
  /// Called by the worker's timer: enforces handshake and idle deadlines, and shutdown.
  void on_tick(std::uint64_t now_ms, bool stopping);
  /// Closes at once (shutdown grace over, or the worker is going away).
  void abort();
  /// After a policy reload: a long-lived stream (event stream, WebSocket) whose request the
  /// new policy denies is ended now. Returns true when it was ended.
  bool recheck_access();
  bool reapable() const { return closed_ && io_.in_flight == 0; }
  const sockaddr_storage& peer() const { return peer_; }
  /// The worker that accepted the socket and counts it against its source address.
  void set_source_worker(unsigned worker) { source_worker_ = worker; }
  unsigned source_worker() const { return source_worker_; }
  /// What the answer with `fixed_status` says instead of the status's usual words.
  void set_fixed_detail(std::string detail) { fixed_detail_ = std::move(detail); }

  // ssh::ChannelSink
  void on_channel_open() override;
  void on_channel_open_failed(std::string_view why) override;
  std::size_t channel_room() override;
  void on_channel_data(const char* data, std::size_t size) override;
  void on_channel_eof() override;
  void on_channel_closed() override;
  void on_channel_writable() override;

  /// A sign-in thread's answer to the request this connection sent (Worker::ask_signin).
  void on_signin_answer(const auth::Answer& answer);

 private:
  enum class Phase {
    kHandshake,
    kReadingHead,
    kMcpBody,     // an MCP request's body is read whole before anything is forwarded
    kSigninBody,  // a request for the relay's sign-in endpoints: its body is read whole
    kSigninWait,  // … and it waits for a sign-in thread's answer
    kWaitingChannel,
    kExchange,
    kTunnel,
    kClosing
  };
  enum class ResponseState { kIdle, kHead, kBody, kDone };

  static void on_recv(void* self, const io_uring_cqe& cqe);
  static void on_send(void* self, const io_uring_cqe& cqe);
  void arm_recv();
  void pause_recv();
  void pump();
  bool decrypt();
  /// After the handshake: keeps the verified client certificate's description (mTLS);
  /// false when it could not be read and the connection was closed.
  bool take_client_certificate();
  void process_plain();
  void handle_request(http::RequestHead& head, std::size_t head_size);
  /// Brings the head's target to the normal form the policy decides on and the service gets
  /// (visitor_path.cc); false when it has none and the request was answered with 400.
  bool normalize_path(http::RequestHead& head);
  // Who calls and what the policy says about this request.
  struct Verdict {
    Caller caller;
    policy::AccessDecision access;
    bool scope_missing = false;  // the token lacks a scope the tunnel requires
  };
  Verdict decide(const http::RequestHead& head, Tunnel& tunnel);
  std::string metadata_url(Tunnel& tunnel) const;
  ConnectionFacts connection_facts() const;
  void answer_protected_resource(Tunnel& tunnel);
  void respond_challenge(Tunnel& tunnel, std::string_view error, std::string_view description);
  void respond_refusal(int status, std::string_view error, std::string_view message,
                       std::string_view fields);
  void respond_with(int status, std::string_view response);
  /// Header lines every answer the relay writes itself carries (Strict-Transport-Security),
  /// followed by `more`.
  std::string own_fields(std::string_view more = {}) const;
  std::string_view assertion_field(const Caller& caller, const Tunnel& tunnel);
  std::string assertion_claims(const Caller& caller, const Tunnel& tunnel, std::int64_t now,
                               std::int64_t expires) const;
  /// Sends the request head (and sets up its body's framing) to the tunnel's publisher.
  void forward_request(const http::RequestHead& head, Tunnel& tunnel);
  // MCP tunnels (mcp_exchange.h): the hooks into the exchange.
  bool origin_refused(const http::RequestHead& head, Tunnel& tunnel);
  /// True when the MCP side took the request over (reading its body, or answering it).
  bool begin_mcp(const http::RequestHead& head, std::size_t head_size, Tunnel& tunnel,
                 const Caller& caller);
  void audit_request(const Tunnel& tunnel, bool allowed, std::string_view reason,
                     std::string_view rule);
  void respond_insufficient_scope(Tunnel& tunnel);
  /// What the service will be told of the caller: which credential headers to drop, and the
  /// signed assertion (kept here: an MCP request is forwarded after its body is read).
  void prepare_forwarded_identity(const Caller& caller, const Tunnel& tunnel);
  void read_mcp_body();
  // The relay's own sign-in endpoints (auth host, a tunnel's /.tunnelgate/ prefix).
  void begin_signin(const http::RequestHead& head, std::size_t head_size);
  void read_signin_body();
  // A browser navigation with no credential to a tunnel that wants one: off to sign in.
  bool redirect_to_signin(const http::RequestHead& head);
  // Prepares forwarded_cookie_ (assertion line + Cookie without the relay's session cookie)
  // when the request carries that cookie; false when it does not.
  bool strip_session_cookie(const http::RequestHead& head);
  void dispatch_mcp();
  void send_mcp_answer();
  void move_request_body();
  void flush_to_publisher();
  void parse_response_heads();
  void handle_response_body(std::string_view bytes);
  /// The service sent `bytes` beyond its response (a second answer, a body past its framing):
  /// the channel must never carry another request. Counted and logged; the caller drops the
  /// channel now, or when the exchange finishes.
  void note_response_desync(std::size_t bytes);
  void response_complete();
  void finish_exchange();
  void respond_error(int status, std::string_view detail);
  void write_tls(std::string_view plaintext);
  void flush_tls();
  std::size_t pending_ciphertext() const;
  void close_gracefully();
  /// Sends what is queued, then closes without close_notify (a response cut short).
  void cut_after_flush();
  void close_now();
  void release_channel();
  /// Counts this connection on `tunnel` (its open_connections and its key's count), moving
  /// the count there from the tunnel instance it was counted on, if another.
  void count_on(Tunnel& tunnel);
  /// Takes this connection off the counts it is on (once; again does nothing).
  void release_counts();
  void log_request(int status);
  void visitor_ended();
  /// Charges the worker's memory account with what the buffers hold now (visitor_memory.cc).
  void account_memory();

  Worker& worker_;
  int fd_;
  sockaddr_storage peer_{};
  std::string peer_ip_;
  std::uint16_t peer_port_ = 0;
  std::string server_name_;  // SNI, normalised
  std::string tunnel_name_;
  int fixed_status_;
  std::string fixed_detail_;
  unsigned source_worker_ = 0;
  std::size_t accounted_bytes_ = 0;  // what account_memory last charged to the worker
  // The tunnel instance (Tunnel::serial, 0: none) whose open_connections count this
  // connection: the name alone could meet a newer tunnel of the same name on this worker.
  std::uint64_t counted_tunnel_ = 0;
  // The publisher key's count of open visitor connections (shared with its other workers).
  std::shared_ptr<std::atomic<std::uint32_t>> key_connections_;

  io::IoObject io_;
  io::Completion recv_completion_{};
  io::Completion send_completion_{};
  bool recv_armed_ = false;
  bool send_in_flight_ = false;
  bool visitor_eof_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  std::uint64_t deadline_ms_ = 0;           // handshake, or keep-alive idle between requests
  std::uint64_t head_deadline_ms_ = 0;      // a started request head must be complete by then
  std::uint64_t response_deadline_ms_ = 0;  // the publisher's response head is due by then

  tls::TlsStream tls_;
  tls::PeerCertificate client_cert_;               // empty strings: no client certificate
  std::vector<std::string_view> client_cert_san_;  // views into client_cert_.san
  std::string in_plain_;                           // decrypted request bytes not handled yet
  std::string sending_;                            // ciphertext owned by the send in flight
  std::size_t sent_ = 0;
  std::string to_publisher_;  // request bytes the channel window has not taken yet

  ssh::PublisherSession* session_ = nullptr;
  ssh::Channel* channel_ = nullptr;
  bool channel_reusable_ = true;

  // The exchange in progress.
  Phase phase_ = Phase::kHandshake;
  ResponseState response_ = ResponseState::kIdle;
  std::string method_, path_;
  bool request_keep_alive_ = true;
  bool request_http10_ = false;  // an HTTP/1.0 visitor: no 1xx, no transfer coding (RFC 9112)
  bool request_upgrade_ = false;
  http::BodyFraming request_framing_ = http::BodyFraming::kNone;
  std::uint64_t request_remaining_ = 0;
  http::ChunkedScanner request_chunks_;
  bool request_body_done_ = true;
  std::string response_head_;  // response bytes until the head is complete
  std::string request_head_;   // the current request's head bytes, for re-deciding a stream
  std::string target_;         // the current request's normalised target (its head views it)
  std::string raw_target_;     // … and the target as sent, when that differs (for logs)
  http::BodyFraming response_framing_ = http::BodyFraming::kNone;
  std::uint64_t response_remaining_ = 0;
  http::ChunkedScanner response_chunks_;
  // A chunked response to an HTTP/1.0 request goes out decoded, delimited by closing.
  bool dechunk_response_ = false;
  http::ChunkedDecoder response_dechunker_;
  bool response_started_ = false;  // a head went to the visitor
  bool keep_visitor_ = true;       // the visitor connection survives this exchange
  bool event_stream_ = false;      // the response is text/event-stream (never "finishes")
  int status_ = 0;
  std::string request_id_;  // set when the relay refuses, so the visitor can quote it
  std::string subject_;     // the current request's verified caller: JWT sub, api key name,
                            // or client certificate subject; "" when anonymous
  std::int64_t token_valid_until_ = 0;  // the current request's token: last valid second
  std::string assertion_field_;         // the last assertion header line signed, and for whom
  std::string assertion_key_;
  std::int64_t assertion_issued_s_ = 0;
  bool drop_authorization_ = false;   // the current request's Authorization was ours
  bool drop_api_key_header_ = false;  // … and so was its API key header
  std::string_view assertion_;        // its assertion line (in assertion_field_), or ""
  std::string rule_;                  // the access rule that decided (a copy: a reload may free it)
  std::uint64_t exchange_started_ms_ = 0;
  std::uint64_t exchange_started_us_ = 0;
  std::uint64_t processing_us_ = 0;   // the relay's inline work on this exchange so far
  std::uint64_t progress_bytes_ = 0;  // body bytes moved, as of progress_ms_ (body idle timer)
  std::uint64_t progress_ms_ = 0;
  std::uint64_t accepted_us_ = 0;
  std::uint64_t bytes_in_ = 0;   // request bytes sent to the publisher
  std::uint64_t bytes_out_ = 0;  // response bytes sent to the visitor

  // MCP: created on the connection's first request to an MCP tunnel, reused after.
  std::unique_ptr<McpExchange> mcp_;
  bool mcp_exchange_ = false;
  std::shared_ptr<auth::Exchange> signin_;  // the sign-in request being read or answered
  std::uint64_t signin_remaining_ = 0;      // its body bytes still to read
  std::uint64_t signin_handle_ = 0;         // what the worker knows the wait by
  std::string forwarded_cookie_;  // the Cookie line sent on, the relay's session cookie removed  //
                                  // the current exchange goes through mcp_
};

}  // namespace tg
