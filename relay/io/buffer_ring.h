/// A ring of provided receive buffers (IORING_REGISTER_PBUF_RING) for one worker's io_uring.
///
/// Receives name the buffer group instead of a buffer: the kernel picks a free buffer when
/// data actually arrives, so an idle connection holds no receive memory at all. The worker
/// hands each filled buffer to its connection, which copies what it needs (TLS decrypts into
/// its own record buffer anyway) and returns the buffer at once.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/base/result.h"

namespace tg::io {

class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  Status init(io_uring* ring, std::uint16_t group_id, unsigned count, unsigned buffer_size);
  std::uint16_t group_id() const { return group_id_; }

  /// The bytes a completion delivered (its flags carry the buffer id).
  std::string_view view(const io_uring_cqe& cqe) const;
  /// Gives the buffer of `cqe` back to the kernel.
  void recycle(const io_uring_cqe& cqe);

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* buffers_ring_ = nullptr;
  char* memory_ = nullptr;
  std::size_t ring_bytes_ = 0;
  unsigned count_ = 0;
  unsigned buffer_size_ = 0;
  std::uint16_t group_id_ = 0;
};

}  // namespace tg::io
