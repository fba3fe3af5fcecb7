#include "filters/rate_limit.h"

#include <gtest/gtest.h>

#include "filters/token_bucket.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::kT0;

RateLimitRule makeRule(RateKey key, double rate, double burst, ActionKind kind = ActionKind::Drop,
                       uint32_t ban_after = 1) {
  RateLimitRule rule;
  rule.header.name = "r";
  rule.header.action.kind = kind;
  rule.key = key;
  rule.rate = rate;
  rule.burst = burst;
  rule.ban_after = ban_after;
  rule.finalize();
  return rule;
}

// A full bucket passes `burst` packets at once, then refills at `rate` per second.
TEST(TokenBucket, BurstThenRefillTable) {
  struct Row {
    const char* desc;
    double rate;
    double burst;
    uint64_t advance_ms;
    int passes_after_advance;
  };
  const Row rows[] = {
      {"10/s refills 1 per 100 ms", 10, 5, 100, 1},
      {"10/s refills 5 in 500 ms", 10, 5, 500, 5},
      {"refill caps at burst", 10, 5, 60000, 5},
      {"99 ms is not yet a token", 10, 5, 99, 0},
      {"0.5/s needs 2 s", 0.5, 1, 1999, 0},
      {"0.5/s after 2 s", 0.5, 1, 2000, 1},
      {"1000/s, 1 ms", 1000, 10, 1, 1},
  };
  for (const Row& r : rows) {
    const BucketSpec spec = BucketSpec::make(r.rate, r.burst);
    int64_t tokens = spec.capacity;
    uint64_t last = kT0;
    int initial = 0;
    while (refillAndTake(tokens, last, kT0, spec)) {
      ++initial;
    }
    EXPECT_EQ(initial, static_cast<int>(r.burst)) << r.desc;
    int later = 0;
    while (refillAndTake(tokens, last, kT0 + r.advance_ms, spec)) {
      ++later;
    }
    EXPECT_EQ(later, r.passes_after_advance) << r.desc;
  }
}

// A clock that steps back refills nothing and does not underflow.
TEST(TokenBucket, ClockBackwards) {
  const BucketSpec spec = BucketSpec::make(10, 1);
  int64_t tokens = 0;
  uint64_t last = kT0;
  EXPECT_FALSE(refillAndTake(tokens, last, kT0 - 500, spec));
  EXPECT_TRUE(refillAndTake(tokens, last, kT0 + 100, spec));
}

// Per-source buckets are independent; per-prefix buckets are shared by the /24 (v4) or
// /64 (v6).
TEST(RateLimiter, SourceAndPrefixKeysTable) {
  struct Row {
    const char* desc;
    RateKey key;
    const char* first;
    const char* second;
    bool second_shares_bucket;
  };
  const Row rows[] = {
      {"source: two hosts", RateKey::Source, "192.0.2.1", "192.0.2.2", false},
      {"prefix: same /24", RateKey::Prefix, "192.0.2.1", "192.0.2.200", true},
      {"prefix: other /24", RateKey::Prefix, "192.0.2.1", "192.0.3.1", false},
      {"prefix: same /64", RateKey::Prefix, "2001:db8:0:1::1", "2001:db8:0:1:ffff::9", true},
      {"prefix: other /64", RateKey::Prefix, "2001:db8:0:1::1", "2001:db8:0:2::1", false},
      {"source: v6 hosts in one /64", RateKey::Source, "2001:db8::1", "2001:db8::2", false},
  };
  for (const Row& r : rows) {
    RateLimiter limiter(1024);
    const RateLimitRule rule = makeRule(r.key, 1, 3);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(limiter.take(rule, addr(r.first), kT0), RateOutcome::Pass) << r.desc;
    }
    EXPECT_EQ(limiter.take(rule, addr(r.first), kT0), RateOutcome::Exceeded) << r.desc;
    EXPECT_EQ(limiter.take(rule, addr(r.second), kT0),
              r.second_shares_bucket ? RateOutcome::Exceeded : RateOutcome::Pass)
        << r.desc;
  }
}

// Rules with different names never share a bucket, even for the same source.
TEST(RateLimiter, RulesHaveOwnBuckets) {
  RateLimiter limiter(1024);
  RateLimitRule a = makeRule(RateKey::Source, 1, 1);
  RateLimitRule b = makeRule(RateKey::Source, 1, 1);
  b.header.name = "other";
  b.finalize();
  EXPECT_EQ(limiter.take(a, addr("192.0.2.1"), kT0), RateOutcome::Pass);
  EXPECT_EQ(limiter.take(a, addr("192.0.2.1"), kT0), RateOutcome::Exceeded);
  EXPECT_EQ(limiter.take(b, addr("192.0.2.1"), kT0), RateOutcome::Pass);
}

// ban_after counts violations inside the window; the window rolls over.
TEST(RateLimiter, BanAfterViolations) {
  RateLimiter limiter(1024);
  RateLimitRule rule = makeRule(RateKey::Source, 0.001, 1, ActionKind::Ban, 3);
  rule.violation_window_s = 10;
  const Address a = addr("198.51.100.9");
  EXPECT_EQ(limiter.take(rule, a, kT0), RateOutcome::Pass);
  EXPECT_EQ(limiter.take(rule, a, kT0), RateOutcome::Exceeded);
  EXPECT_EQ(limiter.take(rule, a, kT0 + 1000), RateOutcome::Exceeded);
  // 11 s later the first two violations are outside the window: counting starts again.
  EXPECT_EQ(limiter.take(rule, a, kT0 + 11000), RateOutcome::Exceeded);
  EXPECT_EQ(limiter.take(rule, a, kT0 + 11001), RateOutcome::Exceeded);
  EXPECT_EQ(limiter.take(rule, a, kT0 + 11002), RateOutcome::Ban);
}

// The table never grows: a million distinct sources evict old buckets instead.
TEST(BucketTable, BoundedUnderManySources) {
  RateLimiter limiter(1024);
  const size_t before = limiter.table().memoryBytes();
  const RateLimitRule rule = makeRule(RateKey::Source, 1, 1);
  for (uint32_t i = 0; i < 1000000; ++i) {
    (void)limiter.take(rule, Address::v4(0x0a000000u + i), kT0 + i / 1000);
  }
  EXPECT_EQ(limiter.table().memoryBytes(), before);
  EXPECT_EQ(limiter.table().capacity(), 1024u);
  EXPECT_GE(limiter.table().evictions(), 1000000u - 1024u);
}

}  // namespace
}  // namespace sipshield::filters
