#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "filters/address.h"

namespace sipshield::filters {

// SipHashKey is the 128-bit secret of the nonce table's keyed hash.
struct SipHashKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// sipHash24 is SipHash-2-4 (Aumasson & Bernstein, 2012) of `address` (family byte and all 16
// address bytes) followed by `text`, under `key`: a PRF, so without the key nobody can make a
// (address, nonce) pair land on a recorded entry. Thread-safe, allocation-free.
[[nodiscard]] uint64_t sipHash24(const SipHashKey& key, const Address& address,
                                 std::string_view text);

// NonceTable remembers which Digest nonces a backend challenged which client address with
// (issue 4 "return routability"): when the pipeline relays a 401/407 toward a client it
// records keyed-hash(client address, nonce); a later request from that address whose
// Authorization/Proxy-Authorization carries the same nonce proves the client received our
// relayed response, so it is not spoofing its source.
//
// Fixed size (allocated once): sets of kWays 16-byte entries, one cache line per set; a new
// entry takes an empty or expired way, else the way expiring first (overwrite/age-out: the
// table never grows, a flood of challenges only ages entries out sooner).
//
// Thread-safety: shared by every worker (a 401 may be relayed by one worker and answered
// through another: sockets are picked by the kernel's 4-tuple hash), lock-free. Each field
// is a relaxed atomic word; a reader racing a writer may see a new tag with an older expiry
// or the reverse, and both halves were written for real challenges, so a race can misdate a
// genuine entry by at most its TTL but never accept a nonce nobody recorded.
class NonceTable {
 public:
  static constexpr uint32_t kWays = 4;

  // NonceTable allocates `capacity` entries (rounded up to a power of two, at least kWays)
  // once; `key` is the keyed hash's secret (the daemon draws it at start).
  NonceTable(uint32_t capacity, const SipHashKey& key);
  NonceTable(const NonceTable&) = delete;
  NonceTable& operator=(const NonceTable&) = delete;

  // record remembers that `nonce` was relayed to `client` until `expires_ms`. Any thread.
  void record(const Address& client, std::string_view nonce, uint64_t expires_ms);

  // matches says whether `nonce` was recorded for `client` and its entry is unexpired at
  // `now_ms`. Any thread.
  [[nodiscard]] bool matches(const Address& client, std::string_view nonce,
                             uint64_t now_ms) const;

  [[nodiscard]] uint32_t capacity() const { return (set_mask_ + 1) * kWays; }
  // memoryBytes is the table's footprint; constant for its life.
  [[nodiscard]] size_t memoryBytes() const { return sizeof(Entry) * capacity(); }

 private:
  struct Entry {
    std::atomic<uint64_t> tag{0};         // hash | 1; 0 = empty
    std::atomic<uint64_t> expires_ms{0};
  };
  struct alignas(64) Set {
    Entry ways[kWays];
  };
  static_assert(sizeof(Set) == 64, "one cache line per set");

  std::unique_ptr<Set[]> sets_;
  uint32_t set_mask_ = 0;
  SipHashKey key_;
};

}  // namespace sipshield::filters
