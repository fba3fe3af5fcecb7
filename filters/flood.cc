#include "filters/flood.h"

namespace sipshield::filters {

namespace {
constexpr uint64_t kSourceSeed = 0x5eed50u;
constexpr uint64_t kPrefixSeed = 0x5eed9fu;
}  // namespace

FloodMatch FloodDetector::observe(const FloodConfig& config, const Address& source,
                                  uint64_t now_ms) {
  if (now_ms - window_start_ms_ >= config.window_ms || now_ms < window_start_ms_) {
    sketch_.clear();
    top_count_ = 0;
    window_start_ms_ = now_ms;
  }
  const uint8_t full = source.maxLength();
  const uint32_t source_count = sketch_.add(hashPrefix(source, full, kSourceSeed));
  FloodMatch match = FloodMatch::None;
  if (source_count > config.source_threshold / 2) {
    offerTop(prefixOf(source, full), source_count);
  }
  if (source_count > config.source_threshold) {
    match = FloodMatch::Source;
  }
  if (config.prefix_threshold != 0) {
    const uint8_t length = source.v6 ? config.prefix_v6 : config.prefix_v4;
    const uint32_t prefix_count = sketch_.add(hashPrefix(source, length, kPrefixSeed));
    if (prefix_count > config.prefix_threshold / 2) {
      offerTop(prefixOf(source, length), prefix_count);
    }
    if (match == FloodMatch::None && prefix_count > config.prefix_threshold) {
      match = FloodMatch::Prefix;
    }
  }
  return match;
}

void FloodDetector::offerTop(const Prefix& prefix, uint32_t count) {
  uint32_t smallest = 0;
  for (uint32_t i = 0; i < top_count_; ++i) {
    if (top_[i].prefix == prefix) {
      top_[i].count = count;
      return;
    }
    if (top_[i].count < top_[smallest].count) {
      smallest = i;
    }
  }
  if (top_count_ < kTopSize) {
    top_[top_count_++] = {prefix, count};
  } else if (top_[smallest].count < count) {
    top_[smallest] = {prefix, count};
  }
}

}  // namespace sipshield::filters
