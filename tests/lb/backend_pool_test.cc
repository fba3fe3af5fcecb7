#include "lb/backend_pool.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <atomic>
#include <thread>
#include <vector>

#include "lb/snapshot_publisher.h"

namespace sipshield::lb {
namespace {

HealthPolicy testPolicy() {
  HealthPolicy p;
  p.fall_threshold = 3;
  p.rise_threshold = 2;
  p.passive_threshold = 3;
  p.passive_window_ms = 1000;
  return p;
}

BackendPool makePool(int n, HealthPolicy policy = testPolicy()) {
  BackendPool pool(policy);
  for (int i = 0; i < n; ++i) {
    // Built with += rather than "b" + ..., which trips a GCC 12 -Wrestrict false positive.
    std::string name = "b";
    name += std::to_string(i);
    std::string address = "10.0.0.";
    address += std::to_string(i);
    address += ":5060";
    auto r = pool.addBackend(BackendConfig{name, address, 1});
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(*r, i);
  }
  return pool;
}

std::unique_ptr<const DispatchSnapshot> snap(BackendPool& pool) {
  auto s = pool.buildSnapshot();
  EXPECT_TRUE(s.ok()) << s.status().toString();
  return std::move(s).value();
}

uint64_t keyOf(uint64_t i) { return XXH3_64bits(&i, sizeof(i)); }

TEST(BackendPool, MembershipAndStableIndices) {
  BackendPool pool(testPolicy());
  EXPECT_EQ(pool.addBackend(BackendConfig{"", "x", 1}).status().code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(*pool.addBackend(BackendConfig{"a", "1.1.1.1", 1}), 0);
  EXPECT_EQ(*pool.addBackend(BackendConfig{"b", "2.2.2.2", 1}), 1);
  EXPECT_EQ(pool.addBackend(BackendConfig{"a", "3.3.3.3", 1}).status().code(),
            StatusCode::AlreadyExists);
  EXPECT_EQ(pool.find("b"), 1);
  EXPECT_TRUE(pool.removeBackend("a").ok());
  EXPECT_EQ(pool.removeBackend("a").code(), StatusCode::NotFound);
  EXPECT_EQ(pool.find("a"), std::nullopt);
  EXPECT_EQ(pool.state(0), BackendState::Down);
  EXPECT_EQ(pool.setWeight(0, 5).code(), StatusCode::NotFound);
  // Re-adding "a" revives index 0 with the new address; "c" gets a fresh index.
  EXPECT_EQ(*pool.addBackend(BackendConfig{"c", "4.4.4.4", 1}), 2);
  EXPECT_EQ(*pool.addBackend(BackendConfig{"a", "5.5.5.5", 2}), 0);
  auto st = pool.status();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].address, "5.5.5.5");
  EXPECT_EQ(st[0].weight, 2u);
  EXPECT_EQ(st[0].state, BackendState::Up);
  EXPECT_STREQ(backendStateName(st[0].state), "up");
}

// The health state machine, one event per row, with the state expected after it.
TEST(BackendPool, HealthStateMachine) {
  enum class Ev { ProbeOk, ProbeFail, Passive, Drain, Undrain };
  struct Step {
    Ev ev;
    uint64_t t;
    BackendState expect;
    bool changed;
  };
  struct Row {
    const char* desc;
    std::vector<Step> steps;
  };
  using S = BackendState;
  const Row rows[] = {
      {"K-1 failures keep it up, K-th takes it down",
       {{Ev::ProbeFail, 0, S::Up, false},
        {Ev::ProbeFail, 1, S::Up, false},
        {Ev::ProbeFail, 2, S::Down, true}}},
      {"a success resets the failure count",
       {{Ev::ProbeFail, 0, S::Up, false},
        {Ev::ProbeFail, 1, S::Up, false},
        {Ev::ProbeOk, 2, S::Up, false},
        {Ev::ProbeFail, 3, S::Up, false},
        {Ev::ProbeFail, 4, S::Up, false},
        {Ev::ProbeFail, 5, S::Down, true}}},
      {"M successes bring it back, a failure in between restarts the count",
       {{Ev::ProbeFail, 0, S::Up, false},
        {Ev::ProbeFail, 1, S::Up, false},
        {Ev::ProbeFail, 2, S::Down, true},
        {Ev::ProbeOk, 3, S::Down, false},
        {Ev::ProbeFail, 4, S::Down, false},
        {Ev::ProbeOk, 5, S::Down, false},
        {Ev::ProbeOk, 6, S::Up, true}}},
      {"passive failures within the window take it down",
       {{Ev::Passive, 0, S::Up, false},
        {Ev::Passive, 10, S::Up, false},
        {Ev::Passive, 20, S::Down, true},
        {Ev::Passive, 30, S::Down, false},
        {Ev::ProbeOk, 40, S::Down, false},
        {Ev::ProbeOk, 50, S::Up, true}}},
      {"passive failures spread over windows do not",
       {{Ev::Passive, 0, S::Up, false},
        {Ev::Passive, 500, S::Up, false},
        {Ev::Passive, 1000, S::Up, false},
        {Ev::Passive, 1500, S::Up, false},
        {Ev::Passive, 2000, S::Up, false}}},
      {"draining is administrative and survives health",
       {{Ev::Drain, 0, S::Draining, false},
        {Ev::ProbeFail, 1, S::Draining, false},
        {Ev::ProbeFail, 2, S::Draining, false},
        {Ev::ProbeFail, 3, S::Down, true},
        {Ev::ProbeOk, 4, S::Down, false},
        {Ev::ProbeOk, 5, S::Draining, true},
        {Ev::Undrain, 6, S::Up, false}}},
  };
  for (const Row& r : rows) {
    BackendPool pool = makePool(2);
    int i = 0;
    for (const Step& s : r.steps) {
      bool changed = false;
      switch (s.ev) {
        case Ev::ProbeOk:
          changed = pool.onProbeResult(0, true, s.t);
          break;
        case Ev::ProbeFail:
          changed = pool.onProbeResult(0, false, s.t);
          break;
        case Ev::Passive:
          changed = pool.onPassiveFailure(0, PassiveFailure::ServiceUnavailable, s.t);
          break;
        case Ev::Drain:
          ASSERT_TRUE(pool.setDraining(0, true, s.t).ok());
          break;
        case Ev::Undrain:
          ASSERT_TRUE(pool.setDraining(0, false, s.t).ok());
          break;
      }
      EXPECT_EQ(pool.state(0), s.expect) << r.desc << " step " << i;
      EXPECT_EQ(changed, s.changed) << r.desc << " step " << i;
      EXPECT_EQ(pool.state(1), BackendState::Up) << r.desc << ": other backend untouched";
      ++i;
    }
  }
}

TEST(BackendPool, StartDownNeedsProbes) {
  HealthPolicy p = testPolicy();
  p.start_up = false;
  BackendPool pool = makePool(1, p);
  EXPECT_EQ(pool.state(0), BackendState::Down);
  auto s = snap(pool);
  EXPECT_EQ(s->pickNew(keyOf(1)), kNoBackend);
  EXPECT_FALSE(pool.onProbeResult(0, true, 1));
  EXPECT_TRUE(pool.onProbeResult(0, true, 2));
  EXPECT_EQ(snap(pool)->pickNew(keyOf(1)), 0);
}

// Flags: Up = alive + accepting; Draining = alive only; Down = neither; weight 0 = alive only.
TEST(BackendPool, SnapshotFlags) {
  BackendPool pool = makePool(4);
  ASSERT_TRUE(pool.setDraining(1, true).ok());
  for (int i = 0; i < 3; ++i) {
    pool.onProbeResult(2, false, i);
  }
  ASSERT_TRUE(pool.setWeight(3, 0).ok());
  auto s = snap(pool);
  const struct {
    uint16_t b;
    bool alive;
    bool accepting;
  } rows[] = {{0, true, true}, {1, true, false}, {2, false, false}, {3, true, false},
              {4, false, false}, {kNoBackend, false, false}};
  for (const auto& r : rows) {
    EXPECT_EQ(s->alive(r.b), r.alive) << r.b;
    EXPECT_EQ(s->accepting(r.b), r.accepting) << r.b;
  }
  // Only backend 0 takes new calls.
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(s->pickNew(keyOf(i)), 0);
  }
}

