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
  if (name_hash == 0) {
    return nullptr;
  }
  const uint32_t start = static_cast<uint32_t>(name_hash) % kSlots;
  for (uint32_t i = 0; i < kSlots; ++i) {
    Slot& slot = slots_[(start + i) % kSlots];
    uint64_t seen = slot.name_hash.load(std::memory_order_acquire);
    if (seen == 0 && slot.name_hash.compare_exchange_strong(seen, name_hash,
                                                            std::memory_order_acq_rel)) {
      return &slot.bucket;
    }
    if (seen == name_hash) {
      return &slot.bucket;
    }
  }
  return nullptr;
}

}  // namespace sipshield::filters
