#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "filters/ban_table.h"
#include "filters/flood.h"
#include "filters/hop_count.h"
#include "filters/operator_bans.h"
#include "filters/overload.h"
#include "filters/packet_meta.h"
#include "filters/rate_limit.h"
#include "filters/shared_state.h"
#include "filters/shield_rules.h"
#include "filters/state_sizes.h"
#include "filters/top_board.h"
#include "filters/verdict.h"
#include "filters/verified_set.h"
#include "parser/validate.h"

namespace sipshield::filters {

// BanEvent tells the control plane that a worker banned a source (for the event log and
// `sipshieldctl bans`).
struct BanEvent {
  Prefix prefix;
  uint64_t expires_ms = 0;
  ShieldReason reason = ShieldReason::None;
  char rule[32] = {};  // the rule's name, truncated, NUL-terminated
};

// FilterChain is one worker's DoS shield: it runs the stages the current ShieldRules resolved
// (pre-parse: ACL, bans, flood sketch, hop count, source/prefix rate limits; post-parse:
// sanity, method-class rate limits and ceilings, scanner fingerprints, overload shedding) and
// owns every piece of per-worker state. The first stage that does not continue decides.
//
// State shared with the other workers (relayed nonces, global ceilings, the backends' 503
// signal) lives in a SharedShieldState: its own unless shareState hands it the process's.
//
// Thread-safety: one FilterChain per worker; only that worker calls setRules, observeBurst,
// observeBackendResponse, preParse and postParse. ruleCounters, reasonCount and popBanEvent
// may be called by the control thread at any time (relaxed atomics; popBanEvent by one
// consumer only).
// No allocation, lock or syscall after construction.
class FilterChain {
 public:
  static constexpr uint32_t kMaxRules = static_cast<uint32_t>(ShieldRules::kMaxRules);
  static constexpr uint32_t kBanEventSlots = 1024;

  // FilterChain allocates every table at the given sizes, once, and a SharedShieldState of
  // its own (with a random key) until shareState replaces it.
  explicit FilterChain(const StateSizes& sizes = {});
  FilterChain(const FilterChain&) = delete;
  FilterChain& operator=(const FilterChain&) = delete;

  // setRules installs the rules and operator bans of the current snapshot (either may be null:
  // no shield / no operator bans). Cheap when unchanged (two pointer compares); on a change it
  // moves each rule's counters and global bucket to the rule's new index by name, and applies
  // operator lifts of automatic bans. Call at the start of each burst.
  void setRules(const ShieldRules* rules, const OperatorBans* operator_bans);

  // shareState makes this chain use `shared` (every worker's chain gets the same one) for
  // relayed nonces, global ceilings and the backends' 503 signal, dropping its own. Call
  // before the worker runs (not thread-safe against preParse/postParse). `shared` non-null.
  void shareState(std::shared_ptr<SharedShieldState> shared);
  [[nodiscard]] SharedShieldState& shared() { return *shared_; }

  // observeBurst feeds the overload detector with one burst's fill (`size` of `capacity`).
  void observeBurst(uint32_t size, uint32_t capacity);

  // observeBackendResponse is told of each response the pipeline relays from a backend toward
  // `client` (the address the response is sent to: the next Via's received, else its host)
  // after its top Via proved ours: the nonces of a 401/407's challenges are recorded for
  // `client` (NonceTable: answering one from `client` later proves return routability) and
  // the response counts toward the backends' 503 share (overload). No-op while the shield is
  // off. Allocation-free, lock-free.
  void observeBackendResponse(parser::ByteView in, const parser::SipMessage& message,
                              const Address& client, uint64_t now_ms);

  // clockMs is the `now_ms` of the last preParse/postParse: the pipeline's clock for calls
  // made in the same packet's handling.
  [[nodiscard]] uint64_t clockMs() const { return clock_ms_; }

  // preParse runs the metadata-only stages on a datagram before it is scanned and fills
  // `meta.trust`. Returns Continue or Drop (never Reply: there is nothing parsed to answer).
  [[nodiscard]] Verdict preParse(PacketMeta& meta, uint64_t now_ms);

  // postParse runs the stages that need the scanned message (`in` holds its bytes; `message`
  // and `summary` are the scanner's Complete output). Returns Continue, Drop, or Reply with a
  // status for the pipeline's stateless reply (only for requests other than ACK). A request
  // that passes and proves return routability marks its source verified.
  [[nodiscard]] Verdict postParse(const PacketMeta& meta, parser::ByteView in,
                                  const parser::SipMessage& message,
                                  const parser::SipSummary& summary, uint64_t now_ms);

  // ruleCounters copies the counters of the rule named by `name_hash` (hashName(name)) into
  // `out`; false when this worker has no such rule now. Any thread.
  bool ruleCounters(uint64_t name_hash, uint64_t (&out)[kRuleCounterCount]) const;

