#pragma once

#include <cstdint>
#include <string>

namespace sipshield::filters {

// StateSizes fixes the shield's tables at construction: memory never grows after it. All but
// `nonces` are per worker (each FilterChain allocates its own); `nonces` sizes the one
// NonceTable shared by every worker (SharedShieldState). Defaults total ~6 MiB per worker plus
// 1 MiB shared. Set from [shield.tables] (src/shield_config.cc); changing them needs a
// restart: the tables are allocated once, when the workers start, and a reload keeps them.
struct StateSizes {
  uint32_t buckets = 1u << 16;       // token buckets (32 B each)
  uint32_t bans = 1u << 14;          // automatic bans (56 B each)
  uint32_t verified = 1u << 16;      // verified sources (40 B each)
  uint32_t hop_prefixes = 1u << 15;  // learned hop counts (24 B each)
  uint32_t sketch_width = 1u << 14;  // count-min columns (4 B per row each)
  uint32_t sketch_depth = 4;         // count-min rows
  uint32_t nonces = 1u << 16;        // relayed 401/407 nonces, shared (16 B each)

  friend bool operator==(const StateSizes&, const StateSizes&) = default;
};

// StateSizeLimits are the bounds the config accepts for each table: powers of two (the tables
// index sets by mask), at least kMinEntries, at most the cap (a typo such as an extra zero
// must not allocate gigabytes per worker).
struct StateSizeLimits {
  static constexpr uint32_t kMinEntries = 16;
  static constexpr uint32_t kMaxBuckets = 1u << 24;      // 512 MiB per worker
  static constexpr uint32_t kMaxBans = 1u << 22;         // 224 MiB per worker
  static constexpr uint32_t kMaxVerified = 1u << 24;     // 640 MiB per worker
  static constexpr uint32_t kMaxHopPrefixes = 1u << 24;  // 384 MiB per worker
  static constexpr uint32_t kMaxSketchWidth = 1u << 22;  // 16 MiB per row per worker
  static constexpr uint32_t kMaxSketchDepth = 8;         // CountMinSketch::kMaxDepth
  static constexpr uint32_t kMaxNonces = 1u << 24;       // 256 MiB shared
};

// describeStateSizes prints the sizes ("buckets 65536, bans 16384, ...") for logs and
// config renderings. Thread-safe; control plane only (allocates).
[[nodiscard]] inline std::string describeStateSizes(const StateSizes& s) {
  return "buckets " + std::to_string(s.buckets) + ", bans " + std::to_string(s.bans) +
         ", verified " + std::to_string(s.verified) + ", hop_prefixes " +
         std::to_string(s.hop_prefixes) + ", sketch " + std::to_string(s.sketch_width) + "x" +
         std::to_string(s.sketch_depth) + ", nonces " + std::to_string(s.nonces);
}

}  // namespace sipshield::filters
