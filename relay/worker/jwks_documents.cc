#include "relay/worker/jwks_documents.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "relay/log/log.h"

namespace tg {
namespace {

std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::shared_ptr<const PolicySet>> JwksDocuments::load(const std::string& path) {
  std::lock_guard lock(mutex_);
  identity::JwtOptions options;
  options.refresh_requests = &requests_;
  std::optional<SigninIssuer> signin;
  if (rotate_signin_keys_) {
    auto jwks = rotate_signin_keys_();
    if (!jwks) return make_error("sign-in keys: " + jwks.error().message);
    signin = SigninIssuer{signin_issuer_, std::move(*jwks)};
  }
  auto loaded =
      load_policy_set(path, source_.loader(epoch_seconds()), options, signin ? &*signin : nullptr);
  if (loaded) {
    source_.retain((*loaded)->rules.identity());
    requests_.wake();  // the next refresh may now be sooner
  }
  return loaded;
}

void JwksDocuments::start_refreshing(std::function<void()> on_change) {
  on_change_ = std::move(on_change);
  thread_ = std::thread([this] { refresh_loop(); });
}

void JwksDocuments::stop_refreshing() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  requests_.wake();
  if (thread_.joinable()) thread_.join();
}

void JwksDocuments::refresh_loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const std::int64_t now = epoch_seconds();
    const std::uint64_t wanted = requests_.wanted();
    // Requests for documents in their cooldown stay asked for (and wake no one meanwhile);
    // the others are cleared before any fetch, so one that arrives during it is kept for the
    // next round.
    const std::uint64_t taken = source_.servable_requests(now, wanted);
    requests_.take(taken);
    if (!source_.refresh_due(now, taken)) {
      // Wake at the due time (a cooldown's end included), when a worker asks for an early
      // fetch, or every minute to notice documents added by a reload. The eventfd keeps a
      // wake-up sent before this wait starts, so none is lost.
      const auto next = source_.next_refresh_at(wanted);
      const std::int64_t wait = next ? std::clamp<std::int64_t>(*next - now, 1, 60) : 60;
      lock.unlock();
      requests_.wait(static_cast<int>(wait * 1000));
      lock.lock();
      continue;
    }
    // Planned and applied under the lock, fetched without it: a fetch may take seconds, and a
    // reload (on worker 0's loop) must not wait for it.
    const std::vector<identity::JwksPlannedFetch> planned = source_.plan_refresh(now, taken);
    lock.unlock();
    std::vector<Result<std::string>> fetched;
    fetched.reserve(planned.size());
    for (const identity::JwksPlannedFetch& fetch : planned) {
      fetched.push_back(source_.fetch_planned(fetch));
    }
    lock.lock();
    const identity::JwksRefresh refreshed = source_.apply_refresh(now, planned, std::move(fetched));
    for (const std::string& url : refreshed.early) {
      log::write_now(log::JsonLine("jwks_early_refresh")
                         .add("url", url)
                         .add("reason", "unknown kid")
                         .add("cooldown_s", identity::kJwksEarlyRefreshCooldownSeconds)
                         .finish());
    }
    for (const std::string& error : refreshed.errors) {
      log::write_now(log::JsonLine("jwks_refresh_failed").add("error", error).finish());
    }
    if (refreshed.changed.empty()) continue;
    for (const std::string& url : refreshed.changed) {
      log::write_now(log::JsonLine("jwks_changed").add("url", url).finish());
    }
    lock.unlock();
    on_change_();
    lock.lock();
  }
}

}  // namespace tg
