#include "lb/dispatch_snapshot.h"

#include <utility>

namespace sipshield::lb {
namespace {

// rehash derives the next probe hash; a multiply-xorshift keeps probes independent of the
// original slot while staying deterministic across instances.
uint64_t rehash(uint64_t h, uint64_t round) {
  h ^= round * 0x9E3779B97F4A7C15ULL;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 31;
  h *= 0x94D049BB133111EBULL;
  return h ^ (h >> 29);
}

}  // namespace

DispatchSnapshot::DispatchSnapshot(uint64_t version, std::shared_ptr<const MaglevTable> table,
                                   std::vector<uint8_t> flags)
    : version_(version), table_(std::move(table)), flags_(std::move(flags)) {
  for (uint8_t f : flags_) {
    any_accepting_ |= (f & kBackendAccepting) != 0;
  }
  // Without a table no slot can be looked up; an accepting flag would be a lie.
  any_accepting_ = any_accepting_ && table_ != nullptr;
}

uint16_t DispatchSnapshot::pickNew(uint64_t key_hash) const {
  if (!any_accepting_) {
    return kNoBackend;
  }
  const MaglevTable& t = *table_;
  uint64_t h = key_hash;
  for (int round = 0; round <= kMaxReprobes; ++round) {
    const uint32_t slot = t.slotOf(h);
    const uint16_t primary = t.primary(slot);
    if (accepting(primary)) {
      return primary;
    }
    const uint16_t fallback = t.fallback(slot);
    if (accepting(fallback)) {
      return fallback;
    }
    h = rehash(h, static_cast<uint64_t>(round) + 1);
  }
  // Most of the capacity is out; any accepting backend beats dropping the call.
  const uint16_t n = backendCount();
  const uint16_t start = static_cast<uint16_t>(key_hash % n);
  for (uint16_t i = 0; i < n; ++i) {
    const uint16_t b = static_cast<uint16_t>((start + i) % n);
    if (accepting(b)) {
      return b;
    }
  }
  return kNoBackend;
}

}  // namespace sipshield::lb
