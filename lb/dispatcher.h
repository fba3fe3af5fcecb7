#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "lb/affinity_table.h"
#include "lb/dispatch_snapshot.h"

namespace sipshield::lb {

// KeyKind selects which message fields identify a "call" for backend selection (from config).
enum class KeyKind : uint8_t {
  // CallId: the Call-ID header value; every message of a dialog reaches the same backend.
  CallId,
  // SourceIp: the packet's source address; every message from one host reaches one backend.
  SourceIp,
  // FromTagCallId: From-tag and Call-ID, for deployments where Call-IDs collide across UAs.
  FromTagCallId,
};

// hashCallId returns XXH3-64 of the Call-ID bytes exactly as given (the caller trims LWS; no
// case folding, since RFC 3261 §20.8 compares Call-IDs byte for byte). Thread-safe; pure.
[[nodiscard]] uint64_t hashCallId(std::string_view call_id);

// hashSourceIp returns XXH3-64 of a raw IPv4 (4 bytes) or IPv6 (16 bytes) address in network
// order. IPv4-mapped IPv6 (::ffff:a.b.c.d) hashes like the IPv4 address, so dual-stack sockets
// agree with IPv4 ones. Other lengths are hashed as given. Thread-safe; pure.
[[nodiscard]] uint64_t hashSourceIp(std::span<const uint8_t> address);

// hashFromTagCallId returns XXH3-64 of the Call-ID seeded with XXH3-64 of the From-tag, so the
// pair is hashed without concatenating into a buffer. Thread-safe; pure.
[[nodiscard]] uint64_t hashFromTagCallId(std::string_view from_tag, std::string_view call_id);

// KeyFields carries the fields a KeyKind may need; views into the packet, not owned.
struct KeyFields {
  std::string_view call_id;
  std::string_view from_tag;
  std::span<const uint8_t> source_ip;
};

// dispatchKey hashes the fields `kind` selects. Thread-safe; pure.
[[nodiscard]] uint64_t dispatchKey(KeyKind kind, const KeyFields& fields);

// The dispatcher's counters; one X-macro list gives the enum and the names.
#define SIPSHIELD_LB_DISPATCH_COUNTERS(X)                                                   \
  X(AffinityHit, "affinity_hit")             /* existing call stayed on its backend */     \
  X(AffinityMiss, "affinity_miss")           /* no entry: chosen by Maglev */              \
  X(AffinityRemapped, "affinity_remapped")   /* entry pointed to a Down backend */         \
  X(AffinityInserted, "affinity_inserted")   /* new entry written */                       \
  X(AffinityEvicted, "affinity_evicted")     /* insert evicted a live entry */             \
  X(AffinitySkippedFlood, "affinity_skipped_flood") /* insert skipped under flood */       \
  X(NoBackend, "no_backend")                 /* no backend accepts calls */

// DispatchCounter indexes DispatchStats::counts.
enum class DispatchCounter : uint8_t {
#define SIPSHIELD_LB_X(name, text) name,
  SIPSHIELD_LB_DISPATCH_COUNTERS(SIPSHIELD_LB_X)
#undef SIPSHIELD_LB_X
      Count
};

// dispatchCounterName returns the metric name of `c`. Thread-safe.
[[nodiscard]] const char* dispatchCounterName(DispatchCounter c);

// DispatchStats are one worker's dispatcher counters; the control plane sums workers.
struct DispatchStats {
  uint64_t counts[static_cast<size_t>(DispatchCounter::Count)] = {};
  [[nodiscard]] uint64_t get(DispatchCounter c) const { return counts[static_cast<size_t>(c)]; }
};

// Dispatcher picks the backend for a key: an existing call stays on its backend (affinity
// table) unless that backend is Down; a new key goes through the snapshot's Maglev table.
// One Dispatcher per worker: it holds the worker's current snapshot pointer and counters.
//
// Thread-safety: not thread-safe (per worker). The AffinityTable it points to is shared and
// lock-free. Allocation-free and lock-free per call.
class Dispatcher {
 public:
  // Dispatcher uses `affinity` (shared by all workers; may be null for stateless hashing).
  explicit Dispatcher(AffinityTable* affinity) : affinity_(affinity) {}

  // setSnapshot sets the snapshot used by pick() until the next call; call it at the start of
  // each burst with SnapshotPublisher::current(). `snapshot` may be null (then kNoBackend).
  void setSnapshot(const DispatchSnapshot* snapshot) { snapshot_ = snapshot; }

  // setUnderFlood turns off affinity inserts ("under flood, do less"): new keys are hashed
  // statelessly through Maglev, existing entries are still honoured and refreshed.
  void setUnderFlood(bool under_flood) { under_flood_ = under_flood; }

  // pick returns the backend index for `key_hash` at `now_ms` (milliseconds, monotonic):
  // the affinity entry if its backend is alive (Up or Draining); otherwise the snapshot's
  // pickNew(), which is then recorded in the affinity table unless under flood. An entry whose
  // backend is Down is overwritten with the new choice so the call stays together from now on.
  // Returns kNoBackend when no backend can take the key (count it as a NoBackend drop).
  [[nodiscard]] uint16_t pick(uint64_t key_hash, uint64_t now_ms);

  // pickStateless returns snapshot->pickNew(key_hash) without touching the affinity table
  // (for messages that never need affinity, e.g. out-of-dialog OPTIONS).
  [[nodiscard]] uint16_t pickStateless(uint64_t key_hash) const {
    return snapshot_ == nullptr ? kNoBackend : snapshot_->pickNew(key_hash);
  }

  // prefetch hints the affinity bucket of `key_hash` into cache one packet ahead.
  void prefetch(uint64_t key_hash) const {
    if (affinity_ != nullptr) {
      affinity_->prefetch(key_hash);
    }
  }

  // stats returns this worker's counters.
  [[nodiscard]] const DispatchStats& stats() const { return stats_; }

 private:
  void count(DispatchCounter c) { ++stats_.counts[static_cast<size_t>(c)]; }

  AffinityTable* affinity_;
  const DispatchSnapshot* snapshot_ = nullptr;
  bool under_flood_ = false;
  DispatchStats stats_;
};

}  // namespace sipshield::lb
