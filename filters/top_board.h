#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "filters/flood.h"

namespace sipshield::filters {

// TopBoardCopy is one consistent read of a TopBoard: a worker's heavy hitters at one moment.
struct TopBoardCopy {
  HeavyHitter entries[FloodDetector::kTopSize];
  uint32_t count = 0;
  uint64_t window_start_ms = 0;  // start of the sketch window the counts belong to
  uint64_t published_ms = 0;     // the worker's clock when it published them
};

// TopBoard hands one worker's flood-sketch top list to the control thread (`sipshieldctl top`)
// without a lock: a sequence lock over relaxed atomic words. The worker (one writer) publishes
// a copy now and then; a reader retries while a publication is in progress. Every word is an
// atomic, so a torn read is detected, never undefined behaviour.
//
// Thread-safety: publish from the owning worker only; read from any thread. Allocation-free.
class TopBoard {
 public:
  // publish copies `count` entries of `top` (at most kTopSize), their window start and the
  // current time `now_ms`. A few dozen relaxed stores: call it at most every few ms.
  void publish(const HeavyHitter* top, uint32_t count, uint64_t window_start_ms,
               uint64_t now_ms) {
    count = count > FloodDetector::kTopSize ? FloodDetector::kTopSize : count;
    const uint64_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    // Readers that see the new words must also see the odd sequence number.
    std::atomic_thread_fence(std::memory_order_release);
    for (uint32_t i = 0; i < count; ++i) {
      uint64_t w[kWordsPerEntry];
      encode(top[i], w);
      for (uint32_t k = 0; k < kWordsPerEntry; ++k) {
        words_[i * kWordsPerEntry + k].store(w[k], std::memory_order_relaxed);
      }
    }
    count_.store(count, std::memory_order_relaxed);
    window_start_ms_.store(window_start_ms, std::memory_order_relaxed);
    published_ms_.store(now_ms, std::memory_order_relaxed);
    seq_.store(seq + 2, std::memory_order_release);
  }

  // read fills `out` with the latest complete publication. Returns false when nothing was
  // published yet, or when the writer kept publishing through every retry (then `out` is
  // unspecified; try again later).
  bool read(TopBoardCopy& out) const {
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      const uint64_t before = seq_.load(std::memory_order_acquire);
      if (before == 0) {
        return false;
      }
      if ((before & 1) != 0) {
        continue;
      }
      const uint32_t count = count_.load(std::memory_order_relaxed);
      for (uint32_t i = 0; i < count && i < FloodDetector::kTopSize; ++i) {
        uint64_t w[kWordsPerEntry];
        for (uint32_t k = 0; k < kWordsPerEntry; ++k) {
          w[k] = words_[i * kWordsPerEntry + k].load(std::memory_order_relaxed);
        }
        out.entries[i] = decode(w);
      }
      out.count = count;
      out.window_start_ms = window_start_ms_.load(std::memory_order_relaxed);
      out.published_ms = published_ms_.load(std::memory_order_relaxed);
      // The loads above must complete before the sequence is checked again.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == before && count <= FloodDetector::kTopSize) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr uint32_t kWordsPerEntry = 3;
  static constexpr int kReadAttempts = 1000;

  static void encode(const HeavyHitter& h, uint64_t (&w)[kWordsPerEntry]) {
    std::memcpy(&w[0], h.prefix.address.bytes, 8);
    std::memcpy(&w[1], h.prefix.address.bytes + 8, 8);
    w[2] = uint64_t{h.prefix.address.v6} | (uint64_t{h.prefix.length} << 8) |
           (uint64_t{h.count} << 32);
  }
  static HeavyHitter decode(const uint64_t (&w)[kWordsPerEntry]) {
    HeavyHitter h;
    std::memcpy(h.prefix.address.bytes, &w[0], 8);
    std::memcpy(h.prefix.address.bytes + 8, &w[1], 8);
    h.prefix.address.v6 = static_cast<uint8_t>(w[2] & 0xff);
    h.prefix.length = static_cast<uint8_t>((w[2] >> 8) & 0xff);
    h.count = static_cast<uint32_t>(w[2] >> 32);
    return h;
  }

  std::atomic<uint64_t> seq_{0};  // odd while a publication is in progress
  std::atomic<uint32_t> count_{0};
  std::atomic<uint64_t> window_start_ms_{0};
  std::atomic<uint64_t> published_ms_{0};
  std::atomic<uint64_t> words_[FloodDetector::kTopSize * kWordsPerEntry] = {};
};

}  // namespace sipshield::filters
