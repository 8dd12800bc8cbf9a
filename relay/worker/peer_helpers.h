/// Small helpers the worker's parts share: how a peer's address is written in logs, the
/// socket option every accepted connection gets, and the wall clock in milliseconds.
/// Header-only, so each part inlines them as before the split.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace tg::worker_detail {

inline std::uint64_t epoch_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

inline std::string address_text(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
    port = ntohs(in4.sin_port);
    return std::string(text) + ":" + std::to_string(port);
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
  inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  port = ntohs(in6.sin6_port);
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

inline void set_nodelay(int fd) {
  // Nagle against delayed ACKs costs tens of milliseconds per small exchange (SSH key
  // exchange, JSON-RPC replies, SSE events): every socket sends at once.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace tg::worker_detail
