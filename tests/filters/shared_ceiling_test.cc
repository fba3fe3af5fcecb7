// Global per-class ceilings shared by every worker (issue 4 "global per-class ceilings"): the
// configured rate is the process's, not workers x rate. Two FilterChains ("workers") share
// one SharedShieldState on a fake clock; a threaded test checks the lock-free bucket never
// hands out more than it holds.

#include "filters/shared_ceiling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "filters/shared_state.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::ChainHarness;
using testing::Msg;
using testing::request;

RateLimitRule ceiling(double rate, double burst) {
  RateLimitRule rule;
  rule.header.name = "invite-ceiling";
  rule.header.action.kind = ActionKind::Drop;
  rule.key = RateKey::Global;
  rule.methods = bit(MethodClass::Invite);
  rule.rate = rate;
  rule.burst = burst;
  return rule;
}

// Two workers, each offered far more than the ceiling over a fake-clock second: together they
// pass burst + rate x time (within a batch per worker), not twice that. Table-driven over
// rates and bursts, including a burst below the batch size.
TEST(SharedCeiling, TwoWorkersShareTheRate) {
  struct Row {
    const char* desc;
    double rate;
    double burst;
    uint64_t duration_ms;
    int per_worker_per_ms;  // packets offered to each worker per ms
    bool both_pass;         // each worker gets some (with burst 1 the first asker takes all)
  };
  const Row rows[] = {
      {"1000/s burst 200", 1000, 200, 1000, 5, true},
      {"100/s burst 10", 100, 10, 2000, 2, true},
      {"5000/s burst 5000", 5000, 5000, 500, 30, true},
      {"10/s burst 1", 10, 1, 3000, 1, false},
  };
  for (const Row& r : rows) {
    ChainHarness a;
    ChainHarness b;
    auto shared = std::make_shared<SharedShieldState>(ChainHarness::small(),
                                                      SipHashKey{1, 2});
    a.chain->shareState(shared);
    b.chain->shareState(shared);
    a.rules->rate_limits.push_back(ceiling(r.rate, r.burst));
    b.rules->rate_limits.push_back(ceiling(r.rate, r.burst));
    a.install();
    b.install();
    Msg invite(request("INVITE"));
    uint64_t passed = 0;
    for (uint64_t ms = 0; ms < r.duration_ms; ++ms) {
      for (int i = 0; i < r.per_worker_per_ms; ++i) {
        // Sources differ so nothing but the ceiling limits them.
        passed += a.full("192.0.2.1", invite).pass() ? 1 : 0;
        passed += b.full("198.51.100.1", invite).pass() ? 1 : 0;
      }
      a.now += 1;
      b.now += 1;
    }
    const double expected = r.burst + r.rate * static_cast<double>(r.duration_ms - 1) / 1000.0;
    EXPECT_LE(static_cast<double>(passed), expected + 0.5) << r.desc;
    // Tokens stranded in the two stashes are at most a batch each.
    const double batch = std::min(16.0, std::max(1.0, r.burst / 16));
    EXPECT_GE(static_cast<double>(passed), expected - 2 * batch - 1) << r.desc;
    if (!r.both_pass) {
      continue;
    }
    // Both workers got a share (neither starves while the other holds tokens).
    EXPECT_GT(a.counter("invite-ceiling", RuleCounter::Seen) -
                  a.counter("invite-ceiling", RuleCounter::Dropped),
              0u)
        << r.desc;
    EXPECT_GT(b.counter("invite-ceiling", RuleCounter::Seen) -
                  b.counter("invite-ceiling", RuleCounter::Dropped),
              0u)
        << r.desc;
  }
}

