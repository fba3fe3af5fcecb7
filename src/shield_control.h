#pragma once

// The control thread's side of the DoS shield (issues 4 and 6): the operator's bans, the
// `top`, `bans` and `rules` commands, the shield's counter groups for stats and Prometheus, and
// the ban events drained from the workers into the event log. Reads worker state only through
// what the workers publish for other threads (relaxed atomic counters, the ban-event rings and
// the flood top boards); never the per-worker tables themselves.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "filters/operator_bans.h"
#include "filters/shared_state.h"
#include "filters/shield_rules.h"
#include "src/control/command_registry.h"
#include "src/control/event_log.h"
#include "src/control/stats_snapshot.h"
#include "src/pipeline.h"

namespace sipshield {

// ShieldControl owns the operator ban registry and a mirror of the workers' automatic bans
// (rebuilt from their ban events: the ban tables themselves are per-worker memory).
//
// Thread-safety: control thread only (commands run inside the control loop's tick).
class ShieldControl {
 public:
  // RulesFn returns the rules in force (null when the config has no [shield]).
  using RulesFn = std::function<const filters::ShieldRules*()>;
  // PublishFn publishes a new runtime snapshot (after an operator ban changed).
  using PublishFn = std::function<void()>;
  // ClockFn returns CLOCK_MONOTONIC in ms (the workers' clock).
  using ClockFn = std::function<uint64_t()>;

  static constexpr uint32_t kDefaultBanSeconds = 3600;
  static constexpr uint32_t kDefaultTopLimit = 10;
  // At most this many automatic bans are mirrored; more are counted as untracked.
  static constexpr size_t kMaxTrackedBans = 65536;

  // ShieldControl reads `pipelines` (owned elsewhere; the vector may grow while workers start)
  // and logs to `events`; both must outlive it.
  ShieldControl(const std::vector<Pipeline*>& pipelines, RulesFn rules, PublishFn publish,
                control::EventLog& events, ClockFn clock);

  // addCommands registers top, bans and rules in `registry`, replacing the placeholders.
  // Each answers {"error":"not available: filters not enabled"} while there is no [shield].
  void addCommands(control::CommandRegistry& registry);

  // appendCounterGroups adds the shield's counters (nothing while the shield is off):
  // shield_dropped{reason} (packets the shield dropped or answered, by reason),
  // rule_seen/rule_matched/rule_dropped/rule_replied/rule_banned/rule_dry_run{rule},
  // shield_bans_active{kind="auto"|"operator"} (gauge) and shield_ban_events_lost{worker}.
  void appendCounterGroups(std::vector<control::CounterGroup>& groups) const;

  // operatorBans is the immutable set to put into the next runtime snapshot (null = none).
  [[nodiscard]] std::shared_ptr<const filters::OperatorBans> operatorBans() const {
    return operator_bans_;
  }

  // tick drains every worker's ban events into the mirror and the event log ("ban_set"),
  // and about once a second forgets expired bans ("ban_lifted", cause "expired") and prunes
  // the registry. Call every control-loop round.
  void tick(uint64_t now_ms);

  // topJson answers `top` {"limit":N}: {"window_ms","sources":[{"address","count",
  // "rate_per_s","workers"}],"prefixes":[...],"flood_enabled"}; counts are the current sketch
  // window's, summed over workers, heaviest first.
  [[nodiscard]] nlohmann::json topJson(const nlohmann::json& request, uint64_t now_ms) const;

  // bansJson answers `bans`: list (no action), {"action":"add","address":A,"seconds":N,
  // "reason":R} or {"action":"remove","address":A}. A remove lifts the operator ban of exactly
  // A and asks every worker to lift its automatic ban of exactly A.
  [[nodiscard]] nlohmann::json bansJson(const nlohmann::json& request, uint64_t now_ms);

  // rulesJson answers `rules`: {"rules":[{"name","kind","action","dry_run","enabled","seen",
  // "matched","dropped","replied","banned","dry_run_matched"}]}, counters summed over workers.
  [[nodiscard]] nlohmann::json rulesJson() const;

  // sharedState returns the shield state every worker's FilterChain shares (relayed nonces,
  // global ceilings, the backends' 503 signal; FilterChain::shareState), made on the first
  // call with `sizes` and a random key. Later calls return the same object whatever `sizes`
  // say: its tables are sized once, at start (a restart is needed to resize them).
  [[nodiscard]] std::shared_ptr<filters::SharedShieldState> sharedState(
      const filters::StateSizes& sizes);

  // releaseStaleCeilings gives back the global-ceiling slots of names `live` (the rules of
  // the newest published snapshot; null: no shield) no longer has, so rule renames over a
  // long uptime never fill the shared table (filters::SharedCeilings::retainOnly). Call it
  // only when every worker has passed that snapshot (SnapshotPublisher::reclaim returned 0).
  // Cheap when nothing changed. Returns the slots released.
  size_t releaseStaleCeilings(const filters::ShieldRules* live);

  // autoBanCount is the number of mirrored automatic bans (tests, gauges).
  [[nodiscard]] size_t autoBanCount() const { return auto_bans_.size(); }

 private:
  // ruleCounterSums sets `sum` to the counters of `rules.rules[rule]` summed over the workers.
  void ruleCounterSums(const filters::ShieldRules& rules, size_t rule,
                       uint64_t (&sum)[filters::kRuleCounterCount]) const;
  struct AutoBan {
    filters::Prefix prefix;
    uint64_t expires_ms = 0;
    filters::ShieldReason reason = filters::ShieldReason::None;
    std::string rule;
    uint32_t worker = 0;
  };
  // Keyed by (prefix text, worker): each worker bans on its own.
  using AutoBanKey = std::pair<std::string, uint32_t>;

  void drainEvents(uint64_t now_ms);
  void expire(uint64_t now_ms);
  void republish();

  const std::vector<Pipeline*>& pipelines_;
  RulesFn rules_;
  PublishFn publish_;
  control::EventLog& events_;
  ClockFn clock_;
  filters::BanRegistry registry_;
  std::shared_ptr<const filters::OperatorBans> operator_bans_;
  std::map<AutoBanKey, AutoBan> auto_bans_;
  uint64_t untracked_bans_ = 0;
  uint64_t last_expire_ms_ = 0;
  std::shared_ptr<filters::SharedShieldState> shared_;
  uint64_t ceilings_checked_generation_ = 0;  // rules generation last compacted against
};

}  // namespace sipshield
