#include "filters/nonce_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "parser/siphash.h"

namespace sipshield::filters {

uint64_t sipHash24(const SipHashKey& key, const Address& address, std::string_view text) {
  parser::SipHash24 state(key.k0, key.k1);
  state.update(&address.v6, 1);
  state.update(address.bytes, sizeof(address.bytes));
  state.update(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  return state.finish();
}

NonceTable::NonceTable(uint32_t capacity, const SipHashKey& key) : key_(key) {
  const uint32_t entries = std::bit_ceil(capacity < kWays ? kWays : capacity);
  set_mask_ = entries / kWays - 1;
  sets_ = std::make_unique<Set[]>(set_mask_ + 1);
}

void NonceTable::record(const Address& client, std::string_view nonce, uint64_t expires_ms) {
  const uint64_t hash = sipHash24(key_, client, nonce);
  const uint64_t tag = hash | 1;
  Set& set = sets_[static_cast<uint32_t>(hash >> 32) & set_mask_];
  Entry* victim = &set.ways[0];
  uint64_t victim_expiry = victim->expires_ms.load(std::memory_order_relaxed);
  for (Entry& way : set.ways) {
    const uint64_t expiry = way.expires_ms.load(std::memory_order_relaxed);
    if (way.tag.load(std::memory_order_relaxed) == tag) {
      // The same challenge relayed again (a retransmitted 401): extend, never shorten.
      if (expires_ms > expiry) {
        way.expires_ms.store(expires_ms, std::memory_order_relaxed);
      }
      return;
    }
    if (expiry < victim_expiry) {
      victim = &way;
      victim_expiry = expiry;
    }
  }
  // Expiry first: a reader that sees the new tag with the old expiry sees a genuine tag.
  victim->tag.store(0, std::memory_order_relaxed);
  victim->expires_ms.store(expires_ms, std::memory_order_relaxed);
  victim->tag.store(tag, std::memory_order_release);
}

bool NonceTable::matches(const Address& client, std::string_view nonce, uint64_t now_ms) const {
  if (nonce.empty()) {
    return false;
  }
  const uint64_t hash = sipHash24(key_, client, nonce);
  const uint64_t tag = hash | 1;
  const Set& set = sets_[static_cast<uint32_t>(hash >> 32) & set_mask_];
  for (const Entry& way : set.ways) {
    if (way.tag.load(std::memory_order_acquire) == tag &&
        way.expires_ms.load(std::memory_order_relaxed) > now_ms) {
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::filters
