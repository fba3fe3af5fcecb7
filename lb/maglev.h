#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lb/result.h"

namespace sipshield::lb {

// MaglevBackend is one input row of the Maglev build. Plain data.
struct MaglevBackend {
  // id is a stable identity of the backend (e.g. a 32-bit hash of its configured name). It is
  // mixed into the permutation together with `seed`, so it must not depend on config order.
  uint32_t id = 0;
  // weight is the relative share of slots. 0 means the backend gets no slot at all.
  uint32_t weight = 0;
  // seed is a stable 64-bit hash of the backend's name. Backends must differ in (id, seed).
  uint64_t seed = 0;
};

// kDefaultMaglevTableSize is the prime table size of the Maglev paper's and katran's default.
inline constexpr uint32_t kDefaultMaglevTableSize = 65537;
// kMaxMaglevTableSize bounds the build's memory (two uint16 per slot) and time.
inline constexpr uint32_t kMaxMaglevTableSize = 1u << 24;
// kNoBackend is the entry for "no backend": an empty pool, or no usable fallback.
inline constexpr uint16_t kNoBackend = 0xFFFF;
// kMaxMaglevBackends is the largest backend count: entries are uint16 and kNoBackend is reserved.
inline constexpr uint32_t kMaxMaglevBackends = 0xFFFF;

// isPrime returns whether `n` is prime (deterministic trial division; n < 2^32).
// Thread-safe; pure.
[[nodiscard]] bool isPrime(uint32_t n);

// buildMaglevTable builds the Maglev lookup table (Eisenbud et al., NSDI 2016, Algorithm 1)
// for `backends`. It is a pure function of its inputs: the same backends and size give the same
// table on every machine, which is what lets several sipshield instances agree on every call.
//
// Each backend walks its own permutation of the slots (offset and skip from XXH3 of id+seed)
// and claims the next free slot when it takes a turn. Weights are honoured by the number of
// turns: in every round each backend adds its weight to a credit and takes one turn per
// `max_weight` of credit, so shares are proportional to weights (the idea of katran's
// MaglevHashV2, written independently). Weight-0 backends take no turns and get no slots.
//
// Params: `backends` is the backend list; entry i of the table is an index into it.
//   `table_size` must be a prime in [backends.size(), kMaxMaglevTableSize].
// Returns the table (every slot filled with an index of a weight>0 backend), or
//   InvalidArgument when `backends` is empty, larger than kMaxMaglevBackends, all weights are
//   0, or `table_size` is not a prime in range.
// Thread-safe; allocates; control plane only (about 1.0-1.2 ms for 65537 slots and
// 10-100 backends).
[[nodiscard]] Result<std::vector<uint16_t>> buildMaglevTable(
    std::span<const MaglevBackend> backends, uint32_t table_size = kDefaultMaglevTableSize);

// buildMaglevFallback computes, for every slot, the backend that slot would map to if its
// primary backend were removed from the set: fallback[s] = Maglev(backends - {table[s]})[s].
// It is built with one extra Maglev build per backend that owns slots.
//
// Why this design: it makes the per-packet "skip a down backend" step O(1) and allocation-free
// (one more array read), it moves only the keys of the down backend (no other key changes
// backend, unlike a rebuild), and those keys spread exactly as Maglev spreads a removed
// backend's slots, which is near-uniform (tested: no survivor gets > 1.3x its fair share).
// Cost: O(owners * table build), about 13 ms for 10 backends and 130 ms for 100 (65537
// slots), paid only when membership or weights change, never on health changes.
//
// Params: `backends` and `table_size` as given to buildMaglevTable; `table` its result.
// Returns the fallback array (kNoBackend where no other weight>0 backend exists), or
//   InvalidArgument for the same reasons as buildMaglevTable or a table of the wrong size.
// Thread-safe; allocates; control plane only.
[[nodiscard]] Result<std::vector<uint16_t>> buildMaglevFallback(
    std::span<const MaglevBackend> backends, std::span<const uint16_t> table,
    uint32_t table_size = kDefaultMaglevTableSize);

// maglevSlot maps a 64-bit key hash to a slot in [0, table_size) with one multiply
// (Lemire's fast range reduction) instead of a 64-bit division; it uses the high bits of the
// hash, which XXH3 mixes well. Thread-safe; pure.
[[nodiscard]] inline uint32_t maglevSlot(uint64_t key_hash, uint32_t table_size) {
  __extension__ using Uint128 = unsigned __int128;  // GCC/Clang builtin; silences -Wpedantic.
  return static_cast<uint32_t>((static_cast<Uint128>(key_hash) * table_size) >> 64);
}

// MaglevTable is the immutable pair (primary table, per-slot fallback) that a DispatchSnapshot
// shares. Thread-safe for concurrent readers once built (it never changes).
class MaglevTable {
 public:
  // build runs buildMaglevTable and, when `with_fallback`, buildMaglevFallback.
  // Returns the table or the InvalidArgument of the builders. Control plane only.
  [[nodiscard]] static Result<MaglevTable> build(std::span<const MaglevBackend> backends,
                                                 uint32_t table_size = kDefaultMaglevTableSize,
                                                 bool with_fallback = true);

  // size returns the number of slots (a prime).
  [[nodiscard]] uint32_t size() const { return size_; }
  // slotOf maps a key hash to its slot.
  [[nodiscard]] uint32_t slotOf(uint64_t key_hash) const { return maglevSlot(key_hash, size_); }
  // primary returns the backend index owning `slot` (< size()).
  [[nodiscard]] uint16_t primary(uint32_t slot) const { return primary_[slot]; }
  // fallback returns the backend for `slot` when its primary is unusable, or kNoBackend when
  // built without fallback or when there is no other backend.
  [[nodiscard]] uint16_t fallback(uint32_t slot) const {
    return fallback_.empty() ? kNoBackend : fallback_[slot];
  }
  // entries and fallbacks expose the arrays for tests and metrics.
  [[nodiscard]] std::span<const uint16_t> entries() const { return primary_; }
  [[nodiscard]] std::span<const uint16_t> fallbacks() const { return fallback_; }

 private:
  MaglevTable() = default;
  uint32_t size_ = 0;
  std::vector<uint16_t> primary_;
  std::vector<uint16_t> fallback_;
};

}  // namespace sipshield::lb
