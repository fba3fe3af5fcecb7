#include "lb/affinity_table.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sipshield::lb {
namespace {

constexpr uint64_t kTimeoutMs = 60 * 1000;

std::unique_ptr<AffinityTable> makeTable(uint32_t capacity = 1u << 12,
                                         uint64_t timeout_ms = kTimeoutMs) {
  auto t = AffinityTable::create(AffinityConfig{capacity, timeout_ms});
  EXPECT_TRUE(t.ok()) << t.status().toString();
  return std::move(t).value();
}

uint64_t keyOf(uint64_t i) { return XXH3_64bits(&i, sizeof(i)); }

// keyInBucket builds distinct keys that all land in bucket `bucket` (different fingerprints).
uint64_t keyInBucket(uint32_t bucket, uint64_t n) { return ((n + 1) << 40) | bucket; }

// Capacity and timeout are validated at creation, never on the fast path.
TEST(AffinityTable, RejectsBadConfig) {
  const struct {
    const char* desc;
    AffinityConfig config;
  } rows[] = {
      {"not a power of two", {1000, kTimeoutMs}},
      {"smaller than a bucket", {4, kTimeoutMs}},
      {"zero capacity", {0, kTimeoutMs}},
      {"zero timeout", {1024, 0}},
      {"timeout beyond the tick range", {1024, kAffinityMaxTimeoutMs}},
  };
  for (const auto& r : rows) {
    auto t = AffinityTable::create(r.config);
    ASSERT_FALSE(t.ok()) << r.desc;
    EXPECT_EQ(t.status().code(), StatusCode::InvalidArgument) << r.desc;
  }
  auto ok = AffinityTable::create(AffinityConfig{});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->capacity(), 1u << 20);
  EXPECT_EQ((*ok)->bucketCount(), (1u << 20) / 8);
}

// Each row: insert some keys, then one lookup with its expected answer.
TEST(AffinityTable, InsertLookupTable) {
  struct Row {
    const char* desc;
    std::vector<std::pair<uint64_t, uint16_t>> inserts;  // at t=1000
    uint64_t lookup_key;
    uint64_t lookup_ms;
    std::optional<uint16_t> expect;
  };
  const Row rows[] = {
      {"empty table misses", {}, keyOf(1), 1000, std::nullopt},
      {"hit", {{keyOf(1), 3}}, keyOf(1), 1000, 3},
      {"other key misses", {{keyOf(1), 3}}, keyOf(2), 1000, std::nullopt},
      {"second insert updates", {{keyOf(1), 3}, {keyOf(1), 7}}, keyOf(1), 1000, 7},
      {"backend 0 is a real backend", {{keyOf(5), 0}}, keyOf(5), 1000, 0},
      {"max backend index", {{keyOf(5), 0xFFFE}}, keyOf(5), 1000, 0xFFFE},
      {"fingerprint zero", {{0x42, 9}}, 0x42, 1000, 9},
      {"just before timeout", {{keyOf(1), 3}}, keyOf(1), 1000 + kTimeoutMs - 1100, 3},
      {"well after timeout", {{keyOf(1), 3}}, keyOf(1), 1000 + kTimeoutMs + 2048, std::nullopt},
      {"clock of another worker slightly behind", {{keyOf(1), 3}}, keyOf(1), 0, 3},
  };
  for (const Row& r : rows) {
    auto t = makeTable();
    for (const auto& [k, b] : r.inserts) {
      (void)t->insert(k, b, 1000);
    }
    EXPECT_EQ(t->lookup(r.lookup_key, r.lookup_ms), r.expect) << r.desc;
  }
}

// A lookup refreshes last-seen, so an active call never expires.
TEST(AffinityTable, LookupRefreshes) {
  auto t = makeTable();
  const uint64_t k = keyOf(10);
  EXPECT_EQ(t->insert(k, 4, 0), AffinityInsert::Inserted);
  uint64_t now = 0;
  for (int i = 0; i < 10; ++i) {
    now += kTimeoutMs / 2;
    ASSERT_EQ(t->lookup(k, now), 4) << i;
  }
  EXPECT_EQ(t->lookup(k, now + 2 * kTimeoutMs), std::nullopt);
  // The expired entry is revived in place by insert (Updated, not a second slot).
  EXPECT_EQ(t->insert(k, 5, now + 2 * kTimeoutMs), AffinityInsert::Updated);
  EXPECT_EQ(t->countLive(now + 2 * kTimeoutMs), 1u);
}

