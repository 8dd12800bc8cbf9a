// JwksRefreshRequests: one atomic word of wanted documents and an eventfd to wake the refresh
// thread (Linux eventfd(2), EFD_NONBLOCK so that a writer can never block).
#include "relay/identity/jwks_refresh_requests.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace tg::identity {

std::uint64_t jwks_document_bit(std::string_view url, std::string_view ca_file) {
  // FNV-1a over "url\0ca_file": stable, cheap, and spread well enough over 64 bits.
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char byte : text) {
      hash ^= byte;
      hash *= 1099511628211ull;
    }
  };
  mix(url);
  mix(std::string_view("\0", 1));
  mix(ca_file);
  return std::uint64_t{1} << (hash % 64);
}

JwksRefreshRequests::JwksRefreshRequests() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

JwksRefreshRequests::~JwksRefreshRequests() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

void JwksRefreshRequests::ask(std::uint64_t bits) {
  // Already asked for (a flood of unknown kids): a plain load, so the workers do not take
  // turns owning the word's cache line.
  if ((wanted_.load(std::memory_order_relaxed) & bits) == bits) return;
  const std::uint64_t before = wanted_.fetch_or(bits, std::memory_order_acq_rel);
  if ((before & bits) != bits) wake();
}

void JwksRefreshRequests::wake() {
  if (event_fd_ < 0) return;  // no eventfd (out of descriptors at start): `wait` is bounded
  const std::uint64_t one = 1;
  // Fails only with EAGAIN, at a count of 2^64-2 unread wake-ups: the thread is awake anyway.
  [[maybe_unused]] const ssize_t written = ::write(event_fd_, &one, sizeof one);
}

void JwksRefreshRequests::wait(int timeout_ms) {
  pollfd watched{event_fd_, POLLIN, 0};
  // A negative fd is ignored by poll, which then only sleeps.
  if (::poll(&watched, 1, timeout_ms) > 0 && (watched.revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t read = ::read(event_fd_, &count, sizeof count);
  }
}

}  // namespace tg::identity
