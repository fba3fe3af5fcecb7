#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sipshield::filters {

// CountMinSketch counts events per key in fixed memory (Cormode & Muthukrishnan 2005) with
// conservative update (Estan & Varghese 2002): an update raises only the rows holding the
// current minimum, which tightens the over-estimate. For N events, width w and depth d, an
// estimate never under-counts and over-counts by more than e*N/w with probability at most
// e^-d. Not thread-safe: one per worker.
class CountMinSketch {
 public:
  static constexpr uint32_t kMaxDepth = 8;

  // CountMinSketch allocates depth x width counters (width rounded up to a power of two,
  // depth clamped to 1..kMaxDepth) once.
  CountMinSketch(uint32_t width, uint32_t depth);

  // add counts one event of `key` (a well-mixed 64-bit hash) and returns its new estimate.
  uint32_t add(uint64_t key);

  // estimate returns the key's count estimate (>= the true count since the last clear()).
  [[nodiscard]] uint32_t estimate(uint64_t key) const;

  // clear zeroes every counter (a window roll-over).
  void clear();

  [[nodiscard]] uint32_t width() const { return mask_ + 1; }
  [[nodiscard]] uint32_t depth() const { return depth_; }
  [[nodiscard]] size_t memoryBytes() const { return size_t{depth_} * width() * sizeof(uint32_t); }

 private:
  [[nodiscard]] uint32_t column(uint64_t key, uint32_t row) const;

  std::unique_ptr<uint32_t[]> counters_;
  uint32_t mask_ = 0;
  uint32_t depth_ = 0;
};

}  // namespace sipshield::filters
