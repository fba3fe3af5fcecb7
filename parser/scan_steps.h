#pragma once

// Internal: the parts of a scan that run once per message or on rare lines (start line,
// folding, conflicting repeats, body framing). The per-ISA line walk (scan_walk.h) calls them;
// they are compiled once, for the baseline ISA.

#include <cstdint>

#include "parser/sip_message.h"

namespace sipshield::parser::detail {

// resetScanFields clears the fields a scan may leave unset (scan() calls it first; the AVX2
// walk again before it scans a message a second time with the line walk).
inline void resetScanFields(SipMessage& out) {
  out.header_count = 0;
  out.content_length = -1;
  out.body_length = 0;
  out.status_code = 0;
  out.method = Method::Other;
  out.method_token = {};
  out.request_uri = {};
  out.reason_phrase = {};
}

// parseStartLine parses the line [begin, eol) whose leading token (method or "SIP/2.0") ends
// at `token_end` into `out` (kind, method or status, Request-URI or reason). The line's CRLF
// at `eol` must be readable (both walks check it first). Returns None, or the error with `at`
// set to the faulty byte.
ScanError parseStartLine(const char* p, uint32_t begin, uint32_t eol, uint32_t token_end,
                         SipMessage& out, uint32_t& at);

// extendFolded applies a continuation line [begin, eol) (it starts with SP/HTAB) to the last
// header of `out` (RFC 3261 §7.3.1). Returns None or FoldingWithoutHeader.
ScanError extendFolded(const char* p, uint32_t begin, uint32_t eol, SipMessage& out);

// sameValue says whether two header lines carry byte-identical values: RFC 3261 §7.3.1 lets a
// single-valued header repeat only harmlessly.
bool sameValue(const char* p, const HeaderField& a, const HeaderField& b);

// finishMessage frames the body once the header block ended at `headers_end` (the offset of
// its empty line): Content-Length, or the rest of the datagram (§18.3). Returns the scan's
// final result.
ScanResult finishMessage(const char* p, uint32_t size, uint32_t headers_end, SipMessage& out,
                         const ScanLimits& limits);

}  // namespace sipshield::parser::detail
