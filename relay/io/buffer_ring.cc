#include "relay/io/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>
#include <string>

namespace tg::io {

BufferRing::~BufferRing() {
  if (buffers_ring_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_id_);
    munmap(buffers_ring_, ring_bytes_);
  }
  delete[] memory_;
}

Status BufferRing::init(io_uring* ring, std::uint16_t group_id, unsigned count,
                        unsigned buffer_size) {
  ring_ = ring;
  group_id_ = group_id;
  count_ = count;
  buffer_size_ = buffer_size;
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* mapped =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) return make_error("cannot map the buffer ring");
  buffers_ring_ = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buffers_ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  if (int rc = io_uring_register_buf_ring(ring, &reg, 0); rc != 0) {
    munmap(buffers_ring_, ring_bytes_);
    buffers_ring_ = nullptr;
    return make_error(std::string("io_uring_register_buf_ring: ") + std::strerror(-rc));
  }
  memory_ = new char[static_cast<std::size_t>(count) * buffer_size];
  io_uring_buf_ring_init(buffers_ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buffers_ring_, memory_ + static_cast<std::size_t>(i) * buffer_size,
                          buffer_size, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffers_ring_, static_cast<int>(count));
  return Ok{};
}

std::string_view BufferRing::view(const io_uring_cqe& cqe) const {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  return {memory_ + static_cast<std::size_t>(id) * buffer_size_, static_cast<std::size_t>(cqe.res)};
}

void BufferRing::recycle(const io_uring_cqe& cqe) {
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  io_uring_buf_ring_add(buffers_ring_, memory_ + static_cast<std::size_t>(id) * buffer_size_,
                        buffer_size_, static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buffers_ring_, 1);
}

}  // namespace tg::io
