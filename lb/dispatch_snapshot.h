#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lb/maglev.h"

namespace sipshield::lb {

// Per-backend flag bits of a DispatchSnapshot.
inline constexpr uint8_t kBackendAlive = 1;      // Up or Draining: affine calls may stay.
inline constexpr uint8_t kBackendAccepting = 2;  // Up with weight > 0: takes new calls.

// kMaxReprobes bounds the re-hash probes pickNew() makes when both the primary and the fallback
// of a key's slot are unusable (two or more backends out at once).
inline constexpr int kMaxReprobes = 8;

// DispatchSnapshot is the immutable view of the backend set that workers read per burst: the
// Maglev table (shared between snapshots while membership and weights are unchanged) and one
// flag byte per backend index. The control plane builds a new one on every change and publishes
// it with SnapshotPublisher; health changes only copy the flags.
//
// Thread-safety: immutable after construction; any number of threads may read it concurrently.
class DispatchSnapshot {
 public:
  // DispatchSnapshot takes the table (may be null: no backend has weight) and one flag byte per
  // backend index (bits kBackendAlive, kBackendAccepting). `version` identifies the snapshot in
  // metrics. Control plane only (allocates).
  DispatchSnapshot(uint64_t version, std::shared_ptr<const MaglevTable> table,
                   std::vector<uint8_t> flags);

  // version returns the snapshot's version number.
  [[nodiscard]] uint64_t version() const { return version_; }
  // backendCount returns the number of backend indices (including removed ones, never alive).
  [[nodiscard]] uint16_t backendCount() const { return static_cast<uint16_t>(flags_.size()); }
  // alive returns whether `backend` may keep serving calls it already has (Up or Draining).
  // Out-of-range indices are not alive.
  [[nodiscard]] bool alive(uint16_t backend) const {
    return backend < flags_.size() && (flags_[backend] & kBackendAlive) != 0;
  }
  // accepting returns whether `backend` takes new calls (Up, weight > 0).
  [[nodiscard]] bool accepting(uint16_t backend) const {
    return backend < flags_.size() && (flags_[backend] & kBackendAccepting) != 0;
  }
  // anyAccepting returns whether some backend takes new calls.
  [[nodiscard]] bool anyAccepting() const { return any_accepting_; }

  // pickNew chooses the backend for a key with no affinity: the Maglev primary of the key's
  // slot if it accepts new calls, else the slot's precomputed fallback (the Maglev choice
  // without the primary), else up to kMaxReprobes re-hashed slots (primary, then fallback),
  // else the first accepting backend after a key-chosen start. Deterministic, so every
  // instance with the same snapshot agrees.
  // Returns a backend index, or kNoBackend when no backend accepts new calls.
  // Allocation-free; O(1) when at most one backend is out, O(backendCount()) worst case.
  [[nodiscard]] uint16_t pickNew(uint64_t key_hash) const;

  // table returns the Maglev table, or null when no backend has weight.
  [[nodiscard]] const MaglevTable* table() const { return table_.get(); }
  // sharedTable returns the table for reuse by the next snapshot (control plane).
  [[nodiscard]] const std::shared_ptr<const MaglevTable>& sharedTable() const { return table_; }

 private:
  uint64_t version_;
  std::shared_ptr<const MaglevTable> table_;
  std::vector<uint8_t> flags_;
  bool any_accepting_ = false;
};

}  // namespace sipshield::lb
