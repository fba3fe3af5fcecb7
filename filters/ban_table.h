#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "filters/address.h"
#include "filters/verdict.h"

namespace sipshield::filters {

// BanEntry is one timed ban of an address or prefix, with why and which rule set it.
struct BanEntry {
  uint64_t key = 0;          // hashPrefix of `prefix`; 0 = empty slot
  uint64_t created_ms = 0;
  uint64_t expires_ms = 0;   // the ban is active while now < expires_ms
  uint64_t rule_id = 0;      // hashName of the rule that set it (stable across reloads)
  Prefix prefix;
  ShieldReason reason = ShieldReason::None;
  uint16_t rule = kNoRule;   // index of that rule in the rules current when it was set
};

// BanTable holds one worker's automatic bans (set by rate-limit, flood and scanner rules):
// fixed-size and set-associative, so a flood cannot grow it. When a set is full, the ban that
// expires first (an expired one before any live one) makes room. A lookup checks only the
// prefix lengths that currently have bans (usually /32 and /24, or /128 and /64), longest
// first. Not thread-safe: one per worker; the control plane learns of bans through
// FilterChain's ban-event ring and lifts them through OperatorBans (operator_bans.h).
class BanTable {
 public:
  static constexpr uint32_t kWays = 4;

  // BanTable allocates `capacity` slots (a power of two, at least kWays) once.
  explicit BanTable(uint32_t capacity);

  // ban bans `prefix` until `expires_ms` (extending an existing ban of the same prefix, never
  // shortening it). Returns true when the prefix was not banned before.
  bool ban(const Prefix& prefix, uint64_t now_ms, uint64_t expires_ms, ShieldReason reason,
           uint16_t rule, uint64_t rule_id);

  // match returns the longest active ban holding `address`, or nullptr. Allocation-free.
  [[nodiscard]] const BanEntry* match(const Address& address, uint64_t now_ms) const;

  // lift removes the ban of exactly `prefix` if it was set at or before `lifted_at_ms` (a ban
  // set again after the operator lifted it stays). Returns true when one was removed.
  bool lift(const Prefix& prefix, uint64_t lifted_at_ms);

  // activeCount scans the table and counts live bans at `now_ms` (tests, control plane).
  [[nodiscard]] size_t activeCount(uint64_t now_ms) const;

  // forEachActive calls `fn(const BanEntry&)` for each live ban. Same thread as the writer.
  template <typename Fn>
  void forEachActive(uint64_t now_ms, Fn&& fn) const {
    for (uint32_t i = 0; i < capacity(); ++i) {
      if (entries_[i].key != 0 && entries_[i].expires_ms > now_ms) {
        fn(entries_[i]);
      }
    }
  }

  [[nodiscard]] uint32_t capacity() const { return set_mask_ * kWays + kWays; }
  [[nodiscard]] size_t memoryBytes() const { return sizeof(BanEntry) * capacity(); }
  // evictions counts live bans pushed out by newer ones (the table is too small).
  [[nodiscard]] uint64_t evictions() const { return evictions_; }

 private:
  void addLength(const Prefix& prefix, int delta);
  BanEntry* set(uint64_t key) const {
    return &entries_[(static_cast<uint32_t>(key >> 32) & set_mask_) * kWays];
  }

  std::unique_ptr<BanEntry[]> entries_;
  uint32_t set_mask_ = 0;
  uint64_t evictions_ = 0;
  uint32_t length_refs_[2][129] = {};  // [v6][length]: slots holding a ban of that length
  uint8_t lengths_[2][129] = {};       // lengths in use, longest first
  uint8_t length_count_[2] = {};
};

}  // namespace sipshield::filters
