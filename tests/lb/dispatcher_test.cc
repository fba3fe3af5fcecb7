#include "lb/dispatcher.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "lb/backend_pool.h"

namespace sipshield::lb {
namespace {

constexpr uint64_t kNow = 1000000;

std::string callId(uint64_t i) {
  std::string s = "a84b4c76e66710-";
  s += std::to_string(i);
  s += "@pc33.atlanta.example.com";
  return s;
}

TEST(KeyHash, Kinds) {
  const std::array<uint8_t, 4> v4 = {192, 0, 2, 7};
  const std::array<uint8_t, 16> v4_mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                                             192, 0, 2, 7};
  const std::array<uint8_t, 16> v6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                      0,    0,    0,    0,    192, 0, 2, 7};
  const std::string cid = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com";
  // Each row: two field sets and whether they must hash equal under `kind`.
  struct Row {
    const char* desc;
    KeyKind kind;
    KeyFields a;
    KeyFields b;
    bool equal;
  };
  const Row rows[] = {
      {"same Call-ID", KeyKind::CallId, {cid, "x", v4}, {cid, "y", v6}, true},
      {"Call-ID is byte exact (case)", KeyKind::CallId, {"abc@host"}, {"ABC@host"}, false},
      {"Call-ID ignores source", KeyKind::CallId, {cid, {}, v4}, {cid, {}, v6}, true},
      {"v4-mapped v6 equals v4", KeyKind::SourceIp, {"a", {}, v4}, {"b", {}, v4_mapped}, true},
      {"v6 differs from v4", KeyKind::SourceIp, {"a", {}, v4}, {"a", {}, v6}, false},
      {"from-tag matters", KeyKind::FromTagCallId, {cid, "1928301774"}, {cid, "1928301775"},
       false},
      {"same pair", KeyKind::FromTagCallId, {cid, "1928301774", v4}, {cid, "1928301774", v6},
       true},
      {"no shifting between fields", KeyKind::FromTagCallId, {"bc", "a"}, {"c", "ab"}, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(dispatchKey(r.kind, r.a) == dispatchKey(r.kind, r.b), r.equal) << r.desc;
  }
  EXPECT_EQ(dispatchKey(KeyKind::CallId, {cid}), hashCallId(cid));
  EXPECT_EQ(dispatchKey(KeyKind::SourceIp, {{}, {}, v4}), hashSourceIp(v4));
  EXPECT_EQ(dispatchKey(KeyKind::FromTagCallId, {cid, "t"}), hashFromTagCallId("t", cid));
  EXPECT_NE(hashFromTagCallId("", cid), hashFromTagCallId("t", cid));
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = AffinityTable::create(AffinityConfig{1u << 16, 60000});
    ASSERT_TRUE(t.ok());
    affinity_ = std::move(t).value();
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(pool_.addBackend(BackendConfig{name(i), "addr", 1}).ok());
    }
    for (uint64_t i = 0; i < kKeys; ++i) {
      keys_.push_back(hashCallId(callId(i)));
    }
  }
  static std::string name(int i) {
    std::string s = "proxy-";
    s += std::to_string(i);
    return s;
  }
  std::unique_ptr<const DispatchSnapshot> snapshot() {
    auto s = pool_.buildSnapshot();
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }
  void takeDown(uint16_t b) {
    for (int i = 0; i < 3; ++i) {
      pool_.onProbeResult(b, false, i);
    }
    ASSERT_EQ(pool_.state(b), BackendState::Down);
  }

  static constexpr uint64_t kKeys = 5000;
  BackendPool pool_;
  std::unique_ptr<AffinityTable> affinity_;
  std::vector<uint64_t> keys_;
};

TEST_F(DispatcherTest, NoSnapshotNoBackend) {
  Dispatcher d(affinity_.get());
  EXPECT_EQ(d.pick(keys_[0], kNow), kNoBackend);
  EXPECT_EQ(d.pickStateless(keys_[0]), kNoBackend);
  EXPECT_EQ(d.stats().get(DispatchCounter::NoBackend), 1u);
  EXPECT_STREQ(dispatchCounterName(DispatchCounter::NoBackend), "no_backend");
}

