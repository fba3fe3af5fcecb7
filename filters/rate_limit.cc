#include "filters/rate_limit.h"

namespace sipshield::filters {

std::string_view rateKeyName(RateKey key) {
  switch (key) {
    case RateKey::Source: return "source";
    case RateKey::Prefix: return "prefix";
    case RateKey::Global: return "global";
  }
  return "?";
}

RateOutcome RateLimiter::take(const RateLimitRule& rule, const Address& source,
                              uint64_t now_ms) {
  uint8_t length = source.maxLength();
  if (rule.key == RateKey::Prefix) {
    length = source.v6 ? rule.prefix_v6 : rule.prefix_v4;
  }
  const uint64_t key = hashPrefix(source, length, rule.name_hash);
  bool inserted = false;
  BucketEntry& bucket = table_.acquire(key, now_ms, rule.spec.capacity, inserted);
  if (refillAndTake(bucket.tokens, bucket.last_ms, now_ms, rule.spec)) {
    return RateOutcome::Pass;
  }
  const uint32_t now_s = static_cast<uint32_t>(now_ms / 1000);
  if (now_s - bucket.violation_window_start_s >= rule.violation_window_s || bucket.violations == 0) {
    bucket.violation_window_start_s = now_s;
    bucket.violations = 0;
  }
  ++bucket.violations;
  if (rule.header.action.kind == ActionKind::Ban && bucket.violations >= rule.ban_after) {
    return RateOutcome::Ban;
  }
  return RateOutcome::Exceeded;
}

}  // namespace sipshield::filters
