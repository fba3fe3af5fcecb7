#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "parser/sip_message.h"

namespace sipshield::lb {

// The leading elements of a request's Route set (RFC 3261 §20.34), read across Route lines
// and comma-joined values alike, and the bytes that remove some of them: a proxy pops the
// elements that address it (§16.4), one per interface it record-routed with (two when it
// double record-routes, RFC 5658). Bytes only; allocates nothing; thread-safe.

// At most this many leading elements can be ours: one Record-Route per side we have.
inline constexpr size_t kMaxOwnRoutes = 2;

struct RouteElement {
  parser::Span uri;           // the URI inside name-addr's <> (or the addr-spec)
  parser::Span element;       // the element as written, without the separating comma
  uint16_t header = 0;        // index of its Route line in message.headers
  uint32_t next_on_line = 0;  // offset of the element after it on its line; 0 when last
};

// leadingRoutes fills `out` with the first out.size() Route elements in message order and
// returns how many it found: fewer when the message has fewer, and it stops before the first
// element that is not a name-addr / addr-spec (the caller treats what follows as not ours).
size_t leadingRoutes(parser::ByteView input, const parser::SipMessage& message,
                     std::span<RouteElement> out);

// routeCuts fills `cuts` with the spans that remove all of `routes` (the first elements
// leadingRoutes listed, in order): a Route line that loses every element goes whole (name to
// CRLF), else the removed elements and their commas up to the first kept one. Returns the
// number of cuts (<= routes.size()), in increasing order and not overlapping.
size_t routeCuts(parser::ByteView input, const parser::SipMessage& message,
                 std::span<const RouteElement> routes, std::span<parser::Span> cuts);

}  // namespace sipshield::lb
