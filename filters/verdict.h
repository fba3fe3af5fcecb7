#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace sipshield::filters {

// Why the shield stopped a packet, named for what happened (STYLE.md "Counters, not logs").
// One list makes the enum, the metric names and the per-worker counters.
#define SIPSHIELD_SHIELD_REASONS(X)                                                        \
  X(None, "none")                       /* not stopped */                                  \
  X(AclDenied, "acl_denied")            /* source matched a deny prefix or no allow one */ \
  X(Banned, "banned")                   /* source is under a timed ban */                  \
  X(Flood, "flood")                     /* heavy hitter in the flood sketch */             \
  X(RateLimited, "rate_limited")        /* a token bucket was empty */                     \
  X(TooLarge, "too_large")              /* message over the sanity size limit */           \
  X(MethodNotAllowed, "method_not_allowed") /* request method not in the allowed set */    \
  X(MaxForwardsOutOfRange, "max_forwards_out_of_range") /* Max-Forwards policy */          \
  X(TooManyVias, "too_many_vias")       /* more Via entries than the policy allows */      \
  X(ScannerFingerprint, "scanner_fingerprint") /* a known scanning tool's signature */     \
  X(HopCountMismatch, "hop_count_mismatch") /* TTL disagrees with the learned hop count */ \
  X(OverloadShed, "overload_shed")      /* shed under overload (new call, unverified) */

// ShieldReason is one entry of SIPSHIELD_SHIELD_REASONS.
enum class ShieldReason : uint8_t {
#define SIPSHIELD_SHIELD_REASON_ENUM(name, text) name,
  SIPSHIELD_SHIELD_REASONS(SIPSHIELD_SHIELD_REASON_ENUM)
#undef SIPSHIELD_SHIELD_REASON_ENUM
      Count
};

inline constexpr size_t kShieldReasonCount = static_cast<size_t>(ShieldReason::Count);

// shieldReasonName returns the metric name of `reason` ("rate_limited"). Thread-safe.
[[nodiscard]] std::string_view shieldReasonName(ShieldReason reason);

// What each rule counts (DESIGN.md "Filters": counters per rule).
#define SIPSHIELD_RULE_COUNTERS(X)                                                  \
  X(Seen, "seen")           /* packets the rule looked at */                        \
  X(Matched, "matched")     /* packets the rule's condition held for */             \
  X(Dropped, "dropped")     /* matched and dropped (incl. banned) */                \
  X(Replied, "replied")     /* matched and answered statelessly (403/503) */        \
  X(Banned, "banned")       /* matched and the source (or its prefix) was banned */ \
  X(DryRun, "dry_run")      /* matched while dry_run: counted, not acted on */

// RuleCounter is one entry of SIPSHIELD_RULE_COUNTERS.
enum class RuleCounter : uint8_t {
#define SIPSHIELD_RULE_COUNTER_ENUM(name, text) name,
  SIPSHIELD_RULE_COUNTERS(SIPSHIELD_RULE_COUNTER_ENUM)
#undef SIPSHIELD_RULE_COUNTER_ENUM
      Count
};

inline constexpr size_t kRuleCounterCount = static_cast<size_t>(RuleCounter::Count);

// ruleCounterName returns the metric name of `counter` ("matched"). Thread-safe.
[[nodiscard]] std::string_view ruleCounterName(RuleCounter counter);

// RuleCounters are one rule's counters in one worker: the worker alone writes (relaxed load +
// store, no locked instruction); the control plane reads from another thread and sums.
struct RuleCounters {
  std::atomic<uint64_t> values[kRuleCounterCount] = {};

  void add(RuleCounter c) {
    auto& v = values[static_cast<size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t get(RuleCounter c) const {
    return values[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }
};

// kNoRule marks a verdict no rule produced.
inline constexpr uint16_t kNoRule = 0xffff;

// Action is what the pipeline does with a packet after a filter stage.
enum class Action : uint8_t {
  Continue,  // go on with the next stage
  Drop,      // drop silently; `reason` says why
  Reply,     // answer statelessly with `status` (post-parse requests only), then drop
};

// Verdict is a filter stage's answer. Plain data; `reason_phrase` points at static text.
struct Verdict {
  Action action = Action::Continue;
  ShieldReason reason = ShieldReason::None;
  uint16_t rule = kNoRule;        // index into ShieldRules::rules
  uint16_t status = 0;            // Reply: 403, 503, ...
  uint32_t retry_after_s = 0;     // Reply: Retry-After seconds, 0 = none
  std::string_view reason_phrase; // Reply: "Service Unavailable", ...

  [[nodiscard]] bool pass() const { return action == Action::Continue; }
};

// reasonPhrase returns the RFC 3261 §21 reason phrase of `status`, or "Rejected".
[[nodiscard]] std::string_view reasonPhrase(uint16_t status);

}  // namespace sipshield::filters
