#pragma once

#include "parser/sip_message.h"

namespace sipshield::parser {

// A From, To, Contact, Route or Record-Route value (RFC 3261 §20.10, §25.1): name-addr
// ("Display" <uri>;params) or addr-spec (uri;params, where ';' params belong to the header).
struct NameAddr {
  Span display_name;  // without quotes; empty when absent
  Span uri;           // inside the angle brackets, or the bare addr-spec
  Span params;        // header parameters after the URI, starting at ';'
  Span tag;           // value of ;tag=
  bool angle_brackets = false;
};

// parseNameAddr parses one name-addr/addr-spec from [begin, end) of `buffer`. For multi-value
// headers (Contact, Route) pass each comma-separated element; splitHeaderList finds them.
// Returns false on a malformed value (unterminated quote or '<', empty URI).
bool parseNameAddr(ByteView buffer, uint32_t begin, uint32_t end, NameAddr& out);
inline bool parseNameAddr(ByteView buffer, Span value, NameAddr& out) {
  return parseNameAddr(buffer, value.offset, value.end(), out);
}

namespace detail {
// parseNameAddrGeneral is parseNameAddr with byte-by-byte searches instead of its 16-byte
// ones: the reference. parseNameAddr must give the same result (every field, offsets of empty
// spans included) on every input; tests compare them. Same contract as parseNameAddr.
bool parseNameAddrGeneral(ByteView buffer, uint32_t begin, uint32_t end, NameAddr& out);
}  // namespace detail

// nextListElement finds the next comma-separated element of a header value starting at
// `*pos` (commas inside quotes or <> do not split). Sets `element` (trimmed) and advances
// `*pos` past the comma; returns false when no element is left.
bool nextListElement(ByteView buffer, uint32_t end, uint32_t* pos, Span& element);

// trimLwsSpan returns [begin, end) of `p` without leading/trailing LWS.
Span trimLwsSpan(const char* p, uint32_t begin, uint32_t end);

// findParam finds parameter `name` (case-insensitive) in a ";a=b;c" list inside `params`.
// Sets `value` (empty for a flag parameter) and returns true when present.
bool findParam(ByteView buffer, Span params, std::string_view name, Span& value);

}  // namespace sipshield::parser
