#include "filters/acl.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "filters/prefix_map.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::pfx;

// Prefix parsing: CIDR and bare addresses, v4 and v6; host bits and bad lengths are errors.
TEST(ParsePrefix, Table) {
  struct Row {
    const char* text;
    bool ok;
    uint8_t length;
  };
  const Row rows[] = {
      {"192.0.2.0/24", true, 24},   {"192.0.2.7", true, 32},      {"0.0.0.0/0", true, 0},
      {"2001:db8::/32", true, 32},  {"2001:db8::1", true, 128},   {"::/0", true, 0},
      {"192.0.2.1/24", false, 0},   {"192.0.2.0/33", false, 0},   {"2001:db8::/129", false, 0},
      {"192.0.2.0/", false, 0},     {"example.com/8", false, 0},  {"10.0.0.0/8x", false, 0},
  };
  for (const Row& r : rows) {
    Prefix p;
    const std::string error = parsePrefix(r.text, p);
    EXPECT_EQ(error.empty(), r.ok) << r.text << ": " << error;
    if (r.ok) {
      EXPECT_EQ(p.length, r.length) << r.text;
      EXPECT_EQ(formatPrefix(p), r.text) << r.text;
    }
  }
}

// Longest prefix wins, across nesting, siblings, IPv6 and the default.
TEST(PrefixMap, LongestPrefixTable) {
  PrefixMap map;
  map.build({{pfx("10.0.0.0/8"), 1},
             {pfx("10.1.0.0/16"), 2},
             {pfx("10.1.2.0/24"), 3},
             {pfx("10.1.2.128/25"), 4},
             {pfx("10.255.0.0/16"), 5},  // ends where 10/8 ends
             {pfx("192.0.2.1"), 6},
             {pfx("2001:db8::/32"), 7},
             {pfx("2001:db8:1::/48"), 8},
             {pfx("2001:db8:1:2::/64"), 9}});
  struct Row {
    const char* address;
    uint32_t value;
  };
  const Row rows[] = {
      {"10.0.0.1", 1},          {"10.1.0.0", 2},         {"10.1.2.3", 3},
      {"10.1.2.129", 4},        {"10.1.2.255", 4},       {"10.1.3.0", 2},
      {"10.2.0.0", 1},          {"10.255.255.255", 5},   {"11.0.0.0", PrefixMap::kNoMatch},
      {"9.255.255.255", PrefixMap::kNoMatch},            {"192.0.2.1", 6},
      {"192.0.2.2", PrefixMap::kNoMatch},                {"0.0.0.0", PrefixMap::kNoMatch},
      {"255.255.255.255", PrefixMap::kNoMatch},          {"2001:db8::1", 7},
      {"2001:db8:1::1", 8},     {"2001:db8:1:2::99", 9}, {"2001:db8:1:3::", 8},
      {"2001:db9::", PrefixMap::kNoMatch},               {"::1", PrefixMap::kNoMatch},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(map.lookup(addr(r.address)), r.value) << r.address;
  }
}

// A /0 covers everything; an IPv4 /0 does not cover IPv6.
TEST(PrefixMap, DefaultRoutes) {
  PrefixMap map;
  map.build({{pfx("0.0.0.0/0"), 1}, {pfx("::/0"), 2}, {pfx("255.255.255.255"), 3}});
  EXPECT_EQ(map.lookup(addr("0.0.0.0")), 1u);
  EXPECT_EQ(map.lookup(addr("255.255.255.254")), 1u);
  EXPECT_EQ(map.lookup(addr("255.255.255.255")), 3u);
  EXPECT_EQ(map.lookup(addr("ffff::1")), 2u);
}

Address randomV4(std::mt19937_64& rng) { return Address::v4(static_cast<uint32_t>(rng())); }

