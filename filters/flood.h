#pragma once

#include <cstdint>

#include "filters/address.h"
#include "filters/count_min.h"
#include "filters/packet_meta.h"

namespace sipshield::filters {

// FloodConfig is the [shield.flood] rule: heavy-hitter detection in bounded memory. Each
// worker counts packets per source and per source prefix in a count-min sketch over fixed
// windows; a source (or prefix) whose count in the current window passes its threshold matches
// (action "ban" by default: a timed ban, so the packets after it stop at the cheap ban check).
// Trusted sources are counted but never matched.
struct FloodConfig {
  RuleHeader header{"flood", {ActionKind::Ban, 60, 32, 128, 503, 5}, false, 0xffff};
  bool enabled = false;
  uint32_t window_ms = 1000;
  uint32_t source_threshold = 500;    // packets per window per source address (per worker)
  uint32_t prefix_threshold = 5000;   // packets per window per prefix (per worker); 0 = off
  uint8_t prefix_v4 = 24;
  uint8_t prefix_v6 = 64;
};

// FloodMatch says which key of a packet went over its threshold.
enum class FloodMatch : uint8_t { None, Source, Prefix };

// HeavyHitter is one entry of the per-window top list (for `sipshieldctl top`).
struct HeavyHitter {
  Prefix prefix;
  uint32_t count = 0;  // sketch estimate in the window it was recorded
};

// FloodDetector is one worker's sketch, window clock and top list: memory fixed at
// construction (depth x width x 4 bytes + the top list) whatever the number of sources.
// Not thread-safe: one per worker.
class FloodDetector {
 public:
  static constexpr uint32_t kTopSize = 16;

  // FloodDetector allocates a sketch of `width` x `depth` counters once.
  FloodDetector(uint32_t width, uint32_t depth) : sketch_(width, depth) {}

  // observe counts one packet from `source` at `now_ms` (rolling the window when it has
  // passed) and says whether the source or its prefix is over its threshold.
  [[nodiscard]] FloodMatch observe(const FloodConfig& config, const Address& source,
                                   uint64_t now_ms);

  // top returns the heaviest keys seen over threshold/2 in the current window (unordered).
  [[nodiscard]] const HeavyHitter* top(uint32_t& count) const {
    count = top_count_;
    return top_;
  }
  [[nodiscard]] uint64_t windowStartMs() const { return window_start_ms_; }
  [[nodiscard]] const CountMinSketch& sketch() const { return sketch_; }
  [[nodiscard]] size_t memoryBytes() const { return sketch_.memoryBytes() + sizeof(top_); }

 private:
  void offerTop(const Prefix& prefix, uint32_t count);

  CountMinSketch sketch_;
  uint64_t window_start_ms_ = 0;
  HeavyHitter top_[kTopSize];
  uint32_t top_count_ = 0;
};

}  // namespace sipshield::filters
