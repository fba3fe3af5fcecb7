#include "lb/dispatcher.h"

#include <xxhash.h>

namespace sipshield::lb {

uint64_t hashCallId(std::string_view call_id) {
  return XXH3_64bits(call_id.data(), call_id.size());
}

uint64_t hashSourceIp(std::span<const uint8_t> address) {
  static constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.size() == 16) {
    bool mapped = true;
    for (size_t i = 0; i < 12; ++i) {
      mapped &= address[i] == kV4MappedPrefix[i];
    }
    if (mapped) {
      address = address.subspan(12);
    }
  }
  return XXH3_64bits(address.data(), address.size());
}

uint64_t hashFromTagCallId(std::string_view from_tag, std::string_view call_id) {
  const uint64_t seed = XXH3_64bits(from_tag.data(), from_tag.size());
  return XXH3_64bits_withSeed(call_id.data(), call_id.size(), seed);
}

uint64_t dispatchKey(KeyKind kind, const KeyFields& fields) {
  switch (kind) {
    case KeyKind::CallId:
      return hashCallId(fields.call_id);
    case KeyKind::SourceIp:
      return hashSourceIp(fields.source_ip);
    case KeyKind::FromTagCallId:
      return hashFromTagCallId(fields.from_tag, fields.call_id);
  }
  return hashCallId(fields.call_id);
}

const char* dispatchCounterName(DispatchCounter c) {
  switch (c) {
#define SIPSHIELD_LB_X(name, text) \
  case DispatchCounter::name:      \
    return text;
    SIPSHIELD_LB_DISPATCH_COUNTERS(SIPSHIELD_LB_X)
#undef SIPSHIELD_LB_X
    case DispatchCounter::Count:
      break;
  }
  return "unknown";
}

uint16_t Dispatcher::pick(uint64_t key_hash, uint64_t now_ms) {
  if (snapshot_ == nullptr) {
    count(DispatchCounter::NoBackend);
    return kNoBackend;
  }
  bool remap = false;
  AffinityProbe probe;  // where the insert below goes, seen by the lookup
  if (affinity_ != nullptr) {
    const int affine = affinity_->lookupBackend(key_hash, now_ms, &probe);
    if (affine >= 0) {
      if (snapshot_->alive(static_cast<uint16_t>(affine))) {
        count(DispatchCounter::AffinityHit);
        return static_cast<uint16_t>(affine);
      }
      remap = true;
    }
  }
  const uint16_t backend = snapshot_->pickNew(key_hash);
  if (backend == kNoBackend) {
    count(DispatchCounter::NoBackend);
    return kNoBackend;
  }
  count(remap ? DispatchCounter::AffinityRemapped : DispatchCounter::AffinityMiss);
  if (affinity_ == nullptr) {
    return backend;
  }
  if (under_flood_) {
    count(DispatchCounter::AffinitySkippedFlood);
    return backend;
  }
  const AffinityInsert r = affinity_->insert(key_hash, backend, now_ms, &probe);
  if (r == AffinityInsert::EvictedLive) {
    count(DispatchCounter::AffinityEvicted);
  }
  if (r != AffinityInsert::Contended) {
    count(DispatchCounter::AffinityInserted);
  }
  return backend;
}

}  // namespace sipshield::lb
