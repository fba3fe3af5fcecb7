#pragma once

#include <cstdint>

#include "filters/packet_meta.h"
#include "filters/verdict.h"
#include "parser/validate.h"

namespace sipshield::filters {

// SanityConfig is the [shield.sanity] rule: policy on top of the scanner's RFC 3261 verdicts
// (which already drop malformed messages, missing mandatory headers, CSeq/method mismatches and
// bad Content-Length, counted by the pipeline as dropped_malformed).
struct SanityConfig {
  RuleHeader header{"sanity", {}, false, 0xffff};
  bool enabled = true;
  uint32_t max_message_bytes = 16384;  // a SIP request over UDP rarely exceeds 4 KiB
  // allowed_methods has bit (1 << parser::Method) for each request method accepted; Other is
  // any extension method.
  uint32_t allowed_methods = 0xffffffffu;
  int32_t min_max_forwards = 0;    // RFC 3261 §16.6: 0 is answered with 483 by the proxy
  int32_t max_max_forwards = 255;  // §20.22 suggests 70 as the initial value
  bool require_max_forwards = false;  // §8.1.1.6: SHOULD, so off by default
  uint16_t max_via = 32;              // more Via entries than hops in any sane path
  // Parse every via-parm and drop a message with a malformed one (bad_via), also below the
  // ones the proxy uses. Off: RFC 3261 §16.3 has a proxy forward those unchanged.
  bool check_every_via = false;
};

// methodBit returns the allowed_methods bit of `method`.
[[nodiscard]] constexpr uint32_t methodBit(parser::Method method) {
  return 1u << static_cast<uint32_t>(method);
}

// checkSanity returns why `message` breaks the policy, or ShieldReason::None. Thread-safe,
// allocation-free.
[[nodiscard]] ShieldReason checkSanity(const SanityConfig& config, uint32_t length,
                                       const parser::SipMessage& message,
                                       const parser::SipSummary& summary);

}  // namespace sipshield::filters
