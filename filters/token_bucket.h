#pragma once

#include <cstdint>

namespace sipshield::filters {

// Token-bucket arithmetic in fixed point: one token is kTokenUnits units, so a rate as low as
// 0.001/s and a burst as high as 10^9 fit an int64 with no floating point per packet.
inline constexpr int64_t kTokenUnits = 1'000'000;

// BucketSpec is a rate limit said plainly: `rate` tokens per second refill a bucket that holds
// at most `burst` tokens; each packet takes one.
struct BucketSpec {
  int64_t units_per_ms = 0;  // rate * kTokenUnits / 1000
  int64_t capacity = 0;      // burst * kTokenUnits

  // make converts a rate per second and a burst (>= 1) to fixed point.
  static BucketSpec make(double rate_per_s, double burst) {
    BucketSpec spec;
    spec.units_per_ms = static_cast<int64_t>(rate_per_s * kTokenUnits / 1000.0 + 0.5);
    if (spec.units_per_ms < 1 && rate_per_s > 0) {
      spec.units_per_ms = 1;
    }
    spec.capacity = static_cast<int64_t>(burst * kTokenUnits);
    return spec;
  }
};

// refillAndTake refills `tokens` (last refilled at `last_ms`) up to the capacity for the time
// elapsed until `now_ms`, then takes one token if there is one. Returns true when it took one.
// A clock that goes backwards refills nothing. Allocation-free, branch-light.
inline bool refillAndTake(int64_t& tokens, uint64_t& last_ms, uint64_t now_ms,
                          const BucketSpec& spec) {
  if (now_ms > last_ms) {
    const uint64_t elapsed = now_ms - last_ms;
    // Cap elapsed so the product cannot overflow: a bucket idle that long is full anyway.
    const int64_t add = elapsed > (1ull << 30) ? spec.capacity
                                               : static_cast<int64_t>(elapsed) * spec.units_per_ms;
    tokens = tokens + add > spec.capacity ? spec.capacity : tokens + add;
    last_ms = now_ms;
  }
  if (tokens > spec.capacity) {
    tokens = spec.capacity;  // the burst was lowered by a reload
  }
  if (tokens >= kTokenUnits) {
    tokens -= kTokenUnits;
    return true;
  }
  return false;
}

}  // namespace sipshield::filters