  // reasonCount returns how many packets this worker stopped for `reason`. Any thread.
  [[nodiscard]] uint64_t reasonCount(ShieldReason reason) const {
    return reasons_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }

  // popBanEvent takes the oldest unread ban event; false when none. One consumer thread.
  bool popBanEvent(BanEvent& out);
  // lostBanEvents counts events dropped because the control plane did not drain the ring.
  [[nodiscard]] uint64_t lostBanEvents() const {
    return lost_events_.load(std::memory_order_relaxed);
  }
  // readTop copies the flood sketch's top list as the worker last published it (at most every
  // kTopPublishMs while the flood stage sees packets). Any thread. Returns TopBoard::read's
  // answer: false when nothing was published yet.
  bool readTop(TopBoardCopy& out) const { return top_board_.read(out); }
  static constexpr uint64_t kTopPublishMs = 100;

  // The per-worker state, for tests, benchmarks and same-thread inspection.
  [[nodiscard]] BanTable& bans() { return bans_; }
  [[nodiscard]] VerifiedSet& verified() { return verified_; }
  [[nodiscard]] FloodDetector& flood() { return flood_; }
  [[nodiscard]] HopCountTable& hopCounts() { return hops_; }
  [[nodiscard]] RateLimiter& rateLimiter() { return limiter_; }
  [[nodiscard]] OverloadDetector& overload() { return overload_; }
  [[nodiscard]] const ShieldRules* rules() const { return rules_; }

  // memoryBytes is the chain's per-worker footprint, fixed at construction (the shared
  // state is counted apart: shared().memoryBytes()).
  [[nodiscard]] size_t memoryBytes() const;

 private:
  struct alignas(64) RuleSlot {
    std::atomic<uint64_t> name_hash{0};
    RuleCounters counters;
    // Global ceilings: `shared` is the process's bucket (null: table full, or not a global
    // rule) and global_tokens this worker's stash taken from it; without `shared`,
    // global_tokens/global_last_ms are a per-worker bucket.
    SharedBucket* shared = nullptr;
    int64_t global_tokens = 0;
    uint64_t global_last_ms = 0;
    bool global_ready = false;
  };
  struct SlotCopy {
    uint64_t name_hash = 0;
    uint64_t counters[kRuleCounterCount] = {};
    int64_t global_tokens = 0;
    uint64_t global_last_ms = 0;
    bool global_ready = false;
  };

  void count(const RuleHeader& header, RuleCounter counter) {
    slots_[header.index].counters.add(counter);
  }
  // act applies a matched rule's action. `ban_ok` is false for a rate-limit violation below
  // ban_after; `ban_length` (0 = the action's) is the prefix length to ban.
  Verdict act(const RuleHeader& header, ShieldReason reason, const PacketMeta& meta,
              uint64_t now_ms, bool can_reply, bool ban_ok = true, uint8_t ban_length = 0);
  Verdict checkRates(bool pre, const PacketMeta& meta, MethodClass method_class,
                     uint64_t now_ms, bool can_reply);
  void pushBanEvent(const Prefix& prefix, uint64_t expires_ms, ShieldReason reason,
                    const RuleHeader& header);
  void remapSlots(const ShieldRules* next);
  // resolveSharedBuckets points each global rule's slot at its shared bucket.
  void resolveSharedBuckets();
  // takeCeiling charges one packet to global rule `rule`'s ceiling. Returns true when it may
  // pass.
  bool takeCeiling(const RateLimitRule& rule, RuleSlot& slot, uint64_t now_ms);

  const ShieldRules* rules_ = nullptr;
  uint64_t rules_generation_ = 0;  // rules_->generation: a reused address is not the same rules
  const OperatorBans* operator_bans_ = nullptr;
  std::shared_ptr<SharedShieldState> shared_;
  uint64_t clock_ms_ = 0;
  RateLimiter limiter_;
  BanTable bans_;
  VerifiedSet verified_;
  HopCountTable hops_;
  FloodDetector flood_;
  OverloadDetector overload_;
  uint64_t flood_window_matches_ = 0;  // flood matches in the current sketch window
  uint64_t flood_window_start_ = 0;
  std::unique_ptr<RuleSlot[]> slots_;
  std::unique_ptr<SlotCopy[]> scratch_;
  std::atomic<uint64_t> reasons_[kShieldReasonCount] = {};
  std::unique_ptr<BanEvent[]> events_;
  std::atomic<uint64_t> event_head_{0};  // written by the worker
  std::atomic<uint64_t> event_tail_{0};  // written by the control thread
  std::atomic<uint64_t> lost_events_{0};
  TopBoard top_board_;              // flood top list for the control thread
  uint64_t top_published_ms_ = 0;   // worker clock of the last top_board_ publication
};

}  // namespace sipshield::filters