// Health changes reuse the Maglev table; membership and weight changes rebuild it.
TEST(BackendPool, TableRebuiltOnlyOnMembershipChange) {
  BackendPool pool = makePool(5);
  auto s1 = snap(pool);
  pool.onProbeResult(1, false, 0);
  pool.onProbeResult(1, false, 1);
  pool.onProbeResult(1, false, 2);
  ASSERT_TRUE(pool.setDraining(2, true).ok());
  auto s2 = snap(pool);
  EXPECT_EQ(s1->table(), s2->table());
  EXPECT_GT(s2->version(), s1->version());
  ASSERT_TRUE(pool.setWeight(3, 4).ok());
  auto s3 = snap(pool);
  EXPECT_NE(s2->table(), s3->table());
  auto s4 = snap(pool);
  EXPECT_EQ(s3->table(), s4->table());
  ASSERT_TRUE(pool.removeBackend("b4").ok());
  auto s5 = snap(pool);
  EXPECT_NE(s4->table(), s5->table());
  EXPECT_FALSE(s5->alive(4));
}

TEST(BackendPool, EmptyAndAllDown) {
  BackendPool empty(testPolicy());
  auto s = snap(empty);
  EXPECT_EQ(s->table(), nullptr);
  EXPECT_FALSE(s->anyAccepting());
  EXPECT_EQ(s->pickNew(keyOf(1)), kNoBackend);

  BackendPool pool = makePool(3);
  for (uint16_t b = 0; b < 3; ++b) {
    for (int i = 0; i < 3; ++i) {
      pool.onProbeResult(b, false, i);
    }
  }
  EXPECT_EQ(snap(pool)->pickNew(keyOf(1)), kNoBackend);

  BackendPool bad(testPolicy(), 65536);
  ASSERT_TRUE(bad.addBackend(BackendConfig{"x", "y", 1}).ok());
  EXPECT_EQ(bad.buildSnapshot().status().code(), StatusCode::InvalidArgument);
}

