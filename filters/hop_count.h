#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "filters/address.h"
#include "filters/packet_meta.h"

namespace sipshield::filters {

// HopCountConfig is the [shield.hop_count] rule: hop-count filtering (Jin, Wang & Shin, CCS
// 2003). A spoofer far away cannot easily forge the IP TTL a real source's packets arrive
// with, so each worker learns the hop count per source prefix while calm and flags packets
// whose hop count differs by more than `tolerance` once `min_samples` agreed.
struct HopCountConfig {
  RuleHeader header{"hop_count", {}, false, 0xffff};
  bool enabled = false;
  uint8_t prefix_v4 = 24;  // hosts of one /24 are usually the same hops away
  uint8_t prefix_v6 = 48;
  uint8_t tolerance = 2;
  uint16_t min_samples = 8;
};

// inferHops turns a received TTL into a hop count: operating systems start at 32, 64, 128 or
// 255, so the hops are the distance to the smallest of those >= ttl. 0 when ttl is unknown.
[[nodiscard]] constexpr uint8_t inferHops(uint8_t ttl) {
  if (ttl == 0) {
    return 0;
  }
  const uint8_t initial = ttl <= 32 ? 32 : (ttl <= 64 ? 64 : (ttl <= 128 ? 128 : 255));
  return static_cast<uint8_t>(initial - ttl);
}

// HopOutcome is what one packet's TTL says.
enum class HopOutcome : uint8_t {
  Unknown,     // no TTL, or the prefix has fewer than min_samples agreeing samples
  Consistent,  // within tolerance of the learned hop count
  Mismatch,    // outside tolerance: a likely spoofed source
};

// HopCountTable is one worker's learned hop counts per prefix: fixed-size, set-associative,
// least recently seen prefix evicted. Not thread-safe: one per worker.
class HopCountTable {
 public:
  static constexpr uint32_t kWays = 4;

  // HopCountTable allocates `capacity` slots (power of two, >= kWays) once.
  explicit HopCountTable(uint32_t capacity);

  // check compares `ttl` from `source` with what was learned for its prefix. When `learn` (the
  // worker is calm), it also trains: agreement raises confidence, disagreement lowers it, and
  // at zero confidence the new hop count replaces the old (a route change re-learns).
  [[nodiscard]] HopOutcome check(const HopCountConfig& config, const Address& source,
                                 uint8_t ttl, bool learn, uint64_t now_ms);

  // learnedHops returns the learned hop count and its confidence for `source`'s prefix
  // (false when none). For tests and the control plane.
  bool learnedHops(const HopCountConfig& config, const Address& source, uint8_t& hops,
                   uint16_t& confidence) const;

  [[nodiscard]] uint32_t capacity() const { return set_mask_ * kWays + kWays; }
  [[nodiscard]] size_t memoryBytes() const { return sizeof(Entry) * capacity(); }

 private:
  struct Entry {
    uint64_t key = 0;
    uint64_t last_ms = 0;
    uint16_t confidence = 0;
    uint8_t hops = 0;
  };
  Entry* set(uint64_t key) const {
    return &entries_[(static_cast<uint32_t>(key >> 32) & set_mask_) * kWays];
  }

  std::unique_ptr<Entry[]> entries_;
  uint32_t set_mask_ = 0;
};

}  // namespace sipshield::filters
