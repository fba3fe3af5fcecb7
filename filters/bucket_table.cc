#include "filters/bucket_table.h"

#include <bit>

namespace sipshield::filters {

BucketTable::BucketTable(uint32_t capacity) {
  const uint32_t slots = std::bit_ceil(capacity < kWays ? kWays : capacity);
  set_mask_ = slots / kWays - 1;
  entries_ = std::make_unique<BucketEntry[]>(slots);
}

BucketEntry& BucketTable::acquire(uint64_t key, uint64_t now_ms, int64_t initial_tokens,
                                  bool& inserted) {
  key |= 1;  // 0 marks an empty slot
  BucketEntry* set = &entries_[(static_cast<uint32_t>(key >> 32) & set_mask_) * kWays];
  BucketEntry* victim = &set[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    if (set[i].key == key) {
      inserted = false;
      return set[i];
    }
    if (set[i].key == 0) {
      victim = &set[i];
      break;
    }
    if (set[i].last_ms < victim->last_ms) {
      victim = &set[i];
    }
  }
  if (victim->key != 0) {
    ++evictions_;
  }
  *victim = BucketEntry{key, now_ms, initial_tokens, 0, 0};
  inserted = true;
  return *victim;
}

const BucketEntry* BucketTable::find(uint64_t key) const {
  key |= 1;
  const BucketEntry* set = &entries_[(static_cast<uint32_t>(key >> 32) & set_mask_) * kWays];
  for (uint32_t i = 0; i < kWays; ++i) {
    if (set[i].key == key) {
      return &set[i];
    }
  }
  return nullptr;
}

}  // namespace sipshield::filters
