#include "relay/auth/auth_service.h"

#include <chrono>
#include <deque>

#include "relay/auth/upstream/provider_set.h"
#include "relay/http/strict_transport_security.h"
#include "relay/log/log.h"

namespace tg::auth {
namespace {

std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint16_t public_port(const Config& config) {
  if (config.public_port != 0) return config.public_port;
  return config.https_listen.empty() ? 443 : config.https_listen.front().port;
}

}  // namespace

std::string issuer_of(const Config& config) {
  const std::uint16_t port = public_port(config);
  return "https://" + config.signin.host + "." + config.domain +
         (port == 443 ? "" : ":" + std::to_string(port));
}

Result<std::unique_ptr<AuthService>> AuthService::create(const Config& config) {
  std::unique_ptr<AuthService> service(new AuthService());
  ServerSettings& s = service->settings_;
  s.issuer = issuer_of(config);
  s.domain = config.domain;
  const std::uint16_t port = public_port(config);
  s.port_suffix = port == 443 ? "" : ":" + std::to_string(port);
  s.auth_label = config.signin.host;
  s.access_token_seconds = config.signin.access_token_seconds;
  s.refresh_token_seconds = config.signin.refresh_token_seconds;
  s.session_seconds = config.signin.session_seconds;
  s.code_seconds = config.signin.code_seconds;
  s.dev_signin = config.signin.dev_signin;
  s.client_metadata_allow = config.signin.client_metadata_allow;
  s.client_metadata_ca = config.signin.client_metadata_ca;
  s.clients = config.signin.clients;
  if (!config.https_hsts.empty()) {
    s.own_fields = "strict-transport-security: " + config.https_hsts + "\r\n";
  }
  auto seal_keys = load_or_create_seal_keys(config.state_dir + "/signin-keys");
  if (!seal_keys) return seal_keys.error();
  service->seal_keys_ = std::move(*seal_keys);
  service->threads_count_ = config.signin.threads;
  service->keys_ =
      std::make_unique<SigningKeys>(config.signin.threads, config.signin.access_token_seconds);
  service->state_ = std::make_unique<AuthState>(config.state_dir + "/signin-families",
                                                config.signin.registrations_per_minute);
  if (auto st = service->state_->load(epoch_seconds()); !st) return st.error();
  for (unsigned i = 0; i < config.signin.threads; ++i) {
    service->upstreams_.push_back(
        config.signin_providers.empty()
            ? nullptr
            : std::make_unique<upstream::ProviderSet>(config.signin_providers));
  }
  return service;
}

AuthService::~AuthService() {
  stop();
}

Result<std::string> AuthService::rotate_keys() {
  if (auto st = keys_->rotate(epoch_seconds()); !st) return st.error();
  return keys_->jwks();
}

void AuthService::start(io::Mailboxes& mailboxes, unsigned first_endpoint) {
  mailboxes_ = &mailboxes;
  first_endpoint_ = first_endpoint;
  for (unsigned i = 0; i < threads_count_; ++i) threads_.emplace_back([this, i] { run(i); });
}

void AuthService::stop() {
  stopping_.store(true);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void AuthService::run(unsigned index) {
  const unsigned endpoint = first_endpoint_ + index;
  io::Ring ring;
  if (auto st = ring.init(64); !st) {
    log::write_now(log::JsonLine("signin_thread_failed").add("error", st.error().message).finish());
    return;
  }
  // The wake-up's completion does nothing itself: the loop drains after every wait.
  io::Completion wake{[](void*, const io_uring_cqe&) {}, nullptr};
  mailboxes_->attach(endpoint, ring.fd(), &wake);
  auto keyring = SealKeyring::create(seal_keys_);
  if (!keyring) return;
  AuthServer server(settings_, std::move(*keyring), *keys_, index, *state_, counters_,
                    upstreams_[index].get(), audit_fd_);
  std::deque<std::unique_ptr<io::Message>> replies;  // waiting for room in a worker's queue
  while (!stopping_.load(std::memory_order_relaxed) || !replies.empty()) {
    ring.submit_and_wait(replies.empty() ? 200 : 10);
    ring.dispatch();
    mailboxes_->drain(endpoint, [&](std::unique_ptr<io::Message> message) {
      if (message->kind != io::Message::Kind::kAuthRequest) return;
      auto* exchange = static_cast<Exchange*>(message->exchange.get());
      exchange->answer = server.handle(exchange->request, epoch_seconds());
      message->kind = io::Message::Kind::kAuthAnswer;
      replies.push_back(std::move(message));
    });
    while (!replies.empty()) {
      const unsigned worker = static_cast<Exchange*>(replies.front()->exchange.get())->worker;
      auto refused = mailboxes_->send(ring, endpoint, worker, std::move(replies.front()));
      replies.pop_front();
      if (refused) {
        replies.push_front(std::move(refused));
        break;
      }
    }
    if (stopping_.load(std::memory_order_relaxed) && !replies.empty()) {
      // Workers stop after us; nothing waits for these any more.
      replies.clear();
    }
  }
}

}  // namespace tg::auth
