#include "filters/hop_count.h"

#include <bit>

namespace sipshield::filters {
namespace {
constexpr uint64_t kHopSeed = 0x40bc0u;
constexpr uint16_t kMaxConfidence = 1000;
}  // namespace

HopCountTable::HopCountTable(uint32_t capacity) {
  const uint32_t slots = std::bit_ceil(capacity < kWays ? kWays : capacity);
  set_mask_ = slots / kWays - 1;
  entries_ = std::make_unique<Entry[]>(slots);
}

HopOutcome HopCountTable::check(const HopCountConfig& config, const Address& source, uint8_t ttl,
                                bool learn, uint64_t now_ms) {
  if (ttl == 0) {
    return HopOutcome::Unknown;
  }
  const uint8_t hops = inferHops(ttl);
  const uint8_t length = source.v6 ? config.prefix_v6 : config.prefix_v4;
  const uint64_t key = hashPrefix(source, length, kHopSeed) | 1;
  Entry* ways = set(key);
  Entry* entry = nullptr;
  Entry* victim = &ways[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    if (ways[i].key == key) {
      entry = &ways[i];
      break;
    }
    if (ways[i].last_ms < victim->last_ms) {
      victim = &ways[i];
    }
  }
  if (entry == nullptr) {
    if (!learn) {
      return HopOutcome::Unknown;
    }
    *victim = Entry{key, now_ms, 1, hops};
    return HopOutcome::Unknown;
  }
  entry->last_ms = now_ms;
  const int diff = hops > entry->hops ? hops - entry->hops : entry->hops - hops;
  const bool agrees = diff <= config.tolerance;
  const bool trained = entry->confidence >= config.min_samples;
  if (learn) {
    if (agrees) {
      entry->confidence = entry->confidence < kMaxConfidence ? entry->confidence + 1
                                                             : kMaxConfidence;
    } else if (entry->confidence > 1) {
      entry->confidence--;
    } else {
      entry->hops = hops;
      entry->confidence = 1;
    }
  }
  if (!trained) {
    return HopOutcome::Unknown;
  }
  return agrees ? HopOutcome::Consistent : HopOutcome::Mismatch;
}

bool HopCountTable::learnedHops(const HopCountConfig& config, const Address& source,
                                uint8_t& hops, uint16_t& confidence) const {
  const uint8_t length = source.v6 ? config.prefix_v6 : config.prefix_v4;
  const uint64_t key = hashPrefix(source, length, kHopSeed) | 1;
  const Entry* ways = set(key);
  for (uint32_t i = 0; i < kWays; ++i) {
    if (ways[i].key == key) {
      hops = ways[i].hops;
      confidence = ways[i].confidence;
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::filters
