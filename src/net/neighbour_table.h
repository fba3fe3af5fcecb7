#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "src/net/endpoint.h"
#include "src/net/frame.h"

namespace sipshield::net {

// NeighbourTable maps next-hop IP addresses (IPv4 and IPv6) to Ethernet addresses, learned
// from ARP and neighbour discovery. It is the one piece of L2 state every DPDK worker shares:
// an ARP reply lands on whichever queue the NIC picks, yet every worker must see it.
//
// Fixed capacity, open addressing, no deletion (entries are refreshed, never removed; a full
// table refuses new next hops, which callers count). Lock-free: a slot's key is published
// once with a release store; the MAC is one atomic 64-bit word. Lookups are wait-free; an
// insert may spin for the few instructions another thread needs to publish the same slot.
// Thread-safe for any number of readers and writers.
class NeighbourTable {
 private:
  struct Slot;

 public:
  // Entry is a stable handle to one address's slot: slots are never removed or given to another
  // address, so a caller may keep an Entry and read the current MAC through it (lookup(Entry):
  // no hashing, no probing; an ARP/ND update is seen at once). A default Entry refers to nothing.
  class Entry {
   public:
    [[nodiscard]] bool valid() const { return slot_ != nullptr; }

   private:
    friend class NeighbourTable;
    const Slot* slot_ = nullptr;
  };

  // NeighbourTable allocates `capacity` slots (rounded up to a power of two, at least 16).
  // Allocates once; nothing else allocates.
  explicit NeighbourTable(uint32_t capacity);

  // lookup copies the MAC of `ip` into `mac` and returns true when it is resolved.
  [[nodiscard]] bool lookup(const IpAddress& ip, MacAddress& mac) const;

  // entry returns the handle of `ip`'s slot, resolved or not; an invalid Entry when `ip` has
  // none yet (shouldSolicit and learn create slots).
  [[nodiscard]] Entry entry(const IpAddress& ip) const;
  // lookup(entry, mac) is lookup(ip, mac) for the address `entry` was taken for; false for an
  // invalid Entry.
  [[nodiscard]] bool lookup(Entry entry, MacAddress& mac) const;

  // learn records that `ip` is at `mac` (at `now_ms`). Returns false when the table is full.
  bool learn(const IpAddress& ip, const MacAddress& mac, uint64_t now_ms);

  // update refreshes `ip` only if it is already in the table (RFC 826's merge rule: learn
  // from every ARP packet about a host we already talk to, but only create entries for
  // packets addressed to us). Returns whether it was present.
  bool update(const IpAddress& ip, const MacAddress& mac, uint64_t now_ms);

  // shouldSolicit says whether the caller should send an ARP request / neighbour
  // solicitation for `ip` now: true when no solicitation was sent in the last `interval_ms`
  // (and records `now_ms` as sent). Creates an unresolved entry if needed; false when the
  // table is full.
  [[nodiscard]] bool shouldSolicit(const IpAddress& ip, uint64_t now_ms, uint64_t interval_ms);

  // size returns the number of slots in use (resolved or not).
  [[nodiscard]] uint32_t size() const { return used_.load(std::memory_order_relaxed); }
  // capacity returns the number of slots.
  [[nodiscard]] uint32_t capacity() const { return mask_ + 1; }

 private:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kWriting = 1;
  static constexpr uint32_t kReady = 2;
  static constexpr uint64_t kResolved = 1ull << 63;

  struct alignas(64) Slot {
    std::atomic<uint32_t> state{kEmpty};
    IpAddress key;
    std::atomic<uint64_t> mac{0};  // kResolved | 48-bit MAC, or 0 while unresolved
    std::atomic<uint64_t> updated_ms{0};
    std::atomic<uint64_t> solicited_ms{0};
  };

  [[nodiscard]] const Slot* find(const IpAddress& ip) const;
  Slot* findOrInsert(const IpAddress& ip);
  [[nodiscard]] uint32_t hash(const IpAddress& ip) const;

  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_;
  std::atomic<uint32_t> used_{0};
};

}  // namespace sipshield::net