// Calls in progress stay on their backend when a backend is added; stateless hashing alone
// would have moved about a fifth of them.
TEST_F(DispatcherTest, AffineKeysStayWhenBackendAdded) {
  auto s4 = snapshot();
  Dispatcher d(affinity_.get());
  d.setSnapshot(s4.get());
  std::vector<uint16_t> first;
  for (uint64_t k : keys_) {
    first.push_back(d.pick(k, kNow));
  }
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinityMiss), kKeys);
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinityInserted), kKeys);
  ASSERT_TRUE(pool_.addBackend(BackendConfig{name(4), "addr", 1}).ok());
  auto s5 = snapshot();
  d.setSnapshot(s5.get());
  uint64_t stateless_moved = 0;
  for (size_t i = 0; i < keys_.size(); ++i) {
    ASSERT_EQ(d.pick(keys_[i], kNow + 5000), first[i]) << i;
    stateless_moved += d.pickStateless(keys_[i]) != first[i] ? 1 : 0;
  }
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinityHit), kKeys);
  EXPECT_GT(stateless_moved, kKeys / 10);
  EXPECT_LT(stateless_moved, kKeys * 3 / 10);
  // New keys do reach the new backend.
  uint64_t to_new = 0;
  for (uint64_t i = kKeys; i < 2 * kKeys; ++i) {
    to_new += d.pick(hashCallId(callId(i)), kNow) == 4 ? 1 : 0;
  }
  EXPECT_GT(to_new, kKeys / 10);
}

// Keys of a Down backend move (to accepting backends) and then stick to their new backend,
// even after the old one comes back; keys of the other backends do not move.
TEST_F(DispatcherTest, DownBackendKeysMoveAndStick) {
  auto up = snapshot();
  Dispatcher d(affinity_.get());
  d.setSnapshot(up.get());
  std::vector<uint16_t> first;
  for (uint64_t k : keys_) {
    first.push_back(d.pick(k, kNow));
  }
  takeDown(2);
  auto down = snapshot();
  d.setSnapshot(down.get());
  std::vector<uint16_t> second;
  uint64_t moved = 0;
  for (size_t i = 0; i < keys_.size(); ++i) {
    const uint16_t b = d.pick(keys_[i], kNow + 1000);
    second.push_back(b);
    if (first[i] == 2) {
      ASSERT_NE(b, 2);
      ASSERT_TRUE(down->accepting(b));
      ++moved;
    } else {
      ASSERT_EQ(b, first[i]);
    }
  }
  EXPECT_GT(moved, kKeys / 8);
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinityRemapped), moved);
  // Backend 2 recovers; remapped calls stay where they went.
  pool_.onProbeResult(2, true, 10);
  pool_.onProbeResult(2, true, 11);
  auto back = snapshot();
  d.setSnapshot(back.get());
  for (size_t i = 0; i < keys_.size(); ++i) {
    ASSERT_EQ(d.pick(keys_[i], kNow + 2000), second[i]);
  }
}

// Draining keeps existing calls and refuses new ones.
TEST_F(DispatcherTest, DrainingKeepsCallsTakesNoNewOnes) {
  auto up = snapshot();
  Dispatcher d(affinity_.get());
  d.setSnapshot(up.get());
  std::vector<uint16_t> first;
  for (uint64_t k : keys_) {
    first.push_back(d.pick(k, kNow));
  }
  ASSERT_TRUE(pool_.setDraining(1, true).ok());
  auto draining = snapshot();
  d.setSnapshot(draining.get());
  for (size_t i = 0; i < keys_.size(); ++i) {
    ASSERT_EQ(d.pick(keys_[i], kNow), first[i]);
  }
  for (uint64_t i = kKeys; i < 2 * kKeys; ++i) {
    ASSERT_NE(d.pick(hashCallId(callId(i)), kNow), 1);
  }
}

// Under flood no affinity entries are written, existing ones are still honoured.
TEST_F(DispatcherTest, UnderFloodSkipsInserts) {
  auto s = snapshot();
  Dispatcher d(affinity_.get());
  d.setSnapshot(s.get());
  (void)d.pick(keys_[0], kNow);
  ASSERT_EQ(affinity_->countLive(kNow), 1u);
  d.setUnderFlood(true);
  for (size_t i = 1; i < 100; ++i) {
    EXPECT_EQ(d.pick(keys_[i], kNow), s->pickNew(keys_[i]));
  }
  EXPECT_EQ(affinity_->countLive(kNow), 1u);
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinitySkippedFlood), 99u);
  EXPECT_EQ(d.pick(keys_[0], kNow), s->pickNew(keys_[0]));
  EXPECT_EQ(d.stats().get(DispatchCounter::AffinityHit), 1u);
}

// Without an affinity table the dispatcher is plain Maglev.
TEST_F(DispatcherTest, StatelessWithoutTable) {
  auto s = snapshot();
  Dispatcher d(nullptr);
  d.setSnapshot(s.get());
  for (uint64_t k : keys_) {
    ASSERT_EQ(d.pick(k, kNow), s->pickNew(k));
  }
}

}  // namespace
}  // namespace sipshield::lb
