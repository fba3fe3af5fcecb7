#include "filters/shared_ceiling.h"

namespace sipshield::filters {

int64_t SharedBucket::grab(const BucketSpec& spec, uint64_t now_ms, int64_t want_units) {
  uint64_t last = last_ms_.load(std::memory_order_relaxed);
  if (now_ms > last && last_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
    const uint64_t elapsed = now_ms - last;
    // A bucket idle long enough to be full is full (and the product cannot overflow).
    const uint64_t full_after =
        spec.units_per_ms > 0 ? static_cast<uint64_t>(spec.capacity / spec.units_per_ms) + 1 : 0;
    const int64_t add = last == 0 || elapsed >= full_after
                            ? spec.capacity
                            : static_cast<int64_t>(elapsed) * spec.units_per_ms;
    int64_t current = tokens_.load(std::memory_order_relaxed);
    int64_t next = 0;
    do {
      next = current + add > spec.capacity ? spec.capacity : current + add;
    } while (!tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed));
  }
  int64_t current = tokens_.load(std::memory_order_relaxed);
  while (true) {
    // The burst was lowered by a reload: the excess is not there to take.
    const int64_t available = current > spec.capacity ? spec.capacity : current;
    if (available < kTokenUnits) {
      return 0;
    }
    int64_t take = available - available % kTokenUnits;
    if (take > want_units) {
      take = want_units - want_units % kTokenUnits;
    }
    if (take <= 0) {
      return 0;
    }
    if (tokens_.compare_exchange_weak(current, available - take, std::memory_order_relaxed)) {
      return take;
    }
  }
}

SharedCeilings::SharedCeilings() : slots_(std::make_unique<Slot[]>(kSlots)) {}

SharedBucket* SharedCeilings::find(uint64_t name_hash) {
  if (name_hash == 0 || name_hash == kTombstone) {
    return nullptr;
  }
  // Look the name up first: it may sit after tombstones or after other names.
  uint32_t free_at = kSlots;
  for (uint32_t i = 0; i < kSlots; ++i) {
    const uint64_t seen = probe(name_hash, i).name_hash.load(std::memory_order_acquire);
    if (seen == name_hash) {
      return &probe(name_hash, i).bucket;
    }
    if (seen == kTombstone && free_at == kSlots) {
      free_at = i;
    }
    if (seen == 0) {
      free_at = free_at == kSlots ? i : free_at;
      break;
    }
  }
  // Claim the first free slot on the way; on a lost race, look again from there.
  for (uint32_t i = free_at; i < kSlots; ++i) {
    Slot& slot = probe(name_hash, i);
    uint64_t seen = slot.name_hash.load(std::memory_order_acquire);
    if (seen == name_hash) {
      return &slot.bucket;
    }
    if ((seen == 0 || seen == kTombstone) &&
        slot.name_hash.compare_exchange_strong(seen, name_hash, std::memory_order_acq_rel)) {
      // Another worker may have claimed the same name earlier in the sequence meanwhile (it
      // saw a tombstone here as a name, or the reverse): the earliest slot wins.
      const uint32_t first = canonical(name_hash, i);
      if (first != kSlots) {
        slot.name_hash.store(kTombstone, std::memory_order_release);
        return &probe(name_hash, first).bucket;
      }
      return &slot.bucket;
    }
    if (seen == name_hash) {
      return &slot.bucket;
    }
  }
  return nullptr;
}

uint32_t SharedCeilings::canonical(uint64_t name_hash, uint32_t end) const {
  for (uint32_t i = 0; i < end; ++i) {
    const uint64_t seen = probe(name_hash, i).name_hash.load(std::memory_order_acquire);
    if (seen == name_hash) {
      return i;
    }
    if (seen == 0) {
      break;
    }
  }
  return kSlots;
}

size_t SharedCeilings::retainOnly(std::span<const uint64_t> live) {
  size_t released = 0;
  for (uint32_t i = 0; i < kSlots; ++i) {
    Slot& slot = slots_[i];
    const uint64_t name = slot.name_hash.load(std::memory_order_acquire);
    if (name == 0 || name == kTombstone) {
      continue;
    }
    bool keep = false;
    for (uint64_t l : live) {
      keep = keep || l == name;
    }
    if (!keep) {
      // Nobody holds this bucket now (the caller's contract); empty it for the next owner.
      slot.bucket.reset();
      slot.name_hash.store(kTombstone, std::memory_order_release);
      ++released;
    }
  }
  return released;
}

size_t SharedCeilings::used() const {
  size_t n = 0;
  for (uint32_t i = 0; i < kSlots; ++i) {
    const uint64_t name = slots_[i].name_hash.load(std::memory_order_relaxed);
    n += name != 0 && name != kTombstone ? 1 : 0;
  }
  return n;
}

}  // namespace sipshield::filters