// A full bucket evicts its least recently seen entry; expired entries are reused first.
TEST(AffinityTable, FullBucketEvictsOldest) {
  auto t = makeTable();
  const uint32_t bucket = 17;
  for (uint64_t n = 0; n < kAffinityBucketSlots; ++n) {
    EXPECT_EQ(t->insert(keyInBucket(bucket, n), static_cast<uint16_t>(n), 1000 * (n + 1) * 2),
              AffinityInsert::Inserted);
  }
  const uint64_t now = 20000;
  // Touch key 0 so key 1 becomes the oldest.
  EXPECT_EQ(t->lookup(keyInBucket(bucket, 0), now), 0);
  EXPECT_EQ(t->insert(keyInBucket(bucket, 100), 42, now), AffinityInsert::EvictedLive);
  EXPECT_EQ(t->lookup(keyInBucket(bucket, 1), now), std::nullopt);
  EXPECT_EQ(t->lookup(keyInBucket(bucket, 100), now), 42);
  for (uint64_t n : {0, 2, 3, 4, 5, 6, 7}) {
    EXPECT_EQ(t->lookup(keyInBucket(bucket, n), now), static_cast<uint16_t>(n)) << n;
  }
  // Later all but key 100 expire; a new key reuses an expired slot without evicting.
  const uint64_t later = now + kTimeoutMs / 2 + 2048;
  EXPECT_EQ(t->lookup(keyInBucket(bucket, 100), later), 42);
  const uint64_t much_later = now + kTimeoutMs + 4096;
  EXPECT_EQ(t->insert(keyInBucket(bucket, 200), 9, much_later), AffinityInsert::Inserted);
  EXPECT_EQ(t->lookup(keyInBucket(bucket, 100), much_later), 42);
  // Other buckets are untouched.
  EXPECT_EQ(t->countLive(much_later), 2u);
}

