#pragma once

#include <cstdint>

#include "parser/span.h"

namespace sipshield::parser {

// parseDecimal reads a span of ASCII digits only (no sign, no white space) into `out`.
// Returns false when the span is empty, holds a non-digit, or the value exceeds `max`.
// Overflow-safe for any length.
bool parseDecimal(ByteView buffer, Span digits, uint64_t max, uint64_t& out);

// trimLws returns `value` without leading and trailing SP, HTAB, CR and LF (folded LWS).
Span trimLws(ByteView buffer, Span value);

}  // namespace sipshield::parser
