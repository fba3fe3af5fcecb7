#include "src/net/neighbour_table.h"

namespace sipshield::net {
namespace {

uint64_t packMac(const MacAddress& mac) {
  uint64_t word = 0;
  for (uint8_t byte : mac.bytes) {
    word = (word << 8) | byte;
  }
  return word;
}

MacAddress unpackMac(uint64_t word) {
  MacAddress mac;
  for (int i = 5; i >= 0; --i) {
    mac.bytes[i] = static_cast<uint8_t>(word);
    word >>= 8;
  }
  return mac;
}

}  // namespace

NeighbourTable::NeighbourTable(uint32_t capacity) {
  uint32_t size = 16;
  while (size < capacity && size < (1u << 30)) {
    size <<= 1;
  }
  slots_ = std::make_unique<Slot[]>(size);
  mask_ = size - 1;
}

uint32_t NeighbourTable::hash(const IpAddress& ip) const {
  // FNV-1a over the address bytes: next hops are few, and any spread is good enough.
  uint32_t h = 2166136261u ^ ip.family;
  for (size_t i = 0; i < ip.size(); ++i) {
    h = (h ^ ip.bytes[i]) * 16777619u;
  }
  return h & mask_;
}

const NeighbourTable::Slot* NeighbourTable::find(const IpAddress& ip) const {
  uint32_t index = hash(ip);
  for (uint32_t probes = 0; probes <= mask_; ++probes, index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    const uint32_t state = slot.state.load(std::memory_order_acquire);
    if (state == kEmpty) {
      return nullptr;
    }
    // A slot still being written cannot be ours yet: the writer publishes before use.
    if (state == kReady && slot.key == ip) {
      return &slot;
    }
  }
  return nullptr;
}

NeighbourTable::Slot* NeighbourTable::findOrInsert(const IpAddress& ip) {
  uint32_t index = hash(ip);
  for (uint32_t probes = 0; probes <= mask_; ++probes, index = (index + 1) & mask_) {
    Slot& slot = slots_[index];
    uint32_t state = slot.state.load(std::memory_order_acquire);
    if (state == kEmpty) {
      uint32_t expected = kEmpty;
      if (slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acq_rel)) {
        slot.key = ip;
        slot.state.store(kReady, std::memory_order_release);
        used_.fetch_add(1, std::memory_order_relaxed);
        return &slot;
      }
      state = expected;
    }
    // Another writer is publishing this slot: wait for its key, which may be ours.
    while (state == kWriting) {
      state = slot.state.load(std::memory_order_acquire);
    }
    if (slot.key == ip) {
      return &slot;
    }
  }
  return nullptr;
}

bool NeighbourTable::lookup(const IpAddress& ip, MacAddress& mac) const {
  return lookup(entry(ip), mac);
}

NeighbourTable::Entry NeighbourTable::entry(const IpAddress& ip) const {
  Entry out;
  out.slot_ = find(ip);
  return out;
}

bool NeighbourTable::lookup(Entry entry, MacAddress& mac) const {
  if (entry.slot_ == nullptr) {
    return false;
  }
  const uint64_t word = entry.slot_->mac.load(std::memory_order_acquire);
  if ((word & kResolved) == 0) {
    return false;
  }
  mac = unpackMac(word);
  return true;
}

bool NeighbourTable::learn(const IpAddress& ip, const MacAddress& mac, uint64_t now_ms) {
  Slot* slot = findOrInsert(ip);
  if (slot == nullptr) {
    return false;
  }
  slot->mac.store(kResolved | packMac(mac), std::memory_order_release);
  slot->updated_ms.store(now_ms, std::memory_order_relaxed);
  return true;
}

bool NeighbourTable::update(const IpAddress& ip, const MacAddress& mac, uint64_t now_ms) {
  Slot* slot = const_cast<Slot*>(find(ip));
  if (slot == nullptr) {
    return false;
  }
  slot->mac.store(kResolved | packMac(mac), std::memory_order_release);
  slot->updated_ms.store(now_ms, std::memory_order_relaxed);
  return true;
}

bool NeighbourTable::shouldSolicit(const IpAddress& ip, uint64_t now_ms, uint64_t interval_ms) {
  Slot* slot = findOrInsert(ip);
  if (slot == nullptr) {
    return false;
  }
  uint64_t last = slot->solicited_ms.load(std::memory_order_relaxed);
  // last == 0 means never solicited; otherwise only one worker wins each interval.
  while (last == 0 || now_ms - last >= interval_ms) {
    const uint64_t stamp = now_ms == 0 ? 1 : now_ms;
    if (slot->solicited_ms.compare_exchange_weak(last, stamp, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::net
