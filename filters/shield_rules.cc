#include "filters/shield_rules.h"

#include <algorithm>
#include <atomic>

namespace sipshield::filters {

std::string ShieldRules::finalize() {
  static std::atomic<uint64_t> generations{0};
  generation = generations.fetch_add(1, std::memory_order_relaxed) + 1;
  rules.clear();
  rule_hashes.clear();
  pre_order.clear();
  post_order.clear();
  auto add = [&](RuleHeader& header) -> std::string {
    if (header.name.empty()) {
      return "a rule has no name";
    }
    for (const RuleHeader* other : rules) {
      if (other->name == header.name) {
        return "rule name \"" + header.name + "\" is used twice";
      }
    }
    if (rules.size() >= kMaxRules) {
      return "more than " + std::to_string(kMaxRules) + " rules";
    }
    header.index = static_cast<uint16_t>(rules.size());
    rules.push_back(&header);
    rule_hashes.push_back(hashName(header.name));
    return "";
  };
  for (RuleHeader* header : {&acl.header, &bans, &flood.header, &hop_count.header,
                             &sanity.header, &scanner.header, &overload.header}) {
    if (std::string error = add(*header); !error.empty()) {
      return error;
    }
  }
  for (RateLimitRule& rule : rate_limits) {
    if (std::string error = add(rule.header); !error.empty()) {
      return error;
    }
    if (rule.rate <= 0 || rule.burst < 1) {
      return "rate_limit \"" + rule.header.name + "\": rate must be > 0 and burst >= 1";
    }
    if (rule.key == RateKey::Global && rule.header.action.kind == ActionKind::Ban) {
      return "rate_limit \"" + rule.header.name +
             "\": a global ceiling cannot ban (it has no single source)";
    }
    rule.finalize();
    any_pre_rate = any_pre_rate || rule.pre_parse;
    any_post_rate = any_post_rate || !rule.pre_parse;
  }
  // Pre-parse stages only drop or ban: there is no parsed request to reply to yet.
  for (const RuleHeader* header : {&acl.header, &flood.header, &hop_count.header}) {
    if (header->action.kind == ActionKind::Reply) {
      return "rule \"" + header->name + "\" runs before parsing and cannot reply";
    }
  }
  bans.action.kind = ActionKind::Drop;
  acl.build();
  if (std::string error = scanner.build(); !error.empty()) {
    return "scanner: " + error;
  }
  std::vector<PrefixMap::Entry> trusted_entries;
  for (const Prefix& p : trusted) {
    trusted_entries.push_back({p, 1});
  }
  auto map = std::make_shared<PrefixMap>();
  map->build(std::move(trusted_entries));
  trusted_map = std::move(map);

  if (!enabled) {
    return "";
  }
  // Cheapest first: a binary search, a few hash probes, a sketch update, one probe, buckets.
  if (acl.enabled()) {
    pre_order.push_back(FilterId::Acl);
  }
  pre_order.push_back(FilterId::Bans);
  if (flood.enabled) {
    pre_order.push_back(FilterId::Flood);
  }
  if (hop_count.enabled) {
    pre_order.push_back(FilterId::HopCount);
  }
  if (any_pre_rate) {
    pre_order.push_back(FilterId::RateLimit);
  }
  if (sanity.enabled) {
    post_order.push_back(FilterId::Sanity);
  }
  if (any_post_rate) {
    post_order.push_back(FilterId::RateLimit);
  }
  if (scanner.enabled && !scanner.patterns.empty()) {
    post_order.push_back(FilterId::Scanner);
  }
  if (overload.enabled) {
    post_order.push_back(FilterId::Overload);
  }
  return "";
}

}  // namespace sipshield::filters
