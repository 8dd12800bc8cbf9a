/// Early JWKS refresh requests: how a worker that met a token naming a kid its issuer's fetched
/// key set lacks asks the JWKS refresh thread to fetch that document now, without a lock and
/// without ever blocking.
///
/// It is one atomic 64-bit word and one eventfd. Each fetched document (URL, CA file) maps to
/// one bit of the word (`jwks_document_bit`, a hash: two documents may share a bit, which costs
/// at most an early fetch of the other one, still under its cooldown). A worker's `ask` is a
/// `fetch_or` of that bit, plus a non-blocking write to the eventfd only when the bit was not
/// already set: a flood of tokens with random kids costs one atomic operation each and wakes
/// the refresh thread once. The refresh thread reads the word (`wanted`), clears the bits it is
/// about to serve (`take`) before fetching, so a request arriving during the fetch is kept for
/// the next round, and sleeps in `wait` (poll on the eventfd, bounded by a timeout). The eventfd
/// keeps its count until read, so a wake-up sent between the thread's last look at the word
/// and its sleep is not lost; `wake` serves the thread's other wake-ups (stop, policy load).
///
/// Which documents are actually fetched, and when (the cooldown), is JwksSource's decision
/// (jwks_source.h); this object only carries the requests.
///
/// Threads: `ask` from any thread (the JwtVerifier calls it, on its "unknown kid" path);
/// `wanted`, `take` and `wait` from the refresh thread; `wake` from any thread. It must outlive
/// every verifier built with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace tg::identity {

/// The bit that stands for the document fetched from `url` with `ca_file` (never 0).
std::uint64_t jwks_document_bit(std::string_view url, std::string_view ca_file);

class JwksRefreshRequests {
 public:
  JwksRefreshRequests();
  ~JwksRefreshRequests();
  JwksRefreshRequests(const JwksRefreshRequests&) = delete;
  JwksRefreshRequests& operator=(const JwksRefreshRequests&) = delete;

  /// Asks for an early fetch of the documents in `bits`. Lock-free; a system call (an eventfd
  /// write, which cannot block) only when some bit was not yet asked for.
  void ask(std::uint64_t bits);

  /// The documents asked for and not yet taken.
  std::uint64_t wanted() const { return wanted_.load(std::memory_order_acquire); }
  /// Clears `bits`: the refresh thread is serving them.
  void take(std::uint64_t bits) { wanted_.fetch_and(~bits, std::memory_order_acq_rel); }

  /// Wakes `wait` (now, or at its next call if none is under way).
  void wake();
  /// Sleeps until `ask` or `wake` (since the last wait), or `timeout_ms` passed.
  void wait(int timeout_ms);

 private:
  std::atomic<std::uint64_t> wanted_{0};
  int event_fd_ = -1;
};

}  // namespace tg::identity
