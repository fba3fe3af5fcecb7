#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sipshield::filters {

// BucketEntry is one token bucket of a per-source or per-prefix rate limit.
struct BucketEntry {
  uint64_t key = 0;        // hashPrefix(source, len, rule name hash); 0 = empty slot
  uint64_t last_ms = 0;    // last refill
  int64_t tokens = 0;      // fixed point (token_bucket.h)
  uint32_t violations = 0; // empty-bucket hits in the current violation window
  uint32_t violation_window_start_s = 0;
};

// BucketTable is a fixed-size, set-associative table of token buckets: bounded memory whatever
// the number of distinct sources (a spoofed-source flood evicts old buckets instead of growing
// the table). Each key hashes to one set of kWays slots; a miss takes an empty slot or evicts
// the slot refilled longest ago (an idle bucket is full, so losing it costs nothing).
// Not thread-safe: one per worker.
class BucketTable {
 public:
  static constexpr uint32_t kWays = 4;

  // BucketTable allocates `capacity` slots (rounded up to a power of two, at least kWays), once.
  explicit BucketTable(uint32_t capacity);

  // acquire returns the bucket for `key`, inserting it full (`initial_tokens`) when absent.
  // `inserted` says which happened. The reference is valid until the next acquire().
  BucketEntry& acquire(uint64_t key, uint64_t now_ms, int64_t initial_tokens, bool& inserted);

  // find returns the bucket for `key` or nullptr. For tests and the control plane's view.
  [[nodiscard]] const BucketEntry* find(uint64_t key) const;

  [[nodiscard]] uint32_t capacity() const { return set_mask_ * kWays + kWays; }
  // memoryBytes is the table's footprint; constant for the table's life.
  [[nodiscard]] size_t memoryBytes() const { return sizeof(BucketEntry) * capacity(); }
  // evictions counts live buckets replaced by new keys (a sign of a many-source flood).
  [[nodiscard]] uint64_t evictions() const { return evictions_; }

 private:
  std::unique_ptr<BucketEntry[]> entries_;
  uint32_t set_mask_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace sipshield::filters
