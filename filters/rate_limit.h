#pragma once

#include <cstdint>
#include <vector>

#include "filters/address.h"
#include "filters/bucket_table.h"
#include "filters/packet_meta.h"
#include "filters/token_bucket.h"

namespace sipshield::filters {

// RateKey is what one bucket of a rate-limit rule counts.
enum class RateKey : uint8_t {
  Source,  // one bucket per source address
  Prefix,  // one bucket per source prefix (prefix_v4 / prefix_v6 bits)
  Global,  // one bucket for everything the rule matches, shared by all workers: a per-class
           // ceiling for the whole process (SharedBucket)
};

// rateKeyName returns "source", "prefix" or "global".
[[nodiscard]] std::string_view rateKeyName(RateKey key);

// RateLimitRule is one [[shield.rate_limit]]: a token bucket of `rate` packets per second
// holding at most `burst`, per source, per prefix or global, over the messages of
// the method classes in `methods` from sources of the trust classes in `trust`. A global
// rule's rate is the whole process's: its bucket is shared lock-free by the workers, which
// take tokens from it `share_batch` at a time (filters/shared_ceiling.h). A packet that
// finds its bucket empty matches. With action "ban", `ban_after` matches within
// `violation_window_s` ban the source (trusted sources are never banned: they are dropped).
struct RateLimitRule {
  RuleHeader header;
  uint8_t methods = kAllMethodClasses;  // bit(MethodClass)
  // bit(TrustClass). Trusted peers are left out unless a rule names them: they have their
  // own budget (issue 4 "Trust classes").
  uint8_t trust = bit(TrustClass::Verified) | bit(TrustClass::Unverified);
  RateKey key = RateKey::Source;
  uint8_t prefix_v4 = 24;
  uint8_t prefix_v6 = 64;
  double rate = 50;    // packets per second
  double burst = 100;  // packets
  uint32_t ban_after = 1;
  uint32_t violation_window_s = 10;

  // Derived by finalize().
  BucketSpec spec;
  uint64_t name_hash = 0;
  bool pre_parse = false;  // needs no method: runs before the scan
  // Global rules: units a worker takes from the shared bucket at once. Small against the
  // burst (1/16 of it, 1..16 tokens) so stashes strand little of it, large enough that the
  // shared cache line is touched once per several packets.
  int64_t share_batch = kTokenUnits;

  // finalize computes the derived fields.
  void finalize() {
    spec = BucketSpec::make(rate, burst);
    const int64_t batch_tokens = static_cast<int64_t>(burst / 16);
    share_batch = (batch_tokens < 1 ? 1 : batch_tokens > 16 ? 16 : batch_tokens) * kTokenUnits;
    name_hash = hashName(header.name);
    pre_parse = methods == kAllMethodClasses && header.action.kind != ActionKind::Reply;
  }
};

// RateOutcome is what one rule's bucket says about one packet.
enum class RateOutcome : uint8_t {
  Pass,      // a token was taken
  Exceeded,  // the bucket was empty
  Ban,       // empty, and the source reached ban_after violations in the window
};

// RateLimiter is one worker's token buckets for every per-source and per-prefix rule, in one
// bounded BucketTable shared by the rules (keys mix the rule's name hash, so a reload that
// reorders rules keeps every bucket). Global buckets live in the FilterChain's rule slots.
// Not thread-safe: one per worker.
class RateLimiter {
 public:
  // RateLimiter allocates `capacity` buckets once.
  explicit RateLimiter(uint32_t capacity) : table_(capacity) {}

  // take charges one packet from `source` to `rule`'s bucket at `now_ms`.
  [[nodiscard]] RateOutcome take(const RateLimitRule& rule, const Address& source,
                                 uint64_t now_ms);

  [[nodiscard]] const BucketTable& table() const { return table_; }

 private:
  BucketTable table_;
};

// takeGlobal charges one packet to a per-worker bucket held by the caller (a global rule
// whose shared bucket could not be had).
[[nodiscard]] inline bool takeGlobal(const RateLimitRule& rule, int64_t& tokens,
                                     uint64_t& last_ms, uint64_t now_ms) {
  return refillAndTake(tokens, last_ms, now_ms, rule.spec);
}

}  // namespace sipshield::filters
