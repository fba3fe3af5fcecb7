#include "lb/maglev.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace sipshield::lb {
namespace {

// makeBackends gives backends the identity a pool would: hashes of "backend-<i>".
std::vector<MaglevBackend> makeBackends(const std::vector<uint32_t>& weights,
                                        uint32_t name_offset = 0) {
  std::vector<MaglevBackend> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string name = "backend-" + std::to_string(i + name_offset);
    const uint64_t h = XXH3_64bits(name.data(), name.size());
    out.push_back(MaglevBackend{static_cast<uint32_t>(h >> 32), weights[i], h});
  }
  return out;
}

std::vector<uint32_t> countSlots(const std::vector<uint16_t>& table, size_t n) {
  std::vector<uint32_t> counts(n, 0);
  for (uint16_t e : table) {
    counts.at(e)++;
  }
  return counts;
}

// Invalid inputs are config errors, reported as InvalidArgument rather than a partial table.
TEST(MaglevBuild, RejectsInvalidInput) {
  struct Row {
    const char* desc;
    std::vector<uint32_t> weights;
    uint32_t size;
  };
  const Row rows[] = {
      {"empty backend list", {}, 65537},
      {"table size not prime", {1, 1}, 65536},
      {"table size 1", {1}, 1},
      {"table size 0", {1}, 0},
      {"all weights zero", {0, 0, 0}, 65537},
      {"table smaller than backend count", {1, 1, 1, 1, 1}, 3},
  };
  for (const Row& r : rows) {
    auto backends = makeBackends(r.weights);
    auto t = buildMaglevTable(backends, r.size);
    EXPECT_FALSE(t.ok()) << r.desc;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::InvalidArgument) << r.desc;
    }
    auto mt = MaglevTable::build(backends, r.size);
    EXPECT_FALSE(mt.ok()) << r.desc;
  }
}

TEST(MaglevBuild, PrimeCheck) {
  const struct {
    uint32_t n;
    bool prime;
  } rows[] = {{0, false}, {1, false},     {2, true},      {3, true},        {4, false},
              {9, false}, {65537, true},  {65536, false}, {65539, true},    {65541, false},
              {251, true}, {4294967291u, true}, {4294967295u, false}};
  for (const auto& r : rows) {
    EXPECT_EQ(isPrime(r.n), r.prime) << r.n;
  }
}

// A single backend owns every slot and has no fallback.
TEST(MaglevBuild, SingleBackendOwnsEverything) {
  auto backends = makeBackends({7});
  auto t = MaglevTable::build(backends, 65537);
  ASSERT_TRUE(t.ok()) << t.status().toString();
  for (uint32_t s = 0; s < t->size(); ++s) {
    ASSERT_EQ(t->primary(s), 0);
    ASSERT_EQ(t->fallback(s), kNoBackend);
  }
}

// Every slot is filled with a backend of weight > 0, for several shapes and sizes.
TEST(MaglevBuild, NoHolesAndNoZeroWeightOwners) {
  struct Row {
    const char* desc;
    std::vector<uint32_t> weights;
    uint32_t size;
  };
  const Row rows[] = {
      {"ten equal", std::vector<uint32_t>(10, 1), 65537},
      {"zero weight in the middle", {3, 0, 3, 0, 1}, 65537},
      {"small prime", {1, 1, 1}, 13},
      {"as many slots as backends", {1, 1, 1, 1, 1, 1, 1}, 7},
      {"heavy skew", {1000000, 1}, 65537},
      {"hundred mixed", [] {
         std::vector<uint32_t> w;
         for (uint32_t i = 0; i < 100; ++i) {
           w.push_back(1 + i % 5);
         }
         return w;
       }(),
       65537},
  };
  for (const Row& r : rows) {
    auto backends = makeBackends(r.weights);
    auto t = buildMaglevTable(backends, r.size);
    ASSERT_TRUE(t.ok()) << r.desc;
    ASSERT_EQ(t->size(), r.size) << r.desc;
    for (uint16_t e : *t) {
      ASSERT_LT(e, r.weights.size()) << r.desc;
      ASSERT_GT(r.weights[e], 0u) << r.desc;
    }
  }
}

