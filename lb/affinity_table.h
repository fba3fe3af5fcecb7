#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "lb/result.h"

namespace sipshield::lb {

// AffinityConfig sizes the affinity table. Plain data.
struct AffinityConfig {
  // capacity is the number of entries: a power of two >= kAffinityBucketSlots. 1<<20 entries
  // take 8 MiB.
  uint32_t capacity = 1u << 20;
  // idle_timeout_ms is how long an entry lives without being looked up or inserted. SIP calls
  // without session timers can be silent for a long time, hence a long default (1 hour). It is
  // kept at 1.024 s resolution and must be below kAffinityMaxTimeoutMs.
  uint64_t idle_timeout_ms = 3600 * 1000;
};

// kAffinityBucketSlots is the number of 8-byte slots in one 64-byte, cache-line-aligned bucket:
// a key probes exactly one bucket, so every operation touches one cache line.
inline constexpr uint32_t kAffinityBucketSlots = 8;
// kAffinityTickShift converts milliseconds to the table's 1.024-second ticks with a shift.
inline constexpr uint32_t kAffinityTickShift = 10;
// kAffinityMaxTimeoutMs is the largest idle timeout: half the 24-bit tick range (~97 days), so
// that age arithmetic modulo 2^24 stays unambiguous.
inline constexpr uint64_t kAffinityMaxTimeoutMs = (uint64_t{1} << 23) << kAffinityTickShift;

// AffinityInsert says what insert() did. The caller may count these.
enum class AffinityInsert : uint8_t {
  // Inserted: the key took a free or expired slot.
  Inserted,
  // Updated: the key was already present (maybe expired) and now maps to the given backend.
  Updated,
  // EvictedLive: the bucket was full of live entries; the least recently seen one was replaced.
  // That call is not lost: its next message falls back to Maglev, which usually gives the same
  // backend unless the backend set changed since.
  EvictedLive,
  // Contended: other threads changed the bucket on every bounded retry; nothing was written.
  Contended,
};

// AffinityTable maps a 64-bit key hash (normally XXH3 of the Call-ID) to a backend index and the
// time it was last seen, so that calls in progress stay on their backend when the backend set
// changes. It is the one writable table shared by every worker (DESIGN.md).
//
// Layout: a power-of-two array of 64-byte buckets of eight std::atomic<uint64_t> words. The low
// bits of the key choose the bucket; each word packs
//   [63..40] a 24-bit fingerprint (the key's top 24 bits, 0 remapped to 1)
//   [39..24] the backend index
//   [23..0]  the last-seen time in 1.024 s ticks, modulo 2^24
// and 0 means empty. A key is therefore identified by log2(buckets) + 24 bits (41 bits with the
// default 2^17 buckets); a foreign key matches with probability about 8 / 2^24 per lookup, and
// then merely gets a live backend another call uses, which is harmless for load balancing.
// AffinityProbe is what a lookup saw in the key's bucket, for an insert of the same key that
// follows it (the dispatcher's miss path): the slot the insert would take and the word it held,
// so the insert is one CAS instead of a second scan of the bucket.
struct AffinityProbe {
  uint64_t seen = 0;  // the word the slot held
  int slot = -1;      // -1: nothing probed
  AffinityInsert outcome = AffinityInsert::Inserted;
};

// Because each word carries the whole entry, every update is a single-word CAS: no locks, no
// torn entries, and no allocation after construction.
//
// Thread-safety: every method may be called concurrently from any thread. Races are benign and
// bounded: two threads inserting the same new key at once may create two equal entries (the
// duplicate ages out); a lookup may miss an insert that is in flight.
class AffinityTable {
 public:
  // create validates `config` and allocates the whole table (zeroed).
  // Returns the table, or InvalidArgument when capacity is not a power of two
  // >= kAffinityBucketSlots or <= 2^31, or the idle timeout is 0 or >= kAffinityMaxTimeoutMs.
  // Not for the fast path (allocates).
  [[nodiscard]] static Result<std::unique_ptr<AffinityTable>> create(const AffinityConfig& config);

