#include "lb/affinity_table.h"

#include <algorithm>
#include <string>

namespace sipshield::lb {
namespace {

constexpr uint32_t kTickBits = 24;
constexpr uint64_t kTickMask = (uint64_t{1} << kTickBits) - 1;
constexpr uint32_t kBackendShift = 24;
constexpr uint32_t kFingerprintShift = 40;

// Relaxed ordering suffices everywhere: each word is a complete entry and no other memory is
// published through it, so there is nothing to order against.
constexpr auto kRelaxed = std::memory_order_relaxed;

uint64_t fingerprintOf(uint64_t key_hash) {
  const uint64_t fp = key_hash >> kFingerprintShift;
  return fp == 0 ? 1 : fp;  // 0 would make an all-zero (empty) word possible.
}

uint32_t tickOf(uint64_t now_ms) {
  return static_cast<uint32_t>((now_ms >> kAffinityTickShift) & kTickMask);
}

uint64_t pack(uint64_t fp, uint16_t backend, uint32_t tick) {
  return (fp << kFingerprintShift) | (uint64_t{backend} << kBackendShift) | tick;
}

uint64_t wordFingerprint(uint64_t w) { return w >> kFingerprintShift; }
uint16_t wordBackend(uint64_t w) { return static_cast<uint16_t>(w >> kBackendShift); }
uint32_t wordTick(uint64_t w) { return static_cast<uint32_t>(w & kTickMask); }

// ageOf is now - tick modulo 2^24. A tick slightly in the future (another worker sampled its
// clock later than we did) shows up as a huge age; treat the upper half as "just seen".
uint32_t ageOf(uint64_t w, uint32_t now_tick) {
  const uint32_t age = static_cast<uint32_t>((now_tick - wordTick(w)) & kTickMask);
  return age >= (1u << (kTickBits - 1)) ? 0 : age;
}

// kInsertAttempts bounds insert() under contention; each attempt rescans the one bucket.
constexpr int kInsertAttempts = 4;

}  // namespace

Result<std::unique_ptr<AffinityTable>> AffinityTable::create(const AffinityConfig& config) {
  const uint32_t cap = config.capacity;
  if (cap < kAffinityBucketSlots || cap > (1u << 31) || (cap & (cap - 1)) != 0) {
    return Status(StatusCode::InvalidArgument,
                  "affinity: capacity " + std::to_string(cap) +
                      " must be a power of two in [8, 2^31]");
  }
  if (config.idle_timeout_ms == 0 || config.idle_timeout_ms >= kAffinityMaxTimeoutMs) {
    return Status(StatusCode::InvalidArgument,
                  "affinity: idle timeout must be in (0, " +
                      std::to_string(kAffinityMaxTimeoutMs) + ") ms");
  }
  // Round the timeout up to whole ticks so an entry never expires early.
  const uint64_t tick_ms = uint64_t{1} << kAffinityTickShift;
  const auto ticks = static_cast<uint32_t>((config.idle_timeout_ms + tick_ms - 1) / tick_ms);
  return std::unique_ptr<AffinityTable>(new AffinityTable(cap / kAffinityBucketSlots, ticks));
}

AffinityTable::AffinityTable(uint32_t bucket_count, uint32_t timeout_ticks)
    : buckets_(new Bucket[bucket_count]),
      bucket_mask_(bucket_count - 1),
      timeout_ticks_(timeout_ticks) {
  for (uint32_t b = 0; b < bucket_count; ++b) {
    for (auto& s : buckets_[b].slots) {
      s.store(0, kRelaxed);
    }
  }
}

bool AffinityTable::expired(uint64_t word, uint32_t now_tick) const {
  return ageOf(word, now_tick) > timeout_ticks_;
}

int AffinityTable::lookupBackend(uint64_t key_hash, uint64_t now_ms, AffinityProbe* probe) {
  Bucket& bucket = buckets_[key_hash & bucket_mask_];
  const uint64_t fp = fingerprintOf(key_hash);
  const uint32_t now_tick = tickOf(now_ms);
  // For the probe, the slot insert() would choose: the key's first (expired) entry, else the
  // first empty or expired slot, else the least recently seen one.
  int match = -1;
  int free_slot = -1;
  int oldest = 0;
  uint32_t oldest_age = 0;
  uint64_t seen[kAffinityBucketSlots];
  for (uint32_t i = 0; i < kAffinityBucketSlots; ++i) {
    std::atomic<uint64_t>& slot = bucket.slots[i];
    uint64_t w = slot.load(kRelaxed);
    seen[i] = w;
    const uint32_t age = w == 0 ? 0 : ageOf(w, now_tick);
    const bool dead = w == 0 || age > timeout_ticks_;
    if (w != 0 && wordFingerprint(w) == fp) {
      if (!dead) {
        const uint16_t backend = wordBackend(w);
        if (wordTick(w) != now_tick) {
          // One attempt: if another thread changed the word meanwhile, it refreshed or
          // replaced it, and either way the answer read above was valid when read. (A failed
          // CAS overwrites `w`, hence `backend` is taken first.)
          slot.compare_exchange_strong(w, pack(fp, backend, now_tick), kRelaxed);
        }
        return backend;
      }
      match = match < 0 ? static_cast<int>(i) : match;
    }
    if (free_slot < 0 && dead) {
      free_slot = static_cast<int>(i);
    }
    if (age > oldest_age) {
      oldest = static_cast<int>(i);
      oldest_age = age;
    }
  }
  if (probe != nullptr) {
    probe->slot = match >= 0 ? match : (free_slot >= 0 ? free_slot : oldest);
    probe->seen = seen[probe->slot];
    probe->outcome = match >= 0       ? AffinityInsert::Updated
                     : free_slot >= 0 ? AffinityInsert::Inserted
                                      : AffinityInsert::EvictedLive;
  }
  return -1;
}

AffinityInsert AffinityTable::insert(uint64_t key_hash, uint16_t backend, uint64_t now_ms,
                                     const AffinityProbe* probe) {
  Bucket& bucket = buckets_[key_hash & bucket_mask_];
  const uint64_t fp = fingerprintOf(key_hash);
  const uint32_t now_tick = tickOf(now_ms);
  const uint64_t desired = pack(fp, backend, now_tick);
  if (probe != nullptr && probe->slot >= 0) {
    uint64_t expected = probe->seen;
    if (bucket.slots[static_cast<size_t>(probe->slot)].compare_exchange_strong(expected, desired,
                                                                             kRelaxed)) {
      return probe->outcome;
    }
  }
  for (int attempt = 0; attempt < kInsertAttempts; ++attempt) {
    int match = -1;
    int free_slot = -1;
    int oldest = -1;
    uint32_t oldest_age = 0;
    uint64_t seen[kAffinityBucketSlots];
    for (uint32_t i = 0; i < kAffinityBucketSlots; ++i) {
      const uint64_t w = bucket.slots[i].load(kRelaxed);
      seen[i] = w;
      if (w != 0 && wordFingerprint(w) == fp) {
        match = static_cast<int>(i);
        break;
      }
      if (free_slot < 0 && (w == 0 || expired(w, now_tick))) {
        free_slot = static_cast<int>(i);
      }
      const uint32_t age = w == 0 ? 0 : ageOf(w, now_tick);
      if (oldest < 0 || age > oldest_age) {
        oldest = static_cast<int>(i);
        oldest_age = age;
      }
    }
    int target = match >= 0 ? match : (free_slot >= 0 ? free_slot : oldest);
    AffinityInsert outcome = match >= 0       ? AffinityInsert::Updated
                             : free_slot >= 0 ? AffinityInsert::Inserted
                                              : AffinityInsert::EvictedLive;
    uint64_t expected = seen[target];
    if (bucket.slots[target].compare_exchange_strong(expected, desired, kRelaxed)) {
      return outcome;
    }
  }
  return AffinityInsert::Contended;
}

bool AffinityTable::erase(uint64_t key_hash) {
  Bucket& bucket = buckets_[key_hash & bucket_mask_];
  const uint64_t fp = fingerprintOf(key_hash);
  bool removed = false;
  for (auto& slot : bucket.slots) {
    uint64_t w = slot.load(kRelaxed);
    if (w != 0 && wordFingerprint(w) == fp) {
      removed |= slot.compare_exchange_strong(w, 0, kRelaxed);
    }
  }
  return removed;
}

size_t AffinityTable::eraseBackend(uint16_t backend) {
  size_t removed = 0;
  for (uint32_t b = 0; b <= bucket_mask_; ++b) {
    for (auto& slot : buckets_[b].slots) {
      uint64_t w = slot.load(kRelaxed);
      if (w != 0 && wordBackend(w) == backend && slot.compare_exchange_strong(w, 0, kRelaxed)) {
        ++removed;
      }
    }
  }
  return removed;
}

size_t AffinityTable::sweepExpired(uint64_t now_ms, uint32_t first_bucket, uint32_t count) {
  const uint32_t now_tick = tickOf(now_ms);
  const uint64_t end = std::min<uint64_t>(uint64_t{first_bucket} + count, bucketCount());
  size_t cleared = 0;
  for (uint64_t b = first_bucket; b < end; ++b) {
    for (auto& slot : buckets_[b].slots) {
      uint64_t w = slot.load(kRelaxed);
      if (w != 0 && expired(w, now_tick) && slot.compare_exchange_strong(w, 0, kRelaxed)) {
        ++cleared;
      }
    }
  }
  return cleared;
}

size_t AffinityTable::countLive(uint64_t now_ms) const {
  const uint32_t now_tick = tickOf(now_ms);
  size_t live = 0;
  for (uint32_t b = 0; b <= bucket_mask_; ++b) {
    for (const auto& slot : buckets_[b].slots) {
      const uint64_t w = slot.load(kRelaxed);
      live += (w != 0 && !expired(w, now_tick)) ? 1 : 0;
    }
  }
  return live;
}

}  // namespace sipshield::lb