Address randomV6(std::mt19937_64& rng) {
  Address a;
  a.v6 = 1;
  const uint64_t hi = rng();
  const uint64_t lo = rng();
  for (int i = 0; i < 8; ++i) {
    a.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    a.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  // Cluster under 2001:db8::/32 half of the time so prefixes nest and the index is stressed.
  if (rng() & 1) {
    a.bytes[0] = 0x20;
    a.bytes[1] = 0x01;
    a.bytes[2] = 0x0d;
    a.bytes[3] = 0xb8;
  }
  return a;
}

uint32_t bruteForce(const std::vector<PrefixMap::Entry>& entries, const Address& a) {
  int best = -1;
  uint32_t value = PrefixMap::kNoMatch;
  for (const auto& e : entries) {
    if (e.prefix.address.v6 == a.v6 && maskAddress(a, e.prefix.length) == e.prefix.address &&
        static_cast<int>(e.prefix.length) >= best) {
      best = e.prefix.length;
      value = e.value;
    }
  }
  return value;
}

// Random prefixes (nested, overlapping, both families) agree with a brute-force scan.
TEST(PrefixMap, AgreesWithBruteForce) {
  std::mt19937_64 rng(42);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 3000; ++i) {
    const bool v6 = rng() % 3 == 0;
    const Address a = v6 ? randomV6(rng) : randomV4(rng);
    const uint8_t length = static_cast<uint8_t>(rng() % (a.maxLength() + 1));
    entries.push_back({prefixOf(a, length), i});
  }
  PrefixMap map;
  map.build(entries);
  for (int i = 0; i < 20000; ++i) {
    // Probe inside random prefixes and at random addresses.
    Address probe;
    if (i % 2 == 0) {
      const auto& e = entries[rng() % entries.size()];
      const Address noise = e.prefix.address.v6 ? randomV6(rng) : randomV4(rng);
      const Address high = maskAddress(noise, e.prefix.length);
      probe = e.prefix.address;
      for (int b = 0; b < 16; ++b) {
        probe.bytes[b] |= static_cast<uint8_t>(noise.bytes[b] ^ high.bytes[b]);
      }
    } else {
      probe = (rng() % 3 == 0) ? randomV6(rng) : randomV4(rng);
    }
    ASSERT_EQ(map.lookup(probe), bruteForce(entries, probe)) << formatAddress(probe);
  }
}

// Deny beats allow on the same prefix; the longer prefix beats both; default applies outside.
TEST(Acl, AllowDenyTable) {
  AclConfig acl;
  acl.allow = {pfx("198.51.100.0/24"), pfx("203.0.113.0/24"), pfx("2001:db8::/32")};
  acl.deny = {pfx("198.51.100.66"), pfx("203.0.113.0/24"), pfx("2001:db8:bad::/48")};
  acl.default_allow = false;
  acl.build();
  struct Row {
    const char* source;
    bool denied;
  };
  const Row rows[] = {
      {"198.51.100.1", false},  {"198.51.100.66", true},  {"203.0.113.5", true},
      {"192.0.2.1", true},      {"2001:db8::1", false},   {"2001:db8:bad::1", true},
      {"2001:db9::1", true},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(aclDenies(acl, addr(r.source)), r.denied) << r.source;
  }
  acl.default_allow = true;
  EXPECT_FALSE(aclDenies(acl, addr("192.0.2.1")));
}

// 100k prefixes build in well under a second and look up fast (the ns figure is in the bench).
TEST(PrefixMap, HundredThousandPrefixes) {
  std::mt19937_64 rng(7);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 100000; ++i) {
    const Address a = i % 5 == 0 ? randomV6(rng) : randomV4(rng);
    const uint8_t length = a.v6 ? static_cast<uint8_t>(32 + rng() % 97)
                                : static_cast<uint8_t>(8 + rng() % 25);
    entries.push_back({prefixOf(a, length), i});
  }
  const auto start = std::chrono::steady_clock::now();
  PrefixMap map;
  map.build(entries);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 3000);
  EXPECT_EQ(map.prefixCount(), 100000u);
  EXPECT_LT(map.memoryBytes(), 8u << 20);
  for (int i = 0; i < 2000; ++i) {
    const auto& e = entries[rng() % entries.size()];
    ASSERT_EQ(map.lookup(e.prefix.address), bruteForce(entries, e.prefix.address));
  }
}

}  // namespace
}  // namespace sipshield::filters
