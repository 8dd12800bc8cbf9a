#include "relay/worker/worker.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "relay/auth/exchange.h"
#include "relay/proxy/visitor_connection.h"
#include "relay/worker/peer_helpers.h"

namespace tg {
namespace {

using worker_detail::address_text;
using worker_detail::epoch_ms;

constexpr std::uint64_t kTickMs = 200;

std::uint64_t steady_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

Worker::Worker(unsigned index, Shared& shared)
    : index_(index),
      shared_(shared),
      ticket_keys_(std::make_unique<tls::TicketKeys>(shared.ticket_key_start)),
      memory_(shared.memory_budget, index),
      mcp_sessions_(shared.config.mcp_max_sessions, shared.config.mcp_session_idle_ms),
      mcp_tasks_(McpTaskTable::kMaxEntries, McpTaskTable::kDefaultTtlMs),
      mcp_params_(McpParamTable::kMaxTools),
      outbox_(shared.mailboxes, index, shared.worker_count),
      publishers_(*this),
      control_(*this),
      intake_(*this) {}

Worker::~Worker() = default;

// --- start-up ------------------------------------------------------------------------------

Status Worker::start() {
  const Config& cfg = shared_.config;
  if (auto st = ring_.init(cfg.ring_entries); !st) return st;
  if (auto st = buffers_.init(ring_.raw(), 1, cfg.receive_buffers, cfg.receive_buffer_size); !st) {
    return st;
  }
  if (auto st = control_.load_credentials(); !st) return st;
  policy_ = shared_.initial_policy;
  audit_.set_fd(shared_.audit_fd);
  mailbox_completion_ = {&Worker::on_mailbox, this};
  shared_.mailboxes.attach(index_, ring_.fd(), &mailbox_completion_);
  if (auto st = control_.open_admin(); !st) return st;
  return intake_.open_listeners();
}

// --- the loop --------------------------------------------------------------------------------

void Worker::run() {
  if (auto st = start(); !st) {
    logs_.push(log::JsonLine("worker_failed")
                   .add("worker", index_)
                   .add("error", st.error().message)
                   .finish());
    logs_.flush();
    shared_.workers_failed.fetch_add(1);
    return;
  }
  shared_.workers_ready.fetch_add(1);
  // Messages sent while we were starting woke no one (Mailboxes::attach): take them now.
  now_ms_ = steady_ms();
  now_epoch_s_ = epoch_ms() / 1000;
  take_messages();
  for (;;) {
    now_ms_ = steady_ms();
    if (shared_.stopping.load(std::memory_order_relaxed) && !stopping_) begin_shutdown();
    if (now_ms_ - last_tick_ms_ >= kTickMs) tick();
    if (index_ == 0) control_.poll_reload_signal();
    reap();
    memory_.refresh();
    flush_outboxes();
    flush_audit();
    logs_.flush();
    if (stopping_ && intake_.idle() && publishers_.idle() && control_.idle()) {
      break;
    }
    // Deferred session work must not wait behind a blocking wait: only peek then.
    if (shared_.abort_now.load(std::memory_order_relaxed) && shutdown_deadline_ms_ > now_ms_) {
      shutdown_deadline_ms_ = now_ms_;  // a second SIGTERM: the drain is over
      last_tick_ms_ = 0;
    }
    publishers_.flush_sessions();
    const bool more_now = publishers_.work_pending();
    ring_.submit_and_wait(more_now ? 0 : static_cast<unsigned>(kTickMs));
    now_ms_ = steady_ms();
    now_epoch_s_ = epoch_ms() / 1000;
    ring_.dispatch();
    publishers_.run_deferred_sessions();
  }
  // The last round's requests are only queued, a mailbox wake-up for a worker still draining
  // among them (flush_outboxes above): submit them, or that worker's wake-up stays marked as
  // sent and its mailbox waits until it happens to route a visitor.
  io_uring_submit(ring_.raw());
  logs_.flush();
  shared_.workers_done.fetch_add(1);
}

void Worker::flush_audit() {
  if (audit_.empty()) return;
  if (audit_.flush()) {
    if (!audit_ok_) {
      logs_.push(log::JsonLine("audit_recovered").add("worker", index_).finish());
      shared_.audit_failing_workers.fetch_sub(1, std::memory_order_relaxed);
    }
    audit_ok_ = true;
    return;
  }
  if (audit_ok_) {
    shared_.audit_failing_workers.fetch_add(1, std::memory_order_relaxed);
    // Loudly, once per failure spell: decisions are being lost from the trail.
    logs_.push(log::JsonLine("audit_write_failed")
                   .add("worker", index_)
                   .add("file", shared_.config.audit_file)
                   .add("error", std::strerror(errno))
                   .add("refusing_exposures", shared_.config.audit_required)
                   .finish());
    std::fprintf(stderr, "tunnelgate: cannot write the audit trail %s: %s\n",
                 shared_.config.audit_file.c_str(), std::strerror(errno));
  }
  audit_ok_ = false;
}

void Worker::tick() {
  last_tick_ms_ = now_ms_;
  intake_.resume_accepts();
  mcp_sessions_.expire(now_ms_);
  control_.tick(now_ms_);
  const bool grace_over = stopping_ && now_ms_ >= shutdown_deadline_ms_;
  intake_.tick(grace_over);
  publishers_.tick(grace_over);
}

void Worker::begin_shutdown() {
  stopping_ = true;
  control_.stop_listening();
  publishers_.tell_draining();
  shutdown_deadline_ms_ = now_ms_ + shared_.config.drain_timeout_ms;
  intake_.stop_listening();
  last_tick_ms_ = 0;  // run a tick now
}

void Worker::reap() {
  intake_.reap();
  publishers_.reap();
}

void Worker::log_refusal(std::string_view reason, const sockaddr_storage& peer) {
  // A flood of refusals must not become a flood of log lines: one per second per worker.
  ++refusals_unlogged_;
  if (refusal_logged_ms_ != 0 && now_ms_ - refusal_logged_ms_ < 1000) return;
  logs_.push(log::JsonLine("connection_refused")
                 .add("reason", reason)
                 .add("client", address_text(peer))
                 .add("refusals", refusals_unlogged_)
                 .add("worker", index_)
                 .finish());
  refusal_logged_ms_ = now_ms_;
  refusals_unlogged_ = 0;
}

std::string Worker::next_request_id() {
  char text[32];
  std::snprintf(text, sizeof text, "w%u-%llx", index_,
                static_cast<unsigned long long>(next_request_serial_++));
  return text;
}

// --- messages from other workers -------------------------------------------------------------

void Worker::send_reliably(unsigned to, std::unique_ptr<io::Message> message) {
  outbox_.send(ring_, to, std::move(message));
}

void Worker::flush_outboxes() {
  outbox_.flush(ring_);
}

void Worker::on_mailbox(void* worker_ptr, const io_uring_cqe&) {
  static_cast<Worker*>(worker_ptr)->take_messages();
}

void Worker::take_messages() {
  // The drain commits its progress only at its end: a handler that led back here would take
  // the same messages twice. None does today; this keeps it so.
  if (taking_messages_) return;
  taking_messages_ = true;
  shared_.mailboxes.drain(
      index_, [this](std::unique_ptr<io::Message> message) { handle_message(std::move(message)); });
  taking_messages_ = false;
}

void Worker::handle_message(std::unique_ptr<io::Message> message) {
  switch (message->kind) {
    case io::Message::Kind::kVisitor:
      intake_.on_handoff(std::move(message));
      return;
    case io::Message::Kind::kReleaseSource:
      intake_.on_source_released(message->peer);
      return;
    case io::Message::Kind::kRoute:
      if (message->online) {
        routes_.set_online(
            message->name,
            NameOwner{message->worker, message->session_id, {}, true, message->generation});
      } else {
        routes_.set_offline(message->name, message->session_id, message->generation);
      }
      return;
    case io::Message::Kind::kSnapshot:
      control_.on_snapshot(*message);
      return;
    case io::Message::Kind::kSnapshotReply:
      control_.on_snapshot_reply(std::move(message));
      return;
    case io::Message::Kind::kCloseTunnel:
      control_.on_close_tunnel(*message);
      return;
    case io::Message::Kind::kCloseTunnelReply:
      control_.on_close_tunnel_reply(std::move(message));
      return;
    case io::Message::Kind::kReload:
      control_.on_reload(std::move(message));
      return;
    case io::Message::Kind::kReloadReply:
      control_.on_reload_reply(std::move(message));
      return;
    case io::Message::Kind::kCloseSession:
      publishers_.close_taken_over(message->session_id, message->name);
      return;
    case io::Message::Kind::kAuthRequest:
      return;  // for the sign-in threads only
    case io::Message::Kind::kAuthAnswer: {
      const auto* exchange = static_cast<const auth::Exchange*>(message->exchange.get());
      const auto waiting = signin_waiting_.find(exchange->connection);
      if (waiting == signin_waiting_.end()) return;  // the visitor left meanwhile
      VisitorConnection* visitor = waiting->second;
      signin_waiting_.erase(waiting);
      visitor->on_signin_answer(exchange->answer);
      return;
    }
  }
}

bool Worker::ask_signin(std::shared_ptr<auth::Exchange> exchange, VisitorConnection* visitor) {
  if (shared_.signin_threads == 0) return false;
  exchange->worker = index_;
  exchange->connection = ++signin_requests_;
  const std::uint64_t connection = exchange->connection;
  auto message = std::make_unique<io::Message>();
  message->kind = io::Message::Kind::kAuthRequest;
  message->exchange = std::move(exchange);
  const unsigned thread =
      shared_.signin_first_endpoint + static_cast<unsigned>(connection % shared_.signin_threads);
  if (shared_.mailboxes.send(ring_, index_, thread, std::move(message)) != nullptr) return false;
  signin_waiting_[connection] = visitor;
  return true;
}

void Worker::forget_signin(std::uint64_t connection) {
  signin_waiting_.erase(connection);
}

std::string Worker::public_url(std::string_view name) const {
  return publishers_.public_url(name);
}

}  // namespace tg
