/// Open HTTPS connections per source address, counted by the worker that accepted them.
///
/// A stranger with one address must not be able to take every descriptor and every
/// connection slot of the relay. Each worker counts the sockets it accepted, keyed by the
/// peer's address (IPv4 whole, IPv6 by its /64, since one host commonly holds a whole /64),
/// and refuses a connection beyond `cap` before any TLS work. The count follows the socket
/// wherever it is handed: the worker that finally closes it tells the accepting worker.
///
/// The kernel spreads one source's connections over the workers (SO_REUSEPORT), so the cap is
/// per accepting worker: a source may hold up to `cap` × workers connections in all. Only
/// sources with an open connection have an entry, and the table holds `max_sources` entries at
/// most (a source beyond that is refused too); an entry costs about 64 bytes.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace tg {

/// An address as the cap sees it: 16 bytes (IPv4 as ::ffff:a.b.c.d, IPv6 cut to its /64).
struct SourceKey {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const SourceKey&) const = default;
  static SourceKey of(const sockaddr_storage& peer);
};

class SourceLimiter {
 public:
  /// `cap` 0 counts nothing and admits everyone.
  explicit SourceLimiter(std::uint32_t cap, std::size_t max_sources = 1 << 20)
      : cap_(cap), max_sources_(max_sources) {}

  /// Counts one more connection from `key`; false (and nothing counted) when that would pass
  /// the cap or the table is full.
  bool admit(const SourceKey& key);
  /// One connection counted by `admit` has closed.
  void release(const SourceKey& key);

  std::uint32_t open_from(const SourceKey& key) const;
  std::size_t sources() const { return counts_.size(); }

 private:
  struct Hash {
    std::size_t operator()(const SourceKey& key) const;
  };
  std::uint32_t cap_;
  std::size_t max_sources_;
  std::unordered_map<SourceKey, std::uint32_t, Hash> counts_;
};

}  // namespace tg
