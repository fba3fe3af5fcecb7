#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filters/acl.h"
#include "filters/flood.h"
#include "filters/hop_count.h"
#include "filters/overload.h"
#include "filters/packet_meta.h"
#include "filters/prefix_map.h"
#include "filters/rate_limit.h"
#include "filters/sanity.h"
#include "filters/scanner.h"
#include "filters/verified_set.h"

namespace sipshield::filters {

// FilterId names a stage of the chain. The chain runs them in the order finalize() resolves:
// pre-parse (metadata only) then post-parse, cheapest first (STYLE.md "Filter chains").
enum class FilterId : uint8_t { Acl, Bans, Flood, HopCount, RateLimit, Sanity, Scanner, Overload };

// ShieldRules is the whole immutable rule set of the DoS shield: each filter's Config, the
// trusted prefixes and what proves return routability. Built by the control plane from the
// [shield] part of the TOML (src/shield_config.cc), finalized once, then shared read-only by
// every worker through the runtime snapshot; a reload publishes a new one while the per-worker
// state (buckets, sketch, bans, verified set, hop counts) stays in each FilterChain.
//
// Not copyable: finalize() stores pointers to its own members. Hold it in a shared_ptr.
struct ShieldRules {
  ShieldRules() = default;
  ShieldRules(const ShieldRules&) = delete;
  ShieldRules& operator=(const ShieldRules&) = delete;

  bool enabled = true;
  AclConfig acl;
  // Bans stage: operator bans (snapshot) and automatic bans (per worker). Its action is always
  // drop; dry_run lets banned sources through while counting them.
  RuleHeader bans{"bans", {}, false, 0xffff};
  std::vector<Prefix> trusted;  // trusted peers: never auto-banned, their own budgets
  VerifyConfig verify;
  FloodConfig flood;
  HopCountConfig hop_count;
  std::vector<RateLimitRule> rate_limits;
  SanityConfig sanity;
  ScannerConfig scanner;
  OverloadConfig overload;

  // Resolved by finalize().
  std::shared_ptr<const PrefixMap> trusted_map;
  std::vector<const RuleHeader*> rules;  // every rule by index (RuleHeader::index)
  std::vector<uint64_t> rule_hashes;     // hashName of each rule's name
  std::vector<FilterId> pre_order;       // enabled pre-parse stages, cheapest first
  std::vector<FilterId> post_order;      // enabled post-parse stages, cheapest first
  bool any_pre_rate = false;
  bool any_post_rate = false;
  // generation is unique per finalize() in this process (never 0 after it): workers tell a
  // new rules object from a freed one whose address was reused (FilterChain::setRules).
  uint64_t generation = 0;

  static constexpr size_t kMaxRules = 256;

  // finalize builds the lookup structures, numbers the rules and resolves the stage order.
  // Returns "" or why the rules cannot be used (duplicate rule names, too many rules, a reply
  // action where no reply is possible, ...). Control plane only.
  [[nodiscard]] std::string finalize();

  // trustOf classifies a source by the trusted prefixes only (verified is per worker).
  [[nodiscard]] bool isTrusted(const Address& source) const {
    return trusted_map->lookup(source) != PrefixMap::kNoMatch;
  }
};

}  // namespace sipshield::filters
