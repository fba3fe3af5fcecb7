#pragma once

#include <cstdint>
#include <span>

#include "src/net/endpoint.h"

namespace sipshield {

// The packet model shared by the I/O backends and the pipeline. Backends fill RxPackets from
// their receive burst, call Pipeline::processBurst once, then transmit what it put in the
// TxBatch. Neither side knows the other's mechanics (io_uring, DPDK, pcap).

// RxPacket is one received UDP datagram; `data` stays valid for the burst.
struct RxPacket {
  const uint8_t* data = nullptr;
  uint32_t length = 0;
  net::Endpoint source;
  uint8_t local_index = 0;  // which listen address (socket) it arrived on
  uint8_t ttl = 0;          // IPv4 TTL or IPv6 hop limit; 0 when the backend could not tell
  // In-place mode: a backend that may transmit the received buffer itself (DPDK mbufs) sets
  // `writable` to `data` (same bytes, mutable) with the free bytes around them. The pipeline
  // may then rewrite the message inside [data - headroom, data + length + tailroom) and queue
  // a TxPacket that references this packet instead of a copy. Null: copy path only (uring).
  uint8_t* writable = nullptr;
  uint16_t headroom = 0;
  uint16_t tailroom = 0;
};

// TxPacket is one datagram to send: its bytes live in the batch's slot, or (in place) in the
// buffer of the received packet `in_place_of` points to.
struct TxPacket {
  uint8_t* data = nullptr;
  uint32_t length = 0;
  net::Endpoint destination;
  uint8_t local_index = 0;  // which listen address (socket) to send from
  // Non-null: `data` points into this RxPacket's buffer (rewritten in place), valid until the
  // backend has transmitted the batch; the backend sends that buffer rather than a copy.
  const RxPacket* in_place_of = nullptr;
  // In place: the last `unchanged_tail` bytes are the received ones, untouched where they
  // were (so a checksum of the received bytes can be reused for them).
  uint32_t unchanged_tail = 0;
};

// TxBatch is a fixed set of transmit slots, allocated once per worker. Not thread-safe: one
// per worker. The pipeline claims a slot, writes the datagram, then commits it.
class TxBatch {
 public:
  static constexpr uint32_t kSlotBytes = 65536;

  // Allocates `slots` buffers of kSlotBytes each (at start, never per packet).
  explicit TxBatch(uint32_t slots);
  ~TxBatch();
  TxBatch(const TxBatch&) = delete;
  TxBatch& operator=(const TxBatch&) = delete;

  // claim returns the next free slot's packet (data points at kSlotBytes of room), or
  // nullptr when the batch is full. Nothing is sent until commit().
  TxPacket* claim();
  // commit marks the claimed slot as ready with `length` bytes.
  void commit(uint32_t length);
  // commitInPlace marks the claimed slot as ready with `length` bytes at `data`, inside the
  // buffer of received packet `source` (whose `writable` bytes were rewritten in place), the
  // last `unchanged_tail` of them untouched since they were received.
  void commitInPlace(const RxPacket& source, uint8_t* data, uint32_t length,
                     uint32_t unchanged_tail = 0);

  [[nodiscard]] std::span<TxPacket> ready() { return {packets_, count_}; }
  [[nodiscard]] uint32_t size() const { return count_; }
  [[nodiscard]] uint32_t capacity() const { return slots_; }
  [[nodiscard]] bool full() const { return count_ == slots_; }
  void clear() { count_ = 0; }

 private:
  uint32_t slots_;
  uint32_t count_ = 0;
  uint8_t* memory_;
  TxPacket* packets_;

  [[nodiscard]] uint8_t* slotMemory(uint32_t index) const {
    return memory_ + static_cast<size_t>(index) * kSlotBytes;
  }
};

// BurstHandler is what an I/O backend drives: the pipeline implements it. One virtual call
// per burst, never per packet.
class BurstHandler {
 public:
  virtual ~BurstHandler() = default;
  // processBurst handles up to 32 received packets, appending what must be sent to `tx`.
  // `now_ns` is CLOCK_MONOTONIC read once for the burst. Called by one worker thread only.
  virtual void processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t now_ns) = 0;
  // idle is called when a poll found nothing, so timers (health, expiry) can advance.
  virtual void idle(TxBatch& tx, uint64_t now_ns) { (void)tx; (void)now_ns; }
};

inline constexpr uint32_t kMaxBurst = 32;

// The largest UDP payload over IPv4 (65535 - 20 - 8); the pipeline never writes more.
inline constexpr uint32_t kMaxUdpPayload = 65507;

}  // namespace sipshield