// The build is a pure function: same input, same table; a different seed, a different table.
TEST(MaglevBuild, Deterministic) {
  auto backends = makeBackends({1, 2, 3, 4, 5});
  auto a = buildMaglevTable(backends);
  auto b = buildMaglevTable(backends);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  backends[2].seed ^= 1;
  auto c = buildMaglevTable(backends);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(*a, *c);
}

// Slot shares follow weight shares: within 1% of the expected count (and within 2 slots, which
// is what the credit-per-round scheme achieves).
TEST(MaglevBuild, WeightSkew) {
  const std::vector<std::vector<uint32_t>> rows = {
      {1, 2, 3, 4}, {1, 1, 10}, {5, 0, 5}, {100, 1}, {7, 13, 29, 1, 1, 50}, {3, 3, 3, 4}};
  for (const auto& weights : rows) {
    auto backends = makeBackends(weights);
    auto t = buildMaglevTable(backends, 65537);
    ASSERT_TRUE(t.ok());
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    auto counts = countSlots(*t, weights.size());
    for (size_t i = 0; i < weights.size(); ++i) {
      const double expected = 65537.0 * weights[i] / total;
      EXPECT_LE(std::abs(counts[i] - expected), std::max(2.0, 0.01 * expected))
          << "weights row starting " << weights[0] << " backend " << i << " got " << counts[i]
          << " expected " << expected;
      EXPECT_LE(std::abs(counts[i] - expected), 2.0) << "backend " << i;
    }
  }
}

// Equal weights: every backend gets floor or ceil of M/N slots (spread at most 1).
TEST(MaglevBuild, EqualWeightsSpreadAtMostOne) {
  for (uint32_t n : {2u, 3u, 7u, 10u, 64u, 100u, 1000u}) {
    auto backends = makeBackends(std::vector<uint32_t>(n, 5));
    auto t = buildMaglevTable(backends, 65537);
    ASSERT_TRUE(t.ok());
    auto counts = countSlots(*t, n);
    auto [mn, mx] = std::minmax_element(counts.begin(), counts.end());
    EXPECT_LE(*mx - *mn, 1u) << "n=" << n;
  }
}

uint32_t movedSlots(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b,
                    const std::vector<MaglevBackend>& ba, const std::vector<MaglevBackend>& bb) {
  // Compare by backend identity, not index, so removals that shift indices are handled.
  uint32_t moved = 0;
  for (size_t s = 0; s < a.size(); ++s) {
    if (ba[a[s]].seed != bb[b[s]].seed) {
      ++moved;
    }
  }
  return moved;
}

// Adding one backend to ten should move close to 1/11 of the slots (the ideal minimum); we
// allow 1.5x that. Removing one of eleven moves its own 1/11 plus a little.
TEST(MaglevBuild, DisruptionOnAddAndRemove) {
  auto ten = makeBackends(std::vector<uint32_t>(10, 1));
  auto eleven = makeBackends(std::vector<uint32_t>(11, 1));
  auto t10 = buildMaglevTable(ten, 65537);
  auto t11 = buildMaglevTable(eleven, 65537);
  ASSERT_TRUE(t10.ok());
  ASSERT_TRUE(t11.ok());
  const uint32_t moved_add = movedSlots(*t10, *t11, ten, eleven);
  EXPECT_GE(moved_add, 65537u / 11 - 50);
  EXPECT_LT(moved_add, 65537.0 / 11 * 1.5) << "moved " << moved_add;

  // Remove backend 4 of the eleven.
  std::vector<MaglevBackend> removed = eleven;
  removed.erase(removed.begin() + 4);
  auto tr = buildMaglevTable(removed, 65537);
  ASSERT_TRUE(tr.ok());
  const uint32_t moved_rm = movedSlots(*t11, *tr, eleven, removed);
  EXPECT_LT(moved_rm, 65537.0 / 11 * 1.5) << "moved " << moved_rm;
  ::testing::Test::RecordProperty("moved_add", moved_add);
  ::testing::Test::RecordProperty("moved_remove", moved_rm);
}

