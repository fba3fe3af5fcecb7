#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "filters/token_bucket.h"

namespace sipshield::filters {

// SharedBucket is one global per-class ceiling's token bucket, shared by every worker, so the
// configured rate is the whole process's (not N workers x the rate). Lock-free: the tokens and
// the refill time are two atomic words; whoever advances `last_ms` with a compare-and-swap
// credits the refill for that interval (so no interval is credited twice), clamped to the
// burst in the same CAS loop. Workers take tokens in small batches (RateLimitRule::
// share_batch) into a per-worker stash, so the shared cache line is touched about once per
// batch, not once per packet. Tokens are never created by the split: every packet that passes
// spent a token the shared bucket refilled, so all workers together pass at most
// burst + rate x time; a worker's stash holds at most one batch.
//
// Thread-safety: any thread; lock-free, allocation-free.
class alignas(64) SharedBucket {
 public:
  // grab refills the bucket for the time up to `now_ms` (a worker whose clock lags another's
  // refills nothing) and takes up to `want_units` (whole tokens, in kTokenUnits) of what it
  // holds. Returns the units taken: a multiple of kTokenUnits, 0 when the bucket is empty.
  [[nodiscard]] int64_t grab(const BucketSpec& spec, uint64_t now_ms, int64_t want_units);

  // tokens is the current fill in units (tests).
  [[nodiscard]] int64_t tokens() const { return tokens_.load(std::memory_order_relaxed); }

  // reset makes the bucket as new (its first grab fills it). Only while nobody grabs.
  void reset() {
    tokens_.store(0, std::memory_order_relaxed);
    last_ms_.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> tokens_{0};
  std::atomic<uint64_t> last_ms_{0};  // 0 = never used: the first grab fills the bucket
};

// SharedCeilings holds the SharedBucket of every global rate-limit rule, found by the rule's
// name hash, so a reload that keeps a rule's name keeps its bucket (as the per-worker buckets
// do). Fixed size: kSlots names; a rule that finds the table full gets null and its chain
// falls back to a per-worker bucket. Slots of names no rule uses any more are given back by
// the control thread (retainOnly) once every worker runs the rules without them, so renames
// over a long uptime do not fill the table.
//
// Linear probing with tombstones: a released slot becomes a tombstone, which lookups step
// over (a live name placed after it stays reachable) and a new name may take. A name has one
// canonical slot, the first in its probe sequence holding it: a worker that claimed a later
// one concurrently with another claiming an earlier one gives its own back.
//
// Thread-safety: find from any thread (lock-free, CAS claims); retainOnly from one control
// thread, only while no worker still uses a rule named outside `live` (see retainOnly).
class SharedCeilings {
 public:
  static constexpr uint32_t kSlots = 512;

  SharedCeilings();
  SharedCeilings(const SharedCeilings&) = delete;
  SharedCeilings& operator=(const SharedCeilings&) = delete;

  // find returns the bucket of the rule named by `name_hash` (hashName of its name, never 0),
  // claiming a free slot the first time; null when all kSlots are taken by other names.
  // Called when a worker installs new rules, not per packet (a linear probe).
  [[nodiscard]] SharedBucket* find(uint64_t name_hash);

  // retainOnly gives back the slot of every name not in `live` (the name hashes of the global
  // rules now published) and empties its bucket, so the name's next claim starts full.
  // Control thread only, and only when no worker can still hold rules naming a released slot:
  // after every worker has passed the snapshot that carries `live` (SnapshotPublisher::reclaim
  // returned 0) — a worker re-resolves its buckets with find() before it uses new rules.
  // Returns how many slots it released.
  size_t retainOnly(std::span<const uint64_t> live);

  // used is the number of names holding a slot (tests, metrics).
  [[nodiscard]] size_t used() const;

  [[nodiscard]] size_t memoryBytes() const { return sizeof(Slot) * kSlots; }

 private:
  // Slot states in name_hash: 0 never used (ends every probe), kTombstone released (probes
  // step over it), anything else the name that owns the slot.
  static constexpr uint64_t kTombstone = ~0ull;

  struct Slot {
    std::atomic<uint64_t> name_hash{0};
    SharedBucket bucket;
  };

  // canonical returns the first slot of `name_hash`'s probe sequence before `end` (a probe
  // index) that holds it, or kSlots.
  [[nodiscard]] uint32_t canonical(uint64_t name_hash, uint32_t end) const;
  [[nodiscard]] Slot& probe(uint64_t name_hash, uint32_t i) const {
    return slots_[(static_cast<uint32_t>(name_hash) % kSlots + i) % kSlots];
  }

  std::unique_ptr<Slot[]> slots_;
};

}  // namespace sipshield::filters
