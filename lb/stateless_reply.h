#pragma once

#include <cstdint>
#include <string_view>

#include "parser/validate.h"

namespace sipshield::lb {

// A response the balancer answers itself, statelessly (RFC 3261 §16.3 step 3: 483; §21.5.4:
// 503 when no backend can take the request).
struct ReplySpec {
  uint16_t status = 503;
  std::string_view reason = "Service Unavailable";
  uint32_t retry_after_s = 0;  // 0: no Retry-After header (§20.33)
  uint64_t tag_seed = 0;       // secret-derived seed for the To-tag
};

// buildStatelessReply writes the response to `request` into `out` (§8.2.6.2): every Via line
// copied in order, From, To (with a To-tag derived from the Call-ID, From-tag and seed, so a
// retransmitted request gets the same tag), Call-ID, CSeq, optional Retry-After, Server and
// Content-Length: 0. Returns the length, or 0 when it does not fit `capacity`. Never use it for
// ACK (§17.2.1: no response to an ACK). Thread-safe; no allocation.
size_t buildStatelessReply(parser::ByteView request, const parser::SipMessage& message,
                           const parser::SipSummary& summary, const ReplySpec& spec,
                           uint8_t* out, size_t capacity);

}  // namespace sipshield::lb