// One backend down: only its keys move. Several down: pickNew never returns a backend that is
// not accepting, and the keys of healthy backends still never move.
TEST(BackendPool, PickNewSkipsDownBackends) {
  for (int down_count : {1, 2, 4, 7}) {
    BackendPool pool = makePool(8);
    auto all_up = snap(pool);
    for (int d = 0; d < down_count; ++d) {
      for (int i = 0; i < 3; ++i) {
        pool.onProbeResult(static_cast<uint16_t>(d), false, i);
      }
    }
    auto degraded = snap(pool);
    std::vector<uint32_t> got(8, 0);
    for (uint64_t i = 0; i < 20000; ++i) {
      const uint64_t k = keyOf(i);
      const uint16_t before = all_up->pickNew(k);
      const uint16_t after = degraded->pickNew(k);
      ASSERT_LT(after, 8);
      ASSERT_TRUE(degraded->accepting(after)) << "down_count " << down_count;
      if (before >= down_count) {
        ASSERT_EQ(after, before) << "a key of a healthy backend moved";
      }
      got[after]++;
    }
    // Even with 7 of 8 down the survivor takes everything; with fewer, the orphaned keys
    // spread over all survivors.
    for (int b = down_count; b < 8; ++b) {
      EXPECT_GT(got[b], 20000u / 8 / 2) << "down_count " << down_count << " b " << b;
    }
  }
}

// --- SnapshotPublisher ---

struct Counted {
  static std::atomic<int> live;
  explicit Counted(int v) : value(v) { live.fetch_add(1); }
  ~Counted() { live.fetch_sub(1); }
  int value;
};
std::atomic<int> Counted::live{0};

// A snapshot is freed only after every online reader passed a quiescent point.
TEST(SnapshotPublisher, ReclamationRule) {
  {
    SnapshotPublisher<Counted> pub(2, std::make_unique<Counted>(1));
    auto r0 = pub.registerReader();
    auto r1 = pub.registerReader();
    ASSERT_TRUE(r0.ok());
    ASSERT_TRUE(r1.ok());
    EXPECT_EQ(pub.registerReader().status().code(), StatusCode::ResourceExhausted);
    const Counted* held = pub.current();
    EXPECT_EQ(held->value, 1);
    pub.publish(std::make_unique<Counted>(2));
    EXPECT_EQ(pub.current()->value, 2);
    EXPECT_EQ(pub.pendingCount(), 1u);  // both readers may still hold #1
    EXPECT_EQ(held->value, 1);
    pub.quiescent(*r0);
    EXPECT_EQ(pub.reclaim(), 1u);  // reader 1 has not passed a quiescent point
    pub.offline(*r1);
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_EQ(Counted::live.load(), 1);
    pub.online(*r1);
    pub.publish(std::make_unique<Counted>(3));
    EXPECT_EQ(pub.pendingCount(), 1u);
    pub.quiescent(*r0);
    pub.quiescent(*r1);
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_EQ(Counted::live.load(), 1);
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

// A worker reads snapshots per burst while the control thread publishes; every snapshot the
// worker sees is intact (under ASan a premature free would be reported) and all are freed.
TEST(SnapshotPublisher, ConcurrentReaderWriter) {
  {
    SnapshotPublisher<Counted> pub(1, std::make_unique<Counted>(0));
    const uint32_t id = *pub.registerReader();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0};
    std::thread reader([&] {
      int last = 0;
      for (int burst = 0; burst < 2000000 && !stop.load(std::memory_order_relaxed); ++burst) {
        const Counted* s = pub.current();
        // Values only grow, and the object must be alive while we hold it.
        if (s->value < last) {
          bad.fetch_add(1);
        }
        last = s->value;
        pub.quiescent(id);
      }
      pub.offline(id);
    });
    for (int v = 1; v <= 5000; ++v) {
      pub.publish(std::make_unique<Counted>(v));
    }
    stop.store(true);
    reader.join();
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_EQ(Counted::live.load(), 1);
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

}  // namespace
}  // namespace sipshield::lb