// The old behaviour for contrast: two workers NOT sharing state pass about twice the rate
// (each chain has its own SharedShieldState).
TEST(SharedCeiling, UnsharedWorkersPassTwice) {
  ChainHarness a;
  ChainHarness b;
  a.rules->rate_limits.push_back(ceiling(1000, 200));
  b.rules->rate_limits.push_back(ceiling(1000, 200));
  a.install();
  b.install();
  Msg invite(request("INVITE"));
  uint64_t passed = 0;
  for (uint64_t ms = 0; ms < 1000; ++ms) {
    for (int i = 0; i < 5; ++i) {
      passed += a.full("192.0.2.1", invite).pass() ? 1 : 0;
      passed += b.full("198.51.100.1", invite).pass() ? 1 : 0;
    }
    a.now += 1;
    b.now += 1;
  }
  EXPECT_GE(passed, 2u * 1150u);
}

// A reload that keeps the rule's name keeps the shared bucket (drained stays drained); a
// renamed rule gets a fresh one.
TEST(SharedCeiling, ReloadKeepsBucketByName) {
  ChainHarness h;
  h.rules->rate_limits.push_back(ceiling(1, 20));
  h.install();
  Msg invite(request("INVITE"));
  int passed = 0;
  for (int i = 0; i < 100; ++i) {
    passed += h.full("192.0.2.1", invite).pass() ? 1 : 0;
  }
  EXPECT_EQ(passed, 20);
  auto next = std::make_shared<ShieldRules>();
  next->rate_limits.push_back(ceiling(1, 20));
  next->flood.enabled = true;  // some other change
  ASSERT_EQ(next->finalize(), "");
  h.chain->setRules(next.get(), nullptr);
  EXPECT_FALSE(h.full("192.0.2.1", invite).pass());
  auto renamed = std::make_shared<ShieldRules>();
  renamed->rate_limits.push_back(ceiling(1, 20));
  renamed->rate_limits.back().header.name = "other-ceiling";
  ASSERT_EQ(renamed->finalize(), "");
  h.chain->setRules(renamed.get(), nullptr);
  EXPECT_TRUE(h.full("192.0.2.1", invite).pass());
}

// The bucket on its own: refill by elapsed time clamped to the burst, grabs in whole tokens,
// a clock that lags refills nothing, a lowered burst caps what can be taken.
// Renames over many reloads with two workers sharing the ceilings: after each reload the
// control thread gives back the old names' slots, and both workers still share one bucket
// for the live name (together they pass its burst once, not twice). Before slots were given
// back, the 513th name found the table full and each worker fell back to its own bucket.
TEST(SharedCeiling, RenamedCeilingsStayShared) {
  ChainHarness a;
  ChainHarness b;
  auto shared = std::make_shared<SharedShieldState>(ChainHarness::small(), SipHashKey{1, 2});
  a.chain->shareState(shared);
  b.chain->shareState(shared);
  Msg invite(request("INVITE"));
  for (int reload = 0; reload < static_cast<int>(SharedCeilings::kSlots) + 40; ++reload) {
    auto rules = std::make_shared<ShieldRules>();
    rules->rate_limits.push_back(ceiling(1, 20));
    rules->rate_limits.back().header.name = "ceiling-v" + std::to_string(reload);
    ASSERT_EQ(rules->finalize(), "");
    a.chain->setRules(rules.get(), nullptr);
    b.chain->setRules(rules.get(), nullptr);
    const uint64_t live[] = {rules->rate_limits.back().name_hash};
    (void)shared->ceilings().retainOnly(live);
    if (reload % 100 != 0 && reload < static_cast<int>(SharedCeilings::kSlots)) {
      continue;  // the pass counts below on a sample of reloads (and every late one)
    }
    int passed = 0;
    for (int i = 0; i < 40; ++i) {
      passed += a.full("192.0.2.1", invite).pass() ? 1 : 0;
      passed += b.full("198.51.100.1", invite).pass() ? 1 : 0;
    }
    ASSERT_EQ(passed, 20) << "reload " << reload;
  }
  EXPECT_EQ(shared->ceilings().used(), 1u);
}

