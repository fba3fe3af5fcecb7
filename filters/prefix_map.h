#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "filters/address.h"

namespace sipshield::filters {

// PrefixMap answers longest-prefix-match queries over a large, fixed set of IPv4 and IPv6
// CIDR prefixes (ACL allow/deny lists, trusted peers, operator bans): sized for 100k+ prefixes.
//
// Built once at load: the prefixes are flattened into disjoint address ranges, each carrying
// the value of its longest covering prefix, stored as a sorted array of range starts. A lookup
// is a binary search for the last start <= address, narrowed first by a 2^16-entry index on the
// top 16 address bits (so a full IPv4 table needs ~4 probes). Memory is 8 bytes per IPv4 range
// and 20 per IPv6 range plus two 256 KiB indexes; it never changes after build.
//
// Immutable after build(): lookups are thread-safe and allocation-free.
class PrefixMap {
 public:
  static constexpr uint32_t kNoMatch = 0xffffffffu;

  // Entry is one prefix and the value a lookup inside it returns.
  struct Entry {
    Prefix prefix;
    uint32_t value = 0;
  };

  PrefixMap();

  // build replaces the contents with `entries`. When the same prefix appears twice, the later
  // entry wins (callers order entries by precedence, e.g. deny after allow). A value of
  // kNoMatch is not allowed. Control plane only (allocates).
  void build(std::vector<Entry> entries);

  // lookup returns the value of the longest prefix holding `address`, or kNoMatch.
  [[nodiscard]] uint32_t lookup(const Address& address) const {
    return address.v6 ? lookupV6(address.v6Value()) : lookupV4(address.v4Value());
  }

  [[nodiscard]] size_t prefixCount() const { return prefix_count_; }
  [[nodiscard]] size_t rangeCount() const { return v4_starts_.size() + v6_starts_.size(); }
  [[nodiscard]] size_t memoryBytes() const;

 private:
  [[nodiscard]] uint32_t lookupV4(uint32_t address) const;
  [[nodiscard]] uint32_t lookupV6(Uint128 address) const;

  std::vector<uint32_t> v4_starts_;
  std::vector<uint32_t> v4_values_;
  std::vector<uint32_t> v4_index_;  // [k] = first range whose start >= k << 16; 65537 entries
  std::vector<Uint128> v6_starts_;
  std::vector<uint32_t> v6_values_;
  std::vector<uint32_t> v6_index_;  // same on the top 16 bits of the IPv6 address
  size_t prefix_count_ = 0;
};

}  // namespace sipshield::filters
