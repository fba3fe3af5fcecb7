#pragma once

#include "parser/cseq.h"
#include "parser/sip_message.h"
#include "parser/via.h"

namespace sipshield::parser {

// The fields the fast path needs, parsed by validate().
struct SipSummary {
  Span call_id;              // trimmed, compared byte-exact (§20.8)
  CSeq cseq;
  ViaEntry top_via;          // first via-parm
  // Second via-parm, when via_count >= 2 and it was parsed: always with ViaCheck::Every, on
  // responses only with ViaCheck::Used (a response's next hop).
  ViaEntry second_via;
  uint16_t via_count = 0;    // via-parms in all Via lines (saturating)
  Span from_tag;
  Span to_tag;
  Span from_uri;
  Span to_uri;
  int32_t max_forwards = -1;  // -1 when absent
};

// How much of the Via header validate() checks.
enum class ViaCheck : uint8_t {
  // Every via-parm is parsed and must be well-formed (the scan tool; what RFC 3261 §20.42's
  // grammar says of the whole header).
  Every,
  // The via-parms a stateless proxy uses are parsed and must be well-formed: the top one, and
  // on a response the second (its next hop). The ones below are counted, not parsed: RFC 3261
  // §16.3 step 1 has a proxy ignore the parts it does not process and forward them unchanged.
  // They count as one per Via line plus one per ',' outside a quoted string, which is the
  // via-parm count of every well-formed header.
  Used,
};

// validate checks a Complete scan against RFC 3261 §8.1.1/§20: the mandatory headers for
// the message kind (Via, From, To, Call-ID, CSeq; Max-Forwards is only recommended), every
// via-parm (`vias`), CSeq number and method (matching the request method, except that
// CANCEL and ACK must carry their own), From/To as name-addr, Max-Forwards digits 0..255.
// Fills `summary` and returns a ScanResult that is Complete or Invalid with error + offset;
// the summary's fields are meaningful only after Complete.
// Thread-safe; allocates nothing.
ScanResult validate(ByteView buffer, const SipMessage& message, SipSummary& summary,
                    ViaCheck vias = ViaCheck::Every);

// scanAndValidate is scan() then validate(): the full check. The pipeline runs it per packet
// with ViaCheck::Used.
ScanResult scanAndValidate(ByteView input, SipMessage& message, SipSummary& summary,
                           const ScanLimits& limits = {}, ViaCheck vias = ViaCheck::Every);

}  // namespace sipshield::parser
