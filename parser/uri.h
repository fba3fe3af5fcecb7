#pragma once

#include <cstdint>

#include "parser/span.h"

namespace sipshield::parser {

// A sip:, sips: or tel: URI (RFC 3261 §19.1.1, §25.1).
struct SipUri {
  Span scheme;    // "sip", "sips", "tel" (other schemes: scheme only, `opaque` is the rest)
  Span user;      // userinfo before '@' without the password; empty when absent
  Span host;      // hostname, IPv4 literal or IPv6 reference with brackets
  uint16_t port = 0;  // 0 when absent
  Span params;    // ";..." uri-parameters, starting at ';'
  Span headers;   // "?..." headers, starting after '?'
  Span opaque;    // for non-SIP schemes, everything after ':'
};

// parseUri parses the URI in `uri` of `buffer`. Returns false on a malformed URI (no scheme,
// empty host, bad port, unterminated IPv6 reference).
bool parseUri(ByteView buffer, Span uri, SipUri& out);

}  // namespace sipshield::parser
