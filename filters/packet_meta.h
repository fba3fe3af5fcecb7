#pragma once

#include <cstdint>
#include <string>

#include "filters/address.h"
#include "parser/sip_message.h"

namespace sipshield::filters {

// TrustClass is how much the shield believes a source is who it says (issue 4 "Trust
// classes"): configured peers, sources that proved return routability, and the rest.
enum class TrustClass : uint8_t { Trusted, Verified, Unverified };

// MethodClass groups messages for rate limits: each class has its own buckets.
enum class MethodClass : uint8_t { Invite, Register, Options, Other, Response };

inline constexpr uint8_t kAllTrustClasses = 0x07;   // bit per TrustClass
inline constexpr uint8_t kAllMethodClasses = 0x1f;  // bit per MethodClass

// bit returns the mask bit of a class.
[[nodiscard]] constexpr uint8_t bit(TrustClass c) { return uint8_t(1u << static_cast<int>(c)); }
[[nodiscard]] constexpr uint8_t bit(MethodClass c) { return uint8_t(1u << static_cast<int>(c)); }

// methodClassOf classifies a scanned message. Thread-safe.
[[nodiscard]] inline MethodClass methodClassOf(const parser::SipMessage& message) {
  if (!message.isRequest()) {
    return MethodClass::Response;
  }
  switch (message.method) {
    case parser::Method::Invite: return MethodClass::Invite;
    case parser::Method::Register: return MethodClass::Register;
    case parser::Method::Options: return MethodClass::Options;
    default: return MethodClass::Other;
  }
}

// trustClassName / methodClassName return the TOML spelling ("unverified", "invite").
[[nodiscard]] std::string_view trustClassName(TrustClass c);
[[nodiscard]] std::string_view methodClassName(MethodClass c);

// PacketMeta is what the shield knows of a datagram before parsing it: filled by the pipeline
// from its RxPacket; the pre-parse stage adds `trust`.
struct PacketMeta {
  Address source;
  uint16_t source_port = 0;
  uint8_t ttl = 0;       // IPv4 TTL / IPv6 hop limit; 0 = unknown
  uint32_t length = 0;   // datagram payload bytes
  bool peer = false;     // a configured backend (set by the pipeline): always trusted
  TrustClass trust = TrustClass::Unverified;  // set by FilterChain::preParse
};

// ActionKind is what a rule does when it matches (issue 4 "Rules").
enum class ActionKind : uint8_t {
  Drop,   // drop silently
  Ban,    // drop and ban the source (or its prefix) for ban_seconds; never a trusted source
  Reply,  // stateless reply (403, 503 + Retry-After); requests after parsing only
  Log,    // count only
};

// actionKindName returns "drop", "ban", "reply" or "log".
[[nodiscard]] std::string_view actionKindName(ActionKind kind);

// RuleAction is a rule's action and its parameters.
struct RuleAction {
  ActionKind kind = ActionKind::Drop;
  uint32_t ban_seconds = 300;     // Ban: how long
  uint8_t ban_prefix_v4 = 32;     // Ban: the block banned (32 = the address alone)
  uint8_t ban_prefix_v6 = 128;
  uint16_t reply_status = 503;    // Reply
  uint32_t retry_after_s = 5;     // Reply: Retry-After (0 = none; only sent with 503)

  friend bool operator==(const RuleAction&, const RuleAction&) = default;
};

// RuleHeader is what every rule has: a unique name, an action, dry-run. `index` is assigned
// by ShieldRules::finalize (its slot in ShieldRules::rules and the per-rule counters).
struct RuleHeader {
  std::string name;
  RuleAction action;
  bool dry_run = false;  // count matches without acting
  uint16_t index = 0xffff;

  friend bool operator==(const RuleHeader&, const RuleHeader&) = default;
};

}  // namespace sipshield::filters
