#include "filters/ban_table.h"

#include <gtest/gtest.h>

#include "filters/operator_bans.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::kT0;
using testing::pfx;

// Bans match by address or prefix, longest first, and only until they expire.
TEST(BanTable, MatchTable) {
  BanTable bans(256);
  bans.ban(pfx("192.0.2.7"), kT0, kT0 + 1000, ShieldReason::RateLimited, 1, 11);
  bans.ban(pfx("198.51.100.0/24"), kT0, kT0 + 5000, ShieldReason::Flood, 2, 22);
  bans.ban(pfx("2001:db8:1::/48"), kT0, kT0 + 5000, ShieldReason::ScannerFingerprint, 3, 33);
  struct Row {
    const char* source;
    uint64_t at;
    bool banned;
    ShieldReason reason;
  };
  const Row rows[] = {
      {"192.0.2.7", kT0, true, ShieldReason::RateLimited},
      {"192.0.2.8", kT0, false, ShieldReason::None},
      {"192.0.2.7", kT0 + 999, true, ShieldReason::RateLimited},
      {"192.0.2.7", kT0 + 1000, false, ShieldReason::None},  // expired
      {"198.51.100.200", kT0 + 10, true, ShieldReason::Flood},
      {"198.51.101.1", kT0 + 10, false, ShieldReason::None},
      {"2001:db8:1:ffff::1", kT0, true, ShieldReason::ScannerFingerprint},
      {"2001:db8:2::1", kT0, false, ShieldReason::None},
  };
  for (const Row& r : rows) {
    const BanEntry* e = bans.match(addr(r.source), r.at);
    EXPECT_EQ(e != nullptr, r.banned) << r.source;
    if (e != nullptr) {
      EXPECT_EQ(e->reason, r.reason) << r.source;
    }
  }
}

// Re-banning extends, never shortens; lifting removes only bans set before the lift.
TEST(BanTable, ExtendAndLift) {
  BanTable bans(256);
  EXPECT_TRUE(bans.ban(pfx("192.0.2.7"), kT0, kT0 + 1000, ShieldReason::Flood, 0, 1));
  EXPECT_FALSE(bans.ban(pfx("192.0.2.7"), kT0, kT0 + 500, ShieldReason::Flood, 0, 1));
  EXPECT_NE(bans.match(addr("192.0.2.7"), kT0 + 900), nullptr);
  EXPECT_FALSE(bans.lift(pfx("192.0.2.7"), kT0 - 1));  // lift older than the ban: kept
  EXPECT_TRUE(bans.lift(pfx("192.0.2.7"), kT0 + 1));
  EXPECT_EQ(bans.match(addr("192.0.2.7"), kT0 + 2), nullptr);
  EXPECT_EQ(bans.activeCount(kT0 + 2), 0u);
}

// A flood of distinct bans stays within capacity; the newest bans are in force.
TEST(BanTable, BoundedEviction) {
  BanTable bans(64);
  for (uint32_t i = 0; i < 10000; ++i) {
    bans.ban(prefixOf(Address::v4(0x0a000000u + i), 32), kT0, kT0 + 60000 + i,
             ShieldReason::Flood, 0, 1);
  }
  EXPECT_LE(bans.activeCount(kT0), 64u);
  EXPECT_EQ(bans.capacity(), 64u);
  EXPECT_GT(bans.evictions(), 0u);
}

// Operator bans: longest match, expiry, until-lifted (0), and the registry's lifts.
TEST(OperatorBans, RegistryTable) {
  BanRegistry registry;
  registry.add(pfx("203.0.113.0/24"), kT0, 60, "abuse ticket 12");
  registry.add(pfx("2001:db8::/32"), kT0, 0, "forever");
  auto snapshot = registry.snapshot();
  EXPECT_NE(snapshot->match(addr("203.0.113.9"), kT0 + 59999), nullptr);
  EXPECT_EQ(snapshot->match(addr("203.0.113.9"), kT0 + 60000), nullptr);
  EXPECT_NE(snapshot->match(addr("2001:db8::5"), kT0 + 1000000000), nullptr);
  EXPECT_EQ(snapshot->match(addr("192.0.2.1"), kT0), nullptr);
  EXPECT_TRUE(registry.remove(pfx("2001:db8::/32"), kT0 + 5));
  EXPECT_FALSE(registry.remove(pfx("192.0.2.1"), kT0 + 6));  // lift of an automatic ban only
  snapshot = registry.snapshot();
  EXPECT_EQ(snapshot->match(addr("2001:db8::5"), kT0 + 10), nullptr);
  EXPECT_EQ(snapshot->lifted().size(), 2u);
  registry.prune(kT0 + 61000 + 60000 + 1);
  EXPECT_TRUE(registry.bans().empty());
  EXPECT_TRUE(registry.snapshot()->lifted().empty());
}

}  // namespace
}  // namespace sipshield::filters
