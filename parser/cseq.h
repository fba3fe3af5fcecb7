#pragma once

#include <cstdint>

#include "parser/sip_message.h"

namespace sipshield::parser {

// CSeq value (RFC 3261 §20.16): a 32-bit sequence number and a method.
struct CSeq {
  uint32_t number = 0;
  Method method = Method::Other;
  Span method_token;
};

// parseCSeq parses the CSeq value in `value` of `buffer`. Returns false when the number is
// not 1..10 digits below 2**31 (§8.1.1.5) or the method is not a token.
bool parseCSeq(ByteView buffer, Span value, CSeq& out);

namespace detail {
// parseCSeqGeneral is parseCSeq without its fast path for the common shape: the full grammar
// alone. parseCSeq must give the same result on every input; tests compare them. Same
// contract as parseCSeq.
bool parseCSeqGeneral(ByteView buffer, Span value, CSeq& out);
}  // namespace detail

}  // namespace sipshield::parser
