#include "filters/hop_count.h"

#include <gtest/gtest.h>

#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::kT0;

// Hop counts come from the nearest common initial TTL at or above the received one.
TEST(HopCount, InferHopsTable) {
  struct Row {
    uint8_t ttl;
    uint8_t hops;
  };
  const Row rows[] = {{0, 0},   {1, 31},   {32, 0},   {33, 31},  {50, 14},
                      {64, 0},  {100, 28}, {128, 0},  {129, 126}, {240, 15}, {255, 0}};
  for (const Row& r : rows) {
    EXPECT_EQ(inferHops(r.ttl), r.hops) << int(r.ttl);
  }
}

HopCountConfig config() {
  HopCountConfig c;
  c.enabled = true;
  c.min_samples = 4;
  c.tolerance = 1;
  return c;
}

// Learn while calm; after min_samples a TTL drift beyond tolerance is a mismatch, within
// tolerance it is consistent; other prefixes are unknown.
TEST(HopCountTable, LearnThenFlagDrift) {
  HopCountTable table(1024);
  const HopCountConfig c = config();
  const Address a = addr("192.0.2.10");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(table.check(c, a, 52, true, kT0 + i), HopOutcome::Unknown) << i;  // 12 hops
  }
  EXPECT_EQ(table.check(c, addr("192.0.2.99"), 52, false, kT0), HopOutcome::Consistent);
  EXPECT_EQ(table.check(c, a, 51, false, kT0), HopOutcome::Consistent);   // 13 hops: tolerated
  EXPECT_EQ(table.check(c, a, 60, false, kT0), HopOutcome::Mismatch);     // 4 hops
  EXPECT_EQ(table.check(c, a, 128, false, kT0), HopOutcome::Mismatch);    // 0 hops (Windows)
  EXPECT_EQ(table.check(c, addr("192.0.3.10"), 60, false, kT0), HopOutcome::Unknown);
  EXPECT_EQ(table.check(c, a, 0, false, kT0), HopOutcome::Unknown);       // TTL unknown
}

// Not learning (under attack), the spoofer's TTLs never displace what was learned.
TEST(HopCountTable, NoLearningUnderAttack) {
  HopCountTable table(1024);
  const HopCountConfig c = config();
  const Address a = addr("2001:db8:5::1");
  for (int i = 0; i < 10; ++i) {
    (void)table.check(c, a, 57, true, kT0);
  }
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(table.check(c, a, 100, false, kT0), HopOutcome::Mismatch);  // 28 hops
  }
  uint8_t hops = 0;
  uint16_t confidence = 0;
  ASSERT_TRUE(table.learnedHops(c, a, hops, confidence));
  EXPECT_EQ(hops, 7);
}

// While calm, a lasting route change wears the old count down and re-learns the new one.
TEST(HopCountTable, RouteChangeRelearns) {
  HopCountTable table(1024);
  const HopCountConfig c = config();
  const Address a = addr("198.51.100.1");
  for (int i = 0; i < 5; ++i) {
    (void)table.check(c, a, 60, true, kT0);  // 4 hops, confidence 5
  }
  int mismatches = 0;
  for (int i = 0; i < 20; ++i) {
    mismatches += table.check(c, a, 54, true, kT0) == HopOutcome::Mismatch ? 1 : 0;  // 10 hops
  }
  EXPECT_GT(mismatches, 0);
  EXPECT_EQ(table.check(c, a, 54, false, kT0), HopOutcome::Consistent);
}

}  // namespace
}  // namespace sipshield::filters
