#include "filters/sanity.h"

namespace sipshield::filters {

ShieldReason checkSanity(const SanityConfig& config, uint32_t length,
                         const parser::SipMessage& message, const parser::SipSummary& summary) {
  if (length > config.max_message_bytes) {
    return ShieldReason::TooLarge;
  }
  if (summary.via_count > config.max_via) {
    return ShieldReason::TooManyVias;
  }
  if (!message.isRequest()) {
    return ShieldReason::None;
  }
  if ((config.allowed_methods & methodBit(message.method)) == 0) {
    return ShieldReason::MethodNotAllowed;
  }
  // Max-Forwards is a request header (§20.22); absent is -1.
  if (summary.max_forwards < 0) {
    return config.require_max_forwards ? ShieldReason::MaxForwardsOutOfRange : ShieldReason::None;
  }
  if (summary.max_forwards < config.min_max_forwards ||
      summary.max_forwards > config.max_max_forwards) {
    return ShieldReason::MaxForwardsOutOfRange;
  }
  return ShieldReason::None;
}

}  // namespace sipshield::filters
