#include "src/shield_control.h"

#include <algorithm>
#include <unordered_map>

#include "filters/top_board.h"

namespace sipshield {

using nlohmann::json;

namespace {

constexpr char kNotEnabled[] = "not available: filters not enabled";

// kindOf names the stage a rule belongs to, for `rules`.
std::string_view kindOf(const filters::ShieldRules& rules, const filters::RuleHeader* header) {
  if (header == &rules.acl.header) {
    return "acl";
  }
  if (header == &rules.bans) {
    return "bans";
  }
  if (header == &rules.flood.header) {
    return "flood";
  }
  if (header == &rules.hop_count.header) {
    return "hop_count";
  }
  if (header == &rules.sanity.header) {
    return "sanity";
  }
  if (header == &rules.scanner.header) {
    return "scanner";
  }
  if (header == &rules.overload.header) {
    return "overload";
  }
  return "rate_limit";
}

// enabledStage says whether the stage holding `kind` runs at all with these rules.
bool enabledStage(const filters::ShieldRules& rules, std::string_view kind) {
  using filters::FilterId;
  FilterId id = FilterId::RateLimit;
  if (kind == "acl") {
    id = FilterId::Acl;
  } else if (kind == "bans") {
    id = FilterId::Bans;
  } else if (kind == "flood") {
    id = FilterId::Flood;
  } else if (kind == "hop_count") {
    id = FilterId::HopCount;
  } else if (kind == "sanity") {
    id = FilterId::Sanity;
  } else if (kind == "scanner") {
    id = FilterId::Scanner;
  } else if (kind == "overload") {
    id = FilterId::Overload;
  }
  const auto has = [id](const std::vector<FilterId>& order) {
    return std::find(order.begin(), order.end(), id) != order.end();
  };
  return rules.enabled && (has(rules.pre_order) || has(rules.post_order));
}

std::string ruleCounterKey(filters::RuleCounter c) {
  // "dry_run" is also the rule's flag; the counter is what matched while in dry-run.
  return c == filters::RuleCounter::DryRun ? "dry_run_matched"
                                           : std::string(filters::ruleCounterName(c));
}

// expiresIn renders a ban's remaining time: seconds, or null for "until lifted".
json expiresIn(uint64_t expires_ms, uint64_t now_ms) {
  if (expires_ms == 0) {
    return nullptr;
  }
  return expires_ms > now_ms ? (expires_ms - now_ms + 999) / 1000 : 0;
}

}  // namespace

ShieldControl::ShieldControl(const std::vector<Pipeline*>& pipelines, RulesFn rules,
                             PublishFn publish, control::EventLog& events, ClockFn clock)
    : pipelines_(pipelines),
      rules_(std::move(rules)),
      publish_(std::move(publish)),
      events_(events),
      clock_(std::move(clock)) {}

std::shared_ptr<filters::SharedShieldState> ShieldControl::sharedState(
    const filters::StateSizes& sizes) {
  if (shared_ == nullptr) {
    shared_ = std::make_shared<filters::SharedShieldState>(
        sizes, filters::SharedShieldState::randomKey());
  }
  return shared_;
}

void ShieldControl::addCommands(control::CommandRegistry& registry) {
  registry.add("top", "{\"limit\":N}: top sources and prefixes in the flood sketch window",
               [this](const json& request) -> json {
                 if (rules_() == nullptr) {
                   return {{"error", kNotEnabled}};
                 }
                 return topJson(request, clock_());
               });
  registry.add("bans",
               "list bans; {\"action\":\"add\",\"address\":A,\"seconds\":N} or "
               "{\"action\":\"remove\",\"address\":A}",
               [this](const json& request) -> json {
                 if (rules_() == nullptr) {
                   return {{"error", kNotEnabled}};
                 }
                 return bansJson(request, clock_());
               });
  registry.add("rules", "per-rule counters (summed over workers) and dry-run state",
               [this](const json&) -> json {
                 if (rules_() == nullptr) {
                   return {{"error", kNotEnabled}};
                 }
                 return rulesJson();
               });
}

void ShieldControl::republish() {
  operator_bans_ = registry_.snapshot();
  publish_();
}

size_t ShieldControl::releaseStaleCeilings(const filters::ShieldRules* live) {
  const uint64_t generation = live == nullptr ? 0 : live->generation;
  if (shared_ == nullptr || generation == ceilings_checked_generation_) {
    return 0;
  }
  ceilings_checked_generation_ = generation;
  std::vector<uint64_t> names;
  if (live != nullptr) {
    for (const filters::RateLimitRule& rule : live->rate_limits) {
      if (rule.key == filters::RateKey::Global) {
        names.push_back(rule.name_hash);
      }
    }
  }
  return shared_->ceilings().retainOnly(names);
}

void ShieldControl::tick(uint64_t now_ms) {
  drainEvents(now_ms);
  if (now_ms - last_expire_ms_ >= 1000) {
    last_expire_ms_ = now_ms;
    expire(now_ms);
  }
}

void ShieldControl::drainEvents(uint64_t now_ms) {
  filters::BanEvent event;
  for (size_t w = 0; w < pipelines_.size(); ++w) {
    // Bounded per tick so a flood of bans cannot stall the control loop; the ring keeps the rest.
    for (uint32_t n = 0; n < filters::FilterChain::kBanEventSlots &&
                         pipelines_[w]->shield().popBanEvent(event);
         ++n) {
      const std::string text = filters::formatPrefix(event.prefix);
      const std::string rule(event.rule);
      AutoBanKey key{text, static_cast<uint32_t>(w)};
      if (auto_bans_.size() < kMaxTrackedBans || auto_bans_.count(key) != 0) {
        auto_bans_[key] = AutoBan{event.prefix, event.expires_ms, event.reason, rule,
                                  static_cast<uint32_t>(w)};
      } else {
        ++untracked_bans_;
      }
      events_.log("ban_set", json{{"address", text},
                                  {"by", "auto"},
                                  {"rule", rule},
                                  {"reason", filters::shieldReasonName(event.reason)},
                                  {"worker", w},
                                  {"seconds", expiresIn(event.expires_ms, now_ms)}});
    }
  }
}

void ShieldControl::expire(uint64_t now_ms) {
  for (auto it = auto_bans_.begin(); it != auto_bans_.end();) {
    if (it->second.expires_ms <= now_ms) {
      events_.log("ban_lifted", json{{"address", it->first.first},
                                     {"by", "auto"},
                                     {"rule", it->second.rule},
                                     {"worker", it->second.worker},
                                     {"cause", "expired"}});
      it = auto_bans_.erase(it);
    } else {
      ++it;
    }
  }
  const size_t before = registry_.bans().size();
  std::vector<std::string> expired;
  for (const filters::OperatorBan& ban : registry_.bans()) {
    if (ban.expires_ms != 0 && ban.expires_ms <= now_ms) {
      expired.push_back(filters::formatPrefix(ban.prefix));
    }
  }
  registry_.prune(now_ms);
  for (const std::string& text : expired) {
    events_.log("ban_lifted", json{{"address", text}, {"by", "operator"}, {"cause", "expired"}});
  }
  // Republish when bans left, and now and then so lifts every worker has seen are forgotten.
  if (registry_.bans().size() != before ||
      (operator_bans_ != nullptr && !operator_bans_->lifted().empty() &&
       now_ms - operator_bans_->lifted().back().lifted_at_ms > 61'000)) {
    republish();
  }
}

json ShieldControl::topJson(const json& request, uint64_t now_ms) const {
  const filters::ShieldRules* rules = rules_();
  uint32_t limit = kDefaultTopLimit;
  if (request.contains("limit")) {
    limit = request.at("limit").get<uint32_t>();
  }
  const uint32_t window_ms = rules->flood.window_ms;
  struct Merged {
    filters::Prefix prefix;
    uint64_t count = 0;
    uint64_t elapsed_ms = 0;  // of the longest window among the workers that counted it
    uint32_t workers = 0;
  };
  std::unordered_map<std::string, Merged> merged;
  filters::TopBoardCopy copy;
  for (const Pipeline* p : pipelines_) {
    if (!p->shield().readTop(copy)) {
      continue;
    }
    // A worker that saw no packet for a while keeps its last board: skip stale windows.
    if (now_ms > copy.window_start_ms + 2 * uint64_t{window_ms}) {
      continue;
    }
    const uint64_t shortest = window_ms / 10 + 1;
    const uint64_t elapsed = std::clamp<uint64_t>(copy.published_ms - copy.window_start_ms,
                                                  shortest, std::max<uint64_t>(window_ms, shortest));
    for (uint32_t i = 0; i < copy.count; ++i) {
      const filters::HeavyHitter& h = copy.entries[i];
      Merged& m = merged[filters::formatPrefix(h.prefix) + "/" + std::to_string(h.prefix.length)];
      m.prefix = h.prefix;
      m.count += h.count;
      m.elapsed_ms = std::max(m.elapsed_ms, elapsed);
      ++m.workers;
    }
  }
  std::vector<const Merged*> order;
  for (const auto& [key, m] : merged) {
    order.push_back(&m);
  }
  std::sort(order.begin(), order.end(), [](const Merged* a, const Merged* b) {
    return a->count != b->count ? a->count > b->count
                                : filters::formatPrefix(a->prefix) < filters::formatPrefix(b->prefix);
  });
  json sources = json::array();
  json prefixes = json::array();
  for (const Merged* m : order) {
    const bool source = m->prefix.length == m->prefix.address.maxLength();
    json& list = source ? sources : prefixes;
    if (list.size() >= limit) {
      continue;
    }
    list.push_back({{"address", filters::formatPrefix(m->prefix)},
                    {"count", m->count},
                    {"rate_per_s", m->count * 1000 / std::max<uint64_t>(m->elapsed_ms, 1)},
                    {"workers", m->workers}});
  }
  return {{"flood_enabled", enabledStage(*rules, "flood")},
          {"window_ms", window_ms},
          {"sources", std::move(sources)},
          {"prefixes", std::move(prefixes)}};
}

json ShieldControl::bansJson(const json& request, uint64_t now_ms) {
  const std::string action = request.value("action", std::string("list"));
  if (action == "add" || action == "remove") {
    if (!request.contains("address") || !request["address"].is_string()) {
      return {{"error", "missing \"address\": an address or prefix, e.g. 192.0.2.7 or "
                        "198.51.100.0/24"}};
    }
    const std::string text = request["address"].get<std::string>();
    filters::Prefix prefix;
    if (std::string why = filters::parsePrefix(text, prefix); !why.empty()) {
      return {{"error", "bad address \"" + text + "\": " + why}};
    }
    const std::string shown = filters::formatPrefix(prefix);
    if (action == "add") {
      const uint32_t seconds = request.contains("seconds") ? request["seconds"].get<uint32_t>()
                                                           : kDefaultBanSeconds;
      const std::string reason = request.value("reason", std::string("operator"));
      registry_.add(prefix, now_ms, seconds, reason);
      republish();
      events_.log("ban_set", json{{"address", shown},
                                  {"by", "operator"},
                                  {"reason", reason},
                                  {"seconds", seconds == 0 ? json(nullptr) : json(seconds)}});
      return {{"ok", true},
              {"address", shown},
              {"seconds", seconds == 0 ? json(nullptr) : json(seconds)}};
    }
    const bool removed = registry_.remove(prefix, now_ms);
    // The next snapshot carries the lift; every worker drops its ban of exactly this prefix.
    republish();
    uint64_t lifted = 0;
    for (auto it = auto_bans_.begin(); it != auto_bans_.end();) {
      if (it->second.prefix == prefix) {
        it = auto_bans_.erase(it);
        ++lifted;
      } else {
        ++it;
      }
    }
    events_.log("ban_lifted", json{{"address", shown},
                                   {"by", "operator"},
                                   {"cause", "removed"},
                                   {"operator_ban", removed},
                                   {"auto_bans", lifted}});
    return {{"ok", true},
            {"address", shown},
            {"operator_ban_removed", removed},
            {"auto_bans_lifted", lifted}};
  }
  if (action != "list") {
    return {{"error", "unknown bans action \"" + action + "\" (list, add or remove)"}};
  }
  json list = json::array();
  for (const filters::OperatorBan& ban : registry_.bans()) {
    if (ban.expires_ms != 0 && ban.expires_ms <= now_ms) {
      continue;
    }
    list.push_back({{"address", filters::formatPrefix(ban.prefix)},
                    {"kind", "operator"},
                    {"reason", ban.reason},
                    {"rule", "operator"},
                    {"worker", nullptr},
                    {"expires_in_s", expiresIn(ban.expires_ms, now_ms)}});
  }
  for (const auto& [key, ban] : auto_bans_) {
    if (ban.expires_ms <= now_ms) {
      continue;
    }
    list.push_back({{"address", key.first},
                    {"kind", "auto"},
                    {"reason", filters::shieldReasonName(ban.reason)},
                    {"rule", ban.rule},
                    {"worker", ban.worker},
                    {"expires_in_s", expiresIn(ban.expires_ms, now_ms)}});
  }
  uint64_t lost = 0;
  for (const Pipeline* p : pipelines_) {
    lost += p->shield().lostBanEvents();
  }
  return {{"bans", std::move(list)}, {"lost_events", lost}, {"untracked", untracked_bans_}};
}

void ShieldControl::ruleCounterSums(const filters::ShieldRules& rules, size_t rule,
                                    uint64_t (&sum)[filters::kRuleCounterCount]) const {
  std::fill(std::begin(sum), std::end(sum), uint64_t{0});
  uint64_t one[filters::kRuleCounterCount];
  for (const Pipeline* p : pipelines_) {
    if (p->shield().ruleCounters(rules.rule_hashes[rule], one)) {
      for (size_t c = 0; c < filters::kRuleCounterCount; ++c) {
        sum[c] += one[c];
      }
    }
  }
}

json ShieldControl::rulesJson() const {
  const filters::ShieldRules* rules = rules_();
  json list = json::array();
  for (size_t i = 0; i < rules->rules.size(); ++i) {
    const filters::RuleHeader* header = rules->rules[i];
    uint64_t sum[filters::kRuleCounterCount];
    ruleCounterSums(*rules, i, sum);
    const std::string_view kind = kindOf(*rules, header);
    json row = {{"name", header->name},
                {"kind", kind},
                {"action", filters::actionKindName(header->action.kind)},
                {"dry_run", header->dry_run},
                {"enabled", enabledStage(*rules, kind)}};
    for (size_t c = 0; c < filters::kRuleCounterCount; ++c) {
      row[ruleCounterKey(static_cast<filters::RuleCounter>(c))] = sum[c];
    }
    list.push_back(std::move(row));
  }
  return {{"rules", std::move(list)}};
}

void ShieldControl::appendCounterGroups(std::vector<control::CounterGroup>& groups) const {
  const filters::ShieldRules* rules = rules_();
  if (rules == nullptr) {
    return;
  }
  control::CounterGroup dropped{"shield_dropped",
                                "Packets the DoS shield dropped or answered, by reason",
                                "reason", control::CounterKind::Counter, {}};
  for (size_t r = 1; r < filters::kShieldReasonCount; ++r) {  // 0 is None
    const auto reason = static_cast<filters::ShieldReason>(r);
    uint64_t total = 0;
    for (const Pipeline* p : pipelines_) {
      total += p->shield().reasonCount(reason);
    }
    dropped.entries.push_back({std::string(filters::shieldReasonName(reason)), total});
  }
  groups.push_back(std::move(dropped));

  // One group per rule counter, one entry per rule: built straight from the counters (this
  // runs for every stats snapshot, ten times a second with metrics on).
  const size_t first_rule_group = groups.size();
  for (size_t c = 0; c < filters::kRuleCounterCount; ++c) {
    const std::string name(filters::ruleCounterName(static_cast<filters::RuleCounter>(c)));
    control::CounterGroup& group = groups.emplace_back(control::CounterGroup{
        "rule_" + name, "Shield rule counter: " + name + " (per rule)", "rule",
        control::CounterKind::Counter, {}});
    group.entries.reserve(rules->rules.size());
  }
  for (size_t i = 0; i < rules->rules.size(); ++i) {
    uint64_t sum[filters::kRuleCounterCount];
    ruleCounterSums(*rules, i, sum);
    for (size_t c = 0; c < filters::kRuleCounterCount; ++c) {
      groups[first_rule_group + c].entries.push_back({rules->rules[i]->name, sum[c]});
    }
  }

  const uint64_t now_ms = clock_();
  uint64_t operator_active = 0;
  for (const filters::OperatorBan& ban : registry_.bans()) {
    operator_active += ban.expires_ms == 0 || ban.expires_ms > now_ms ? 1 : 0;
  }
  uint64_t auto_active = 0;
  for (const auto& [key, ban] : auto_bans_) {
    auto_active += ban.expires_ms > now_ms ? 1 : 0;
  }
  groups.push_back({"shield_bans_active", "Bans in force (automatic: as reported by workers)",
                    "kind", control::CounterKind::Gauge,
                    {{"auto", auto_active}, {"operator", operator_active}}});
  control::CounterGroup lost{"shield_ban_events_lost",
                             "Ban events a worker could not hand to the control thread",
                             "worker", control::CounterKind::Counter, {}};
  for (size_t w = 0; w < pipelines_.size(); ++w) {
    lost.entries.push_back({std::to_string(w), pipelines_[w]->shield().lostBanEvents()});
  }
  groups.push_back(std::move(lost));
}

}  // namespace sipshield
