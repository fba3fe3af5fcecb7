#include "filters/ban_table.h"

#include <bit>

namespace sipshield::filters {

namespace {
constexpr uint64_t kBanSeed = 0xba7ba7ba7ull;
}

BanTable::BanTable(uint32_t capacity) {
  const uint32_t slots = std::bit_ceil(capacity < kWays ? kWays : capacity);
  set_mask_ = slots / kWays - 1;
  entries_ = std::make_unique<BanEntry[]>(slots);
}

void BanTable::addLength(const Prefix& prefix, int delta) {
  const int family = prefix.address.v6;
  uint32_t& refs = length_refs_[family][prefix.length];
  const bool was_used = refs != 0;
  refs = static_cast<uint32_t>(static_cast<int>(refs) + delta);
  if (was_used == (refs != 0)) {
    return;
  }
  uint8_t count = 0;
  for (int length = prefix.address.maxLength(); length >= 0; --length) {
    if (length_refs_[family][length] != 0) {
      lengths_[family][count++] = static_cast<uint8_t>(length);
    }
  }
  length_count_[family] = count;
}

bool BanTable::ban(const Prefix& prefix, uint64_t now_ms, uint64_t expires_ms,
                   ShieldReason reason, uint16_t rule, uint64_t rule_id) {
  const uint64_t key = hashPrefix(prefix.address, prefix.length, kBanSeed) | 1;
  BanEntry* ways = set(key);
  BanEntry* victim = nullptr;
  for (uint32_t i = 0; i < kWays; ++i) {
    BanEntry& e = ways[i];
    if (e.key == key && e.prefix == prefix) {
      const bool was_active = e.expires_ms > now_ms;
      if (expires_ms > e.expires_ms) {
        e.expires_ms = expires_ms;
      }
      if (!was_active) {
        e.created_ms = now_ms;
        e.reason = reason;
        e.rule = rule;
        e.rule_id = rule_id;
      }
      return !was_active;
    }
    // An empty slot first, else the ban that ends first (expired ones end "first").
    if (victim == nullptr ||
        (victim->key != 0 && (e.key == 0 || e.expires_ms < victim->expires_ms))) {
      victim = &e;
    }
  }
  if (victim->key != 0) {
    if (victim->expires_ms > now_ms) {
      ++evictions_;
    }
    addLength(victim->prefix, -1);
  }
  *victim = BanEntry{key, now_ms, expires_ms, rule_id, prefix, reason, rule};
  addLength(prefix, +1);
  return true;
}

const BanEntry* BanTable::match(const Address& address, uint64_t now_ms) const {
  const int family = address.v6;
  for (uint8_t i = 0; i < length_count_[family]; ++i) {
    const uint8_t length = lengths_[family][i];
    const uint64_t key = hashPrefix(address, length, kBanSeed) | 1;
    const BanEntry* ways = set(key);
    for (uint32_t w = 0; w < kWays; ++w) {
      const BanEntry& e = ways[w];
      if (e.key == key && e.expires_ms > now_ms && e.prefix.length == length &&
          e.prefix.address == maskAddress(address, length)) {
        return &e;
      }
    }
  }
  return nullptr;
}

bool BanTable::lift(const Prefix& prefix, uint64_t lifted_at_ms) {
  const uint64_t key = hashPrefix(prefix.address, prefix.length, kBanSeed) | 1;
  BanEntry* ways = set(key);
  for (uint32_t i = 0; i < kWays; ++i) {
    BanEntry& e = ways[i];
    if (e.key == key && e.prefix == prefix && e.created_ms <= lifted_at_ms) {
      addLength(e.prefix, -1);
      e = BanEntry{};
      return true;
    }
  }
  return false;
}

size_t BanTable::activeCount(uint64_t now_ms) const {
  size_t n = 0;
  forEachActive(now_ms, [&](const BanEntry&) { ++n; });
  return n;
}

}  // namespace sipshield::filters
