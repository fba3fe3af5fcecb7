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
  ViaEntry second_via;       // second via-parm, when via_count >= 2 (a response's next hop)
  uint16_t via_count = 0;    // via-parms in all Via lines
  Span from_tag;
  Span to_tag;
  Span from_uri;
  Span to_uri;
  int32_t max_forwards = -1;  // -1 when absent
};

// validate checks a Complete scan against RFC 3261 §8.1.1/§20: the mandatory headers for
// the message kind (Via, From, To, Call-ID, CSeq; Max-Forwards is only recommended), every
// via-parm, CSeq number and method (matching the request method, except that CANCEL and ACK
// must carry their own), From/To as name-addr, Max-Forwards digits 0..255.
// Fills `summary` and returns a ScanResult that is Complete or Invalid with error + offset;
// the summary's fields are meaningful only after Complete.
// Thread-safe; allocates nothing.
ScanResult validate(ByteView buffer, const SipMessage& message, SipSummary& summary);

// scanAndValidate is scan() then validate(): the full check the pipeline runs per packet.
ScanResult scanAndValidate(ByteView input, SipMessage& message, SipSummary& summary,
                           const ScanLimits& limits = {});

}  // namespace sipshield::parser
