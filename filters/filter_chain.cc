#include "filters/filter_chain.h"

#include <algorithm>
#include <cstring>

namespace sipshield::filters {

namespace {

void bump(std::atomic<uint64_t>& v) {
  v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

FilterChain::FilterChain(const StateSizes& sizes)
    : shared_(std::make_shared<SharedShieldState>(sizes, SharedShieldState::randomKey())),
      limiter_(sizes.buckets),
      bans_(sizes.bans),
      verified_(sizes.verified),
      hops_(sizes.hop_prefixes),
      flood_(sizes.sketch_width, sizes.sketch_depth),
      slots_(std::make_unique<RuleSlot[]>(kMaxRules)),
      scratch_(std::make_unique<SlotCopy[]>(kMaxRules)),
      events_(std::make_unique<BanEvent[]>(kBanEventSlots)) {
  overload_.attach(&shared_->backendLoad());
}

void FilterChain::shareState(std::shared_ptr<SharedShieldState> shared) {
  shared_ = std::move(shared);
  overload_.attach(&shared_->backendLoad());
  resolveSharedBuckets();
}

void FilterChain::resolveSharedBuckets() {
  for (uint32_t i = 0; i < kMaxRules; ++i) {
    slots_[i].shared = nullptr;
  }
  if (rules_ == nullptr) {
    return;
  }
  for (const RateLimitRule& rule : rules_->rate_limits) {
    if (rule.key == RateKey::Global) {
      slots_[rule.header.index].shared = shared_->ceilings().find(rule.name_hash);
    }
  }
}

size_t FilterChain::memoryBytes() const {
  return sizeof(*this) + limiter_.table().memoryBytes() + bans_.memoryBytes() +
         verified_.memoryBytes() + hops_.memoryBytes() + flood_.memoryBytes() +
         sizeof(RuleSlot) * kMaxRules + sizeof(SlotCopy) * kMaxRules +
         sizeof(BanEvent) * kBanEventSlots;
}

void FilterChain::remapSlots(const ShieldRules* next) {
  for (uint32_t i = 0; i < kMaxRules; ++i) {
    RuleSlot& slot = slots_[i];
    SlotCopy& copy = scratch_[i];
    copy.name_hash = slot.name_hash.load(std::memory_order_relaxed);
    for (size_t c = 0; c < kRuleCounterCount; ++c) {
      copy.counters[c] = slot.counters.values[c].load(std::memory_order_relaxed);
    }
    copy.global_tokens = slot.global_tokens;
    copy.global_last_ms = slot.global_last_ms;
    copy.global_ready = slot.global_ready;
  }
  const size_t count = next == nullptr ? 0 : next->rule_hashes.size();
  for (uint32_t i = 0; i < kMaxRules; ++i) {
    RuleSlot& slot = slots_[i];
    const uint64_t hash = i < count ? next->rule_hashes[i] : 0;
    const SlotCopy* old = nullptr;
    if (hash != 0) {
      for (uint32_t j = 0; j < kMaxRules; ++j) {
        if (scratch_[j].name_hash == hash) {
          old = &scratch_[j];
          break;
        }
      }
    }
    slot.name_hash.store(hash, std::memory_order_relaxed);
    for (size_t c = 0; c < kRuleCounterCount; ++c) {
      slot.counters.values[c].store(old != nullptr ? old->counters[c] : 0,
                                    std::memory_order_relaxed);
    }
    slot.global_tokens = old != nullptr ? old->global_tokens : 0;
    slot.global_last_ms = old != nullptr ? old->global_last_ms : 0;
    slot.global_ready = old != nullptr && old->global_ready;
  }
}

void FilterChain::setRules(const ShieldRules* rules, const OperatorBans* operator_bans) {
  const uint64_t generation = rules == nullptr ? 0 : rules->generation;
  if (rules != rules_ || generation != rules_generation_) {
    // Rules keep their state by name across the swap (remapSlots); the global ceilings are
    // looked up again, as their slots may have been given back (SharedCeilings::retainOnly).
    remapSlots(rules);
    rules_ = rules;
    rules_generation_ = generation;
    resolveSharedBuckets();
  }
  if (operator_bans != operator_bans_) {
    operator_bans_ = operator_bans;
    if (operator_bans != nullptr) {
      for (const LiftedBan& lift : operator_bans->lifted()) {
        (void)bans_.lift(lift.prefix, lift.lifted_at_ms);
      }
    }
  }
}

void FilterChain::observeBurst(uint32_t size, uint32_t capacity) {
  if (rules_ != nullptr) {
    overload_.observeBurst(rules_->overload, size, capacity);
  }
}

void FilterChain::observeBackendResponse(parser::ByteView in, const parser::SipMessage& message,
                                         const Address& client, uint64_t now_ms) {
  const ShieldRules* rules = rules_;
  if (rules == nullptr || !rules->enabled || message.isRequest()) {
    return;
  }
  if (rules->verify.by_authorization) {
    const uint64_t expires_ms = now_ms + uint64_t{rules->verify.nonce_ttl_s} * 1000;
    (void)recordChallenges(in, message, client, expires_ms, shared_->nonces());
  }
  if (rules->overload.enabled) {
    overload_.observeBackendResponse(rules->overload, message.status_code == 503, now_ms);
  }
}

bool FilterChain::takeCeiling(const RateLimitRule& rule, RuleSlot& slot, uint64_t now_ms) {
  if (slot.shared == nullptr) {
    // No shared bucket (the name table is full): a per-worker bucket, as before.
    if (!slot.global_ready) {
      slot.global_tokens = rule.spec.capacity;
      slot.global_last_ms = now_ms;
      slot.global_ready = true;
    }
    return takeGlobal(rule, slot.global_tokens, slot.global_last_ms, now_ms);
  }
  if (slot.global_tokens < kTokenUnits) {
    slot.global_tokens += slot.shared->grab(rule.spec, now_ms, rule.share_batch);
  }
  if (slot.global_tokens >= kTokenUnits) {
    slot.global_tokens -= kTokenUnits;
    return true;
  }
  return false;
}

void FilterChain::pushBanEvent(const Prefix& prefix, uint64_t expires_ms, ShieldReason reason,
                               const RuleHeader& header) {
  const uint64_t head = event_head_.load(std::memory_order_relaxed);
  if (head - event_tail_.load(std::memory_order_acquire) >= kBanEventSlots) {
    bump(lost_events_);
    return;
  }
  BanEvent& e = events_[head % kBanEventSlots];
  e.prefix = prefix;
  e.expires_ms = expires_ms;
  e.reason = reason;
  const size_t n = std::min(header.name.size(), sizeof(e.rule) - 1);
  std::memcpy(e.rule, header.name.data(), n);
  e.rule[n] = '\0';
  event_head_.store(head + 1, std::memory_order_release);
}

bool FilterChain::popBanEvent(BanEvent& out) {
  const uint64_t tail = event_tail_.load(std::memory_order_relaxed);
  if (tail == event_head_.load(std::memory_order_acquire)) {
    return false;
  }
  out = events_[tail % kBanEventSlots];
  event_tail_.store(tail + 1, std::memory_order_release);
  return true;
}

bool FilterChain::ruleCounters(uint64_t name_hash, uint64_t (&out)[kRuleCounterCount]) const {
  for (uint32_t i = 0; i < kMaxRules; ++i) {
    if (slots_[i].name_hash.load(std::memory_order_relaxed) == name_hash) {
      for (size_t c = 0; c < kRuleCounterCount; ++c) {
        out[c] = slots_[i].counters.values[c].load(std::memory_order_relaxed);
      }
      return true;
    }
  }
  return false;
}

Verdict FilterChain::act(const RuleHeader& header, ShieldReason reason, const PacketMeta& meta,
                         uint64_t now_ms, bool can_reply, bool ban_ok, uint8_t ban_length) {
  count(header, RuleCounter::Matched);
  if (header.dry_run) {
    count(header, RuleCounter::DryRun);
    return {};
  }
  const RuleAction& action = header.action;
  switch (action.kind) {
    case ActionKind::Log:
      return {};
    case ActionKind::Reply:
      if (can_reply) {
        count(header, RuleCounter::Replied);
        bump(reasons_[static_cast<size_t>(reason)]);
        return {Action::Reply, reason, header.index, action.reply_status,
                action.reply_status == 503 ? action.retry_after_s : 0,
                reasonPhrase(action.reply_status)};
      }
      break;
    case ActionKind::Ban:
      // Trusted peers are never banned (a PBX re-registering after an outage): drop only.
      if (ban_ok && meta.trust != TrustClass::Trusted) {
        const uint8_t length =
            ban_length != 0 ? ban_length
                            : (meta.source.v6 ? action.ban_prefix_v6 : action.ban_prefix_v4);
        const Prefix prefix = prefixOf(meta.source, length);
        const uint64_t expires = now_ms + uint64_t{action.ban_seconds} * 1000;
        if (bans_.ban(prefix, now_ms, expires, reason, header.index,
                      rules_->rule_hashes[header.index])) {
          count(header, RuleCounter::Banned);
          pushBanEvent(prefix, expires, reason, header);
        }
      }
      break;
    case ActionKind::Drop:
      break;
  }
  count(header, RuleCounter::Dropped);
  bump(reasons_[static_cast<size_t>(reason)]);
  return {Action::Drop, reason, header.index, 0, 0, {}};
}

Verdict FilterChain::checkRates(bool pre, const PacketMeta& meta, MethodClass method_class,
                                uint64_t now_ms, bool can_reply) {
  const uint8_t trust_bit = bit(meta.trust);
  const uint8_t method_bit = bit(method_class);
  for (const RateLimitRule& rule : rules_->rate_limits) {
    if (rule.pre_parse != pre || (rule.trust & trust_bit) == 0 ||
        (rule.methods & method_bit) == 0) {
      continue;
    }
    count(rule.header, RuleCounter::Seen);
    if (rule.key == RateKey::Global) {
      if (takeCeiling(rule, slots_[rule.header.index], now_ms)) {
        continue;
      }
      Verdict v = act(rule.header, ShieldReason::RateLimited, meta, now_ms, can_reply);
      if (!v.pass()) {
        return v;
      }
      continue;
    }
    const RateOutcome outcome = limiter_.take(rule, meta.source, now_ms);
    if (outcome == RateOutcome::Pass) {
      continue;
    }
    const uint8_t ban_length =
        rule.key == RateKey::Prefix ? (meta.source.v6 ? rule.prefix_v6 : rule.prefix_v4) : 0;
    Verdict v = act(rule.header, ShieldReason::RateLimited, meta, now_ms, can_reply,
                    outcome == RateOutcome::Ban, ban_length);
    if (!v.pass()) {
      return v;
    }
  }
  return {};
}

Verdict FilterChain::preParse(PacketMeta& meta, uint64_t now_ms) {
  clock_ms_ = now_ms;
  const ShieldRules* rules = rules_;
  if (rules == nullptr || !rules->enabled) {
    return {};
  }
  meta.trust = meta.peer || rules->isTrusted(meta.source) ? TrustClass::Trusted
               : verified_.contains(meta.source, now_ms) ? TrustClass::Verified
                                                         : TrustClass::Unverified;
  for (const FilterId id : rules->pre_order) {
    switch (id) {
      case FilterId::Acl: {
        count(rules->acl.header, RuleCounter::Seen);
        if (aclDenies(rules->acl, meta.source)) {
          Verdict v = act(rules->acl.header, ShieldReason::AclDenied, meta, now_ms, false, false);
          if (!v.pass()) {
            return v;
          }
        }
        break;
      }
      case FilterId::Bans: {
        count(rules->bans, RuleCounter::Seen);
        const bool banned =
            (operator_bans_ != nullptr && operator_bans_->match(meta.source, now_ms) != nullptr) ||
            bans_.match(meta.source, now_ms) != nullptr;
        if (banned) {
          Verdict v = act(rules->bans, ShieldReason::Banned, meta, now_ms, false, false);
          if (!v.pass()) {
            return v;
          }
        }
        break;
      }
      case FilterId::Flood: {
        const FloodConfig& flood = rules->flood;
        count(flood.header, RuleCounter::Seen);
        if (now_ms - flood_window_start_ >= flood.window_ms) {
          flood_window_start_ = now_ms;
          flood_window_matches_ = 0;
        }
        const FloodMatch match = flood_.observe(flood, meta.source, now_ms);
        if (now_ms - top_published_ms_ >= kTopPublishMs) {
          // The control thread reads the top list through the board, never the sketch.
          uint32_t top_count = 0;
          const HeavyHitter* top = flood_.top(top_count);
          top_board_.publish(top, top_count, flood_.windowStartMs(), now_ms);
          top_published_ms_ = now_ms;
        }
        if (match != FloodMatch::None && meta.trust != TrustClass::Trusted) {
          ++flood_window_matches_;
          const uint8_t length =
              match == FloodMatch::Prefix ? (meta.source.v6 ? flood.prefix_v6 : flood.prefix_v4)
                                          : 0;
          Verdict v = act(flood.header, ShieldReason::Flood, meta, now_ms, false, true, length);
          if (!v.pass()) {
            return v;
          }
        }
        break;
      }
      case FilterId::HopCount: {
        if (meta.trust == TrustClass::Trusted || meta.ttl == 0) {
          break;
        }
        const HopCountConfig& hop = rules->hop_count;
        count(hop.header, RuleCounter::Seen);
        // Learn only while calm: under a flood the samples are the attacker's.
        const bool calm = !overload_.overloaded(now_ms) && flood_window_matches_ == 0;
        if (hops_.check(hop, meta.source, meta.ttl, calm, now_ms) == HopOutcome::Mismatch) {
          Verdict v = act(hop.header, ShieldReason::HopCountMismatch, meta, now_ms, false);
          if (!v.pass()) {
            return v;
          }
        }
        break;
      }
      case FilterId::RateLimit: {
        Verdict v = checkRates(true, meta, MethodClass::Other, now_ms, false);
        if (!v.pass()) {
          return v;
        }
        break;
      }
      default:
        break;
    }
  }
  return {};
}

Verdict FilterChain::postParse(const PacketMeta& meta, parser::ByteView in,
                               const parser::SipMessage& message,
                               const parser::SipSummary& summary, uint64_t now_ms) {
  clock_ms_ = now_ms;
  const ShieldRules* rules = rules_;
  if (rules == nullptr || !rules->enabled) {
    return {};
  }
  const MethodClass method_class = methodClassOf(message);
  // A stateless reply answers a request; never a response, and never an ACK (§17.1.1.3).
  const bool can_reply = message.isRequest() && message.method != parser::Method::Ack;
  for (const FilterId id : rules->post_order) {
    Verdict v;
    switch (id) {
      case FilterId::Sanity: {
        count(rules->sanity.header, RuleCounter::Seen);
        const ShieldReason reason = checkSanity(rules->sanity, meta.length, message, summary);
        if (reason != ShieldReason::None) {
          v = act(rules->sanity.header, reason, meta, now_ms, can_reply);
        }
        break;
      }
      case FilterId::RateLimit:
        v = checkRates(false, meta, method_class, now_ms, can_reply);
        break;
      case FilterId::Scanner: {
        count(rules->scanner.header, RuleCounter::Seen);
        if (matchScanner(rules->scanner, in, message) >= 0) {
          v = act(rules->scanner.header, ShieldReason::ScannerFingerprint, meta, now_ms,
                  can_reply);
        }
        break;
      }
      case FilterId::Overload: {
        const OverloadConfig& overload = rules->overload;
        count(overload.header, RuleCounter::Seen);
        // Responses and in-dialog requests first; then trusted, verified; new requests from
        // unverified sources are shed first.
        const bool shed_class = meta.trust == TrustClass::Unverified ||
                                (meta.trust == TrustClass::Verified && overload.shed_verified);
        if (message.isRequest() && summary.to_tag.empty() &&
            (overload.shed_methods & bit(method_class)) != 0 && shed_class &&
            overload_.overloaded(now_ms)) {
          v = act(overload.header, ShieldReason::OverloadShed, meta, now_ms, can_reply, false);
        }
        break;
      }
      default:
        break;
    }
    if (!v.pass()) {
      return v;
    }
  }
  if (meta.trust != TrustClass::Trusted &&
      provesReturnRoutability(rules->verify, in, message, summary, shared_->nonces(),
                              meta.source, now_ms)) {
    verified_.mark(meta.source, now_ms + uint64_t{rules->verify.ttl_s} * 1000);
  }
  return {};
}

}  // namespace sipshield::filters
