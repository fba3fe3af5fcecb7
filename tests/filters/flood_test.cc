#include "filters/flood.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <unordered_map>

#include "filters/count_min.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::kT0;

// Count-min never under-counts, and with conservative update the over-count of at least 99% of
// keys stays within e*N/w (the classic bound, which holds w.p. 1 - e^-d per key).
TEST(CountMinSketch, ErrorBounds) {
  constexpr uint32_t kWidth = 4096;
  CountMinSketch sketch(kWidth, 4);
  std::mt19937_64 rng(1);
  std::unordered_map<uint64_t, uint32_t> truth;
  uint64_t total = 0;
  // 200 heavy keys with 500 events each, 100k light keys with 1..3 events.
  for (uint64_t k = 0; k < 200; ++k) {
    for (int i = 0; i < 500; ++i) {
      sketch.add(mix64(k + 1));
      truth[mix64(k + 1)]++;
      ++total;
    }
  }
  for (uint64_t k = 0; k < 100000; ++k) {
    const uint64_t key = mix64(k + 1000000);
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) {
      sketch.add(key);
      truth[key]++;
      ++total;
    }
  }
  const double bound = std::exp(1.0) * static_cast<double>(total) / kWidth;
  size_t over_bound = 0;
  for (const auto& [key, count] : truth) {
    const uint32_t estimate = sketch.estimate(key);
    ASSERT_GE(estimate, count);
    if (estimate - count > bound) {
      ++over_bound;
    }
  }
  EXPECT_LE(over_bound, truth.size() / 100) << "bound " << bound;
  // Heavy keys are estimated closely: the sketch finds them.
  for (uint64_t k = 0; k < 200; ++k) {
    EXPECT_LE(sketch.estimate(mix64(k + 1)), 500 + bound);
  }
  sketch.clear();
  EXPECT_EQ(sketch.estimate(mix64(1)), 0u);
}

FloodConfig floodConfig() {
  FloodConfig config;
  config.enabled = true;
  config.window_ms = 1000;
  config.source_threshold = 100;
  config.prefix_threshold = 300;
  return config;
}

// A source over its threshold matches for the rest of the window; the next window starts over.
TEST(FloodDetector, WindowRollOver) {
  FloodDetector flood(4096, 4);
  const FloodConfig config = floodConfig();
  const Address a = addr("192.0.2.1");
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(flood.observe(config, a, kT0 + i), FloodMatch::None) << i;
  }
  EXPECT_EQ(flood.observe(config, a, kT0 + 500), FloodMatch::Source);
  EXPECT_EQ(flood.observe(config, a, kT0 + 999), FloodMatch::Source);
  // Window boundary: the count restarts.
  EXPECT_EQ(flood.observe(config, a, kT0 + 1000), FloodMatch::None);
  uint32_t count = 0;
  const HeavyHitter* top = flood.top(count);
  EXPECT_EQ(count, 0u);
  (void)top;
}

// Many sources of one /24, each under its own threshold, trip the prefix threshold.
TEST(FloodDetector, PrefixThreshold) {
  FloodDetector flood(4096, 4);
  const FloodConfig config = floodConfig();
  FloodMatch last = FloodMatch::None;
  for (int i = 0; i < 301; ++i) {
    last = flood.observe(config, Address::v4(0xc6336400u + static_cast<uint32_t>(i % 200)), kT0);
  }
  EXPECT_EQ(last, FloodMatch::Prefix);
  uint32_t count = 0;
  const HeavyHitter* top = flood.top(count);
  ASSERT_GE(count, 1u);
  bool found = false;
  for (uint32_t i = 0; i < count; ++i) {
    found = found || (top[i].prefix.length == 24 && top[i].count >= 300);
  }
  EXPECT_TRUE(found);
}

// IPv6 prefixes use prefix_v6 (/64): sources across one /64 add up, another /64 does not.
TEST(FloodDetector, Ipv6Prefixes) {
  FloodDetector flood(4096, 4);
  const FloodConfig config = floodConfig();
  for (int i = 0; i < 300; ++i) {
    Address a = addr("2001:db8:0:7::");
    a.bytes[15] = static_cast<uint8_t>(i);
    a.bytes[14] = static_cast<uint8_t>(i >> 8);
    (void)flood.observe(config, a, kT0);
  }
  EXPECT_EQ(flood.observe(config, addr("2001:db8:0:7::ffff"), kT0), FloodMatch::Prefix);
  EXPECT_EQ(flood.observe(config, addr("2001:db8:0:8::1"), kT0), FloodMatch::None);
}

}  // namespace
}  // namespace sipshield::filters