// New rules at the address of freed ones (an idle worker's chain still holds the old pointer
// when the snapshot is reclaimed and the allocator reuses it): the chain must still see new
// rules and look its ceilings up again.
TEST(SharedCeiling, RulesAtAReusedAddressAreNewRules) {
  ChainHarness h;
  auto shared = std::make_shared<SharedShieldState>(ChainHarness::small(), SipHashKey{1, 2});
  h.chain->shareState(shared);
  std::optional<ShieldRules> storage;
  storage.emplace();
  storage->rate_limits.push_back(ceiling(1, 20));
  storage->rate_limits.back().header.name = "first";
  ASSERT_EQ(storage->finalize(), "");
  h.chain->setRules(&*storage, nullptr);
  Msg invite(request("INVITE"));
  for (int i = 0; i < 100; ++i) {
    (void)h.full("192.0.2.1", invite);
  }
  EXPECT_FALSE(h.full("192.0.2.1", invite).pass()) << "first ceiling drained";
  const ShieldRules* old_address = &*storage;
  storage.reset();
  (void)shared->ceilings().retainOnly({});
  storage.emplace();
  storage->rate_limits.push_back(ceiling(1, 20));
  storage->rate_limits.back().header.name = "second";
  ASSERT_EQ(storage->finalize(), "");
  ASSERT_EQ(&*storage, old_address);
  h.chain->setRules(&*storage, nullptr);
  EXPECT_TRUE(h.full("192.0.2.1", invite).pass()) << "the second ceiling is a new bucket";
  EXPECT_EQ(shared->ceilings().used(), 1u);
}

TEST(SharedBucket, RefillAndGrabTable) {
  const BucketSpec spec = BucketSpec::make(100, 10);  // 0.1 token per ms
  struct Step {
    uint64_t now_ms;
    int64_t want_tokens;
    int64_t got_tokens;
  };
  const Step steps[] = {
      {1000, 4, 4},    // first use: full (10)
      {1000, 100, 6},  // the rest
      {1000, 1, 0},    // empty
      {1005, 1, 0},    // 0.5 token
      {1010, 1, 1},    // 1.0 token
      {1009, 1, 0},    // lagging clock: no refill
      {2000, 100, 10}, // idle: full, never more than the burst
  };
  SharedBucket bucket;
  for (const Step& s : steps) {
    EXPECT_EQ(bucket.grab(spec, s.now_ms, s.want_tokens * kTokenUnits),
              s.got_tokens * kTokenUnits)
        << "at " << s.now_ms;
  }
  const BucketSpec lowered = BucketSpec::make(100, 2);
  EXPECT_EQ(bucket.grab(lowered, 3000, 100 * kTokenUnits), 2 * kTokenUnits);
}

// Threads hammering one bucket at a fixed time hand out exactly what it holds, no more.
TEST(SharedBucket, ConcurrentGrabsNeverOverdraw) {
  const BucketSpec spec = BucketSpec::make(1, 100000);
  SharedBucket bucket;
  std::atomic<int64_t> total{0};
  auto worker = [&] {
    int64_t mine = 0;
    for (int i = 0; i < 200000; ++i) {
      mine += bucket.grab(spec, 5000, 3 * kTokenUnits);
    }
    total.fetch_add(mine);
  };
  std::thread t1(worker);
  std::thread t2(worker);
  worker();
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 100000 * kTokenUnits);
}

