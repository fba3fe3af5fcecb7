#include "filters/nonce_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sipshield::filters {
namespace {

// SipState is SipHash-2-4 fed in one pass over two pieces without copying the text.
class SipState {
 public:
  explicit SipState(const SipHashKey& key)
      : v0_(key.k0 ^ 0x736f6d6570736575ull),
        v1_(key.k1 ^ 0x646f72616e646f6dull),
        v2_(key.k0 ^ 0x6c7967656e657261ull),
        v3_(key.k1 ^ 0x7465646279746573ull) {}

  void update(const uint8_t* data, size_t size) {
    total_ += size;
    while (size > 0) {
      const size_t take = std::min(size, size_t{8} - fill_);
      std::memcpy(buffer_ + fill_, data, take);
      fill_ += take;
      data += take;
      size -= take;
      if (fill_ == 8) {
        uint64_t m = 0;
        for (int i = 7; i >= 0; --i) {
          m = (m << 8) | buffer_[i];  // little-endian word, as the reference does
        }
        compress(m);
        fill_ = 0;
      }
    }
  }

  uint64_t finish() {
    uint64_t b = static_cast<uint64_t>(total_ & 0xff) << 56;
    for (size_t i = 0; i < fill_; ++i) {
      b |= static_cast<uint64_t>(buffer_[i]) << (8 * i);
    }
    compress(b);
    v2_ ^= 0xff;
    for (int i = 0; i < 4; ++i) {
      round();
    }
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  void round() {
    v0_ += v1_;
    v1_ = std::rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = std::rotl(v0_, 32);
    v2_ += v3_;
    v3_ = std::rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = std::rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = std::rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = std::rotl(v2_, 32);
  }
  void compress(uint64_t m) {
    v3_ ^= m;
    round();
    round();
    v0_ ^= m;
  }

  uint64_t v0_, v1_, v2_, v3_;
  uint8_t buffer_[8] = {};
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

}  // namespace

uint64_t sipHash24(const SipHashKey& key, const Address& address, std::string_view text) {
  SipState state(key);
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