// The per-slot fallback is exactly "the table without that slot's primary".
TEST(MaglevFallback, MatchesRebuildWithoutPrimary) {
  auto backends = makeBackends({1, 2, 1, 3, 1});
  auto t = MaglevTable::build(backends, 65537);
  ASSERT_TRUE(t.ok());
  for (uint16_t failed = 0; failed < backends.size(); ++failed) {
    auto without = backends;
    without[failed].weight = 0;
    auto rebuilt = buildMaglevTable(without, 65537);
    ASSERT_TRUE(rebuilt.ok());
    for (uint32_t s = 0; s < t->size(); ++s) {
      if (t->primary(s) == failed) {
        ASSERT_EQ(t->fallback(s), (*rebuilt)[s]) << "slot " << s;
        ASSERT_NE(t->fallback(s), failed);
      }
    }
  }
}

// Failover spread (issue requirement): when any one of N equal backends is down, its keys
// spread over the others with no survivor taking more than 1.3x its fair share of them.
TEST(MaglevFallback, FailoverSpreadEqualWeights) {
  double worst = 0;
  for (uint32_t n = 3; n <= 10; ++n) {
    auto backends = makeBackends(std::vector<uint32_t>(n, 1));
    auto t = MaglevTable::build(backends, 65537);
    ASSERT_TRUE(t.ok());
    for (uint16_t failed = 0; failed < n; ++failed) {
      std::vector<uint32_t> got(n, 0);
      uint32_t orphaned = 0;
      for (uint32_t s = 0; s < t->size(); ++s) {
        if (t->primary(s) == failed) {
          ++orphaned;
          const uint16_t fb = t->fallback(s);
          ASSERT_LT(fb, n);
          ASSERT_NE(fb, failed);
          got[fb]++;
        }
      }
      const double fair = static_cast<double>(orphaned) / (n - 1);
      for (uint16_t b = 0; b < n; ++b) {
        if (b == failed) {
          continue;
        }
        worst = std::max(worst, got[b] / fair);
        EXPECT_LE(got[b], 1.3 * fair) << "n=" << n << " failed=" << failed << " b=" << b;
      }
    }
  }
  ::testing::Test::RecordProperty("worst_ratio_x1000", static_cast<int>(worst * 1000));
  std::printf("failover spread: worst survivor ratio %.3f of fair share\n", worst);
}

// Weighted failover: survivors take the orphaned keys in proportion to their weights.
TEST(MaglevFallback, FailoverSpreadWeighted) {
  const std::vector<uint32_t> weights = {1, 2, 3, 4, 2, 1};
  auto backends = makeBackends(weights);
  auto t = MaglevTable::build(backends, 65537);
  ASSERT_TRUE(t.ok());
  for (uint16_t failed = 0; failed < weights.size(); ++failed) {
    std::vector<uint32_t> got(weights.size(), 0);
    uint32_t orphaned = 0;
    for (uint32_t s = 0; s < t->size(); ++s) {
      if (t->primary(s) == failed) {
        ++orphaned;
        got[t->fallback(s)]++;
      }
    }
    const double surviving_weight =
        std::accumulate(weights.begin(), weights.end(), 0.0) - weights[failed];
    for (uint16_t b = 0; b < weights.size(); ++b) {
      if (b == failed) {
        continue;
      }
      const double fair = orphaned * weights[b] / surviving_weight;
      EXPECT_LE(got[b], 1.3 * fair) << "failed=" << failed << " b=" << b;
    }
  }
}

// Lemire reduction stays in range and uses the whole range.
TEST(MaglevSlot, InRangeAndCovering) {
  std::vector<uint8_t> seen(65537, 0);
  for (uint64_t i = 0; i < 2000000; ++i) {
    const uint32_t s = maglevSlot(XXH3_64bits(&i, sizeof(i)), 65537);
    ASSERT_LT(s, 65537u);
    seen[s] = 1;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 65537);
  EXPECT_EQ(maglevSlot(~0ULL, 65537), 65536u);
  EXPECT_EQ(maglevSlot(0, 65537), 0u);
}

}  // namespace
}  // namespace sipshield::lb