// The name table: same name, same bucket; full table answers null (the chain then keeps a
// per-worker bucket).
TEST(SharedCeilings, FindByName) {
  SharedCeilings c;
  SharedBucket* a = c.find(hashName("a"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(c.find(hashName("a")), a);
  EXPECT_NE(c.find(hashName("b")), a);
  EXPECT_EQ(c.find(0), nullptr);
  for (uint64_t i = 1; i < 2 * SharedCeilings::kSlots; ++i) {
    (void)c.find(i * 0x9e3779b97f4a7c15ull);
  }
  EXPECT_EQ(c.find(hashName("late")), nullptr);
  EXPECT_EQ(c.find(hashName("a")), a);
}

// Names that share a home slot: their probe sequences start at the same place.
std::vector<uint64_t> collidingNames(size_t count) {
  std::vector<uint64_t> names;
  for (uint64_t i = 1; names.size() < count; ++i) {
    const uint64_t name = i * SharedCeilings::kSlots + 7;  // home slot 7 for every one
    names.push_back(name);
  }
  return names;
}

// A long uptime of reloads that rename the global rule: released slots are taken again, so
// the table never fills (it held 512 names for the process's life before).
TEST(SharedCeilings, RenamesOverManyReloadsNeverFillTheTable) {
  SharedCeilings c;
  const uint64_t kept = hashName("kept");
  SharedBucket* kept_bucket = c.find(kept);
  for (int reload = 0; reload < 5 * static_cast<int>(SharedCeilings::kSlots); ++reload) {
    const uint64_t name = hashName("ceiling-v" + std::to_string(reload));
    ASSERT_NE(c.find(name), nullptr) << "reload " << reload;
    const uint64_t live[] = {kept, name};
    (void)c.retainOnly(live);
    ASSERT_EQ(c.used(), 2u);
    ASSERT_EQ(c.find(kept), kept_bucket) << "a kept name keeps its bucket";
  }
}

// A live name placed after a released one in the same probe sequence stays reachable (the
// released slot is a tombstone, not an end), and a new name takes the released slot.
TEST(SharedCeilings, ReleasedSlotsKeepLaterNamesReachable) {
  SharedCeilings c;
  const std::vector<uint64_t> names = collidingNames(3);
  SharedBucket* first = c.find(names[0]);
  SharedBucket* second = c.find(names[1]);
  ASSERT_NE(first, second);
  const uint64_t live[] = {names[1]};
  EXPECT_EQ(c.retainOnly(live), 1u);
  EXPECT_EQ(c.find(names[1]), second);
  EXPECT_EQ(c.find(names[2]), first) << "the tombstone is reused";
  EXPECT_EQ(c.find(names[1]), second);
  EXPECT_EQ(c.used(), 2u);
}

// A released bucket is emptied: the name that takes it next starts with a full bucket, not
// with what the old rule left.
TEST(SharedCeilings, ReleasedBucketStartsAsNew) {
  SharedCeilings c;
  const std::vector<uint64_t> names = collidingNames(2);
  const BucketSpec spec = BucketSpec::make(10, 10);
  SharedBucket* bucket = c.find(names[0]);
  EXPECT_EQ(bucket->grab(spec, 1000, 10 * kTokenUnits), 10 * kTokenUnits);  // drained
  EXPECT_EQ(bucket->grab(spec, 1000, kTokenUnits), 0);
  (void)c.retainOnly({});
  SharedBucket* reused = c.find(names[1]);
  ASSERT_EQ(reused, bucket);
  EXPECT_EQ(reused->grab(spec, 1000, 10 * kTokenUnits), 10 * kTokenUnits);
}

// Workers resolving the same new name at once, beside tombstones: every one gets the same
// bucket (one slot per name), whatever the interleaving.
TEST(SharedCeilings, ConcurrentClaimsOfOneNameAgree) {
  for (int round = 0; round < 100; ++round) {
    SharedCeilings c;
    const std::vector<uint64_t> names = collidingNames(6);
    for (size_t i = 0; i < 4; ++i) {
      (void)c.find(names[i]);
    }
    const uint64_t live[] = {names[1], names[3]};
    (void)c.retainOnly(live);  // tombstones at the first and third slot
    std::atomic<int> ready{0};
    SharedBucket* got[4] = {};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&, w] {
        ready.fetch_add(1);
        while (ready.load() < 4) {
          std::this_thread::yield();
        }
        got[w] = c.find(names[5]);
      });
    }
    for (std::thread& t : workers) {
      t.join();
    }
    for (SharedBucket* b : got) {
      ASSERT_EQ(b, got[0]) << "round " << round;
    }
    ASSERT_EQ(c.find(names[5]), got[0]);
    ASSERT_EQ(c.used(), 3u);
  }
}

}  // namespace
}  // namespace sipshield::filters
