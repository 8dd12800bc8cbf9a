#include "relay/worker/jwks_documents.h"

#include <chrono>

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
  auto loaded = load_policy_set(path, source_.loader(epoch_seconds()));
  if (loaded) {
    source_.retain((*loaded)->rules.identity());
    wake_.notify_all();  // the next refresh may now be sooner
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
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JwksDocuments::refresh_loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const auto next = source_.next_refresh_at();
    const std::int64_t now = epoch_seconds();
    if (!next || *next > now) {
      // Wake at the due time, or every minute to notice documents added by a reload.
      const std::int64_t wait = next ? std::min<std::int64_t>(*next - now, 60) : 60;
      wake_.wait_for(lock, std::chrono::seconds(wait));
      continue;
    }
    const identity::JwksRefresh refreshed = source_.refresh(now);
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