  AffinityTable(const AffinityTable&) = delete;
  AffinityTable& operator=(const AffinityTable&) = delete;

  // lookup returns the backend of `key_hash` if a live entry exists, and refreshes its
  // last-seen time to `now_ms` (one CAS, only when the tick changed). Returns nullopt when the
  // key is absent or expired. Lock-free, allocation-free, one cache line.
  // With `probe`, a miss also records where insert() would put the key (see AffinityProbe).
  [[nodiscard]] std::optional<uint16_t> lookup(uint64_t key_hash, uint64_t now_ms,
                                               AffinityProbe* probe = nullptr) {
    const int backend = lookupBackend(key_hash, now_ms, probe);
    return backend < 0 ? std::nullopt : std::optional<uint16_t>(static_cast<uint16_t>(backend));
  }
  // lookupBackend is lookup with -1 for nullopt, for the fast path: an int comes back in a
  // register, where GCC returns an optional built in memory (a 2-byte value and a flag) and
  // reloads it with one wider load that cannot forward from those stores, a stall on every
  // dispatch (perf: three quarters of lookup's time).
  [[nodiscard]] int lookupBackend(uint64_t key_hash, uint64_t now_ms,
                                  AffinityProbe* probe = nullptr);

  // insert maps `key_hash` to `backend` as seen at `now_ms`: it updates the key's entry if
  // present, else takes an empty or expired slot, else evicts the least recently seen entry of
  // the bucket. Returns what happened (see AffinityInsert). Lock-free, bounded retries,
  // allocation-free.
  // With the `probe` of a lookup that missed, it first tries one CAS at the probed slot, and
  // scans the bucket as above only if another thread changed that slot since.
  AffinityInsert insert(uint64_t key_hash, uint16_t backend, uint64_t now_ms,
                        const AffinityProbe* probe = nullptr);

  // erase removes the key's entries. Returns whether one was removed. Lock-free.
  bool erase(uint64_t key_hash);

  // eraseBackend removes every entry pointing to `backend` (e.g. a backend removed from the
  // configuration). O(capacity): control plane only. Returns the number removed. Entries of
  // backends that are merely Down need not be erased: the dispatcher re-picks them lazily.
  size_t eraseBackend(uint16_t backend);

  // sweepExpired clears expired entries in buckets [first_bucket, first_bucket + count) (clamped
  // to bucketCount()), so a control thread can age the table incrementally and the 24-bit tick
  // never wraps onto an entry. Returns the number cleared.
  size_t sweepExpired(uint64_t now_ms, uint32_t first_bucket, uint32_t count);

  // countLive counts live entries at `now_ms`. O(capacity): tests and metrics only.
  [[nodiscard]] size_t countLive(uint64_t now_ms) const;

  // prefetch hints the bucket of `key_hash` into cache; call it one packet ahead.
  void prefetch(uint64_t key_hash) const {
    __builtin_prefetch(&buckets_[key_hash & bucket_mask_]);
  }

  // capacity returns the number of entries; bucketCount the number of buckets.
  [[nodiscard]] uint32_t capacity() const { return (bucket_mask_ + 1) * kAffinityBucketSlots; }
  [[nodiscard]] uint32_t bucketCount() const { return bucket_mask_ + 1; }

 private:
  struct alignas(64) Bucket {
    std::array<std::atomic<uint64_t>, kAffinityBucketSlots> slots;
  };

  AffinityTable(uint32_t bucket_count, uint32_t timeout_ticks);

  [[nodiscard]] bool expired(uint64_t word, uint32_t now_tick) const;

  std::unique_ptr<Bucket[]> buckets_;
  uint32_t bucket_mask_;
  uint32_t timeout_ticks_;
};

}  // namespace sipshield::lb