// A lookup that misses records where insert() would go (AffinityProbe); inserting through the
// probe must leave the table exactly as a plain insert would. One bucket, keys and times
// random, so matches, expired entries, free slots and evictions all occur.
TEST(AffinityTable, ProbedInsertMatchesPlainInsert) {
  auto probed = makeTable(kAffinityBucketSlots, 10'000);
  auto plain = makeTable(kAffinityBucketSlots, 10'000);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  uint64_t now = 1000;
  int inserts = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += next() % 64 == 0 ? 12'000 : next() % 600;  // now and then everything expires
    const uint64_t key = keyInBucket(0, next() % 14);
    const auto backend = static_cast<uint16_t>(next() % 5);
    AffinityProbe probe;
    const std::optional<uint16_t> a = probed->lookup(key, now, &probe);
    const std::optional<uint16_t> b = plain->lookup(key, now);
    ASSERT_EQ(a, b) << "step " << step;
    if (!a.has_value()) {
      ASSERT_GE(probe.slot, 0);
      ASSERT_EQ(probed->insert(key, backend, now, &probe), plain->insert(key, backend, now))
          << "step " << step;
      ++inserts;
    }
    ASSERT_EQ(probed->countLive(now), plain->countLive(now)) << "step " << step;
  }
  EXPECT_GT(inserts, 1000);
  for (uint64_t n = 0; n < 14; ++n) {
    EXPECT_EQ(probed->lookup(keyInBucket(0, n), now), plain->lookup(keyInBucket(0, n), now));
  }
}

// A probe made stale by another insert into its slot falls back to the full insert: both keys
// stay.
TEST(AffinityTable, StaleProbeFallsBack) {
  auto t = makeTable(kAffinityBucketSlots);
  AffinityProbe probe;
  EXPECT_EQ(t->lookup(keyInBucket(0, 1), 1000, &probe), std::nullopt);
  EXPECT_EQ(probe.slot, 0);
  EXPECT_EQ(t->insert(keyInBucket(0, 2), 7, 1000), AffinityInsert::Inserted);  // takes slot 0
  EXPECT_EQ(t->insert(keyInBucket(0, 1), 3, 1000, &probe), AffinityInsert::Inserted);
  EXPECT_EQ(t->lookup(keyInBucket(0, 1), 1000), 3);
  EXPECT_EQ(t->lookup(keyInBucket(0, 2), 1000), 7);
}

TEST(AffinityTable, EraseAndEraseBackendAndSweep) {
  auto t = makeTable();
  for (uint64_t i = 0; i < 300; ++i) {
    (void)t->insert(keyOf(i), static_cast<uint16_t>(i % 3), 0);
  }
  EXPECT_EQ(t->countLive(0), 300u);
  EXPECT_TRUE(t->erase(keyOf(0)));
  EXPECT_FALSE(t->erase(keyOf(0)));
  EXPECT_EQ(t->lookup(keyOf(0), 0), std::nullopt);
  EXPECT_EQ(t->eraseBackend(1), 100u);
  EXPECT_EQ(t->countLive(0), 199u);
  for (uint64_t i = 0; i < 300; ++i) {
    if (i % 3 == 1) {
      ASSERT_EQ(t->lookup(keyOf(i), 0), std::nullopt);
    }
  }
  // Refresh ten keys late, then sweep everything at a time when only those are alive.
  const uint64_t late = kTimeoutMs;
  for (uint64_t i = 3; i < 33; i += 3) {
    ASSERT_EQ(t->lookup(keyOf(i), late), 0);
  }
  const uint64_t sweep_at = kTimeoutMs + kTimeoutMs / 2;
  const uint32_t half = t->bucketCount() / 2;
  const size_t cleared = t->sweepExpired(sweep_at, 0, half) +
                         t->sweepExpired(sweep_at, half, t->bucketCount());
  EXPECT_EQ(cleared, 189u);
  EXPECT_EQ(t->countLive(sweep_at), 10u);
}

// Two workers insert and look up concurrently; every answer must be the value some thread wrote
// for that key (no torn or crossed entries), and all inserts must be visible after the join.
TEST(AffinityTable, ConcurrentInsertLookup) {
  auto t = makeTable(1u << 16);
  constexpr uint64_t kKeys = 20000;  // < capacity/2, so little eviction
  auto backendFor = [](uint64_t i) { return static_cast<uint16_t>(i * 7 % 1000); };
  std::atomic<uint64_t> wrong{0};
  std::atomic<uint64_t> hits{0};
  auto worker = [&](uint64_t first) {
    for (int round = 0; round < 3; ++round) {
      for (uint64_t i = first; i < kKeys; i += 2) {
        (void)t->insert(keyOf(i), backendFor(i), 1000 + round);
        // Look up a key the other thread owns.
        const uint64_t j = (i * 31 + 1) % kKeys;
        auto got = t->lookup(keyOf(j), 1000 + round);
        if (got) {
          hits.fetch_add(1, std::memory_order_relaxed);
          if (*got != backendFor(j)) {
            wrong.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  size_t present = 0;
  for (uint64_t i = 0; i < kKeys; ++i) {
    auto got = t->lookup(keyOf(i), 2000);
    if (got) {
      ++present;
      ASSERT_EQ(*got, backendFor(i));
    }
  }
  // 20000 keys in 8192 buckets of 8: a few buckets overflow, far fewer than 1%.
  EXPECT_GT(present, kKeys * 99 / 100);
}

// Both threads fight over one bucket; the bounded retries must keep every entry whole.
TEST(AffinityTable, ConcurrentSameBucket) {
  auto t = makeTable(1u << 10);
  std::atomic<uint64_t> wrong{0};
  auto worker = [&](uint64_t base) {
    for (uint64_t n = 0; n < 50000; ++n) {
      const uint64_t id = base + n % 12;
      (void)t->insert(keyInBucket(5, id), static_cast<uint16_t>(id), n);
      auto got = t->lookup(keyInBucket(5, id ^ 1), n);
      if (got && *got != static_cast<uint16_t>(id ^ 1)) {
        wrong.fetch_add(1);
      }
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 6);
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_LE(t->countLive(50000), kAffinityBucketSlots);
}

}  // namespace
}  // namespace sipshield::lb
