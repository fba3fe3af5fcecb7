#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "lb/message_editor.h"
#include "lb/route_set.h"
#include "parser/validate.h"

namespace sipshield::lb {

// The stateless-proxy rewrite of RFC 3261 §16.6/§16.11 and RFC 3581, on bytes only: no
// sockets, no addresses beyond their text. The pipeline decides where a message goes; these
// functions produce the bytes that go there. None allocates; all are thread-safe.

// What to change in a request on its way through (client → backend, or backend → client in
// record-route mode).
struct RequestEdits {
  std::string_view via_line;           // our "Via: SIP/2.0/UDP host:port;branch=…\r\n"
  // "Record-Route: <sip:host:port;lr>\r\n", two such lines when we double record-route
  // (RFC 5658: the request leaves by another socket than it came in on), or empty.
  std::string_view record_route_line;
  std::string_view received;           // source IP text for the top Via's received=, or empty
  int32_t rport = -1;                  // source port for a valueless ;rport, or -1
  // The bytes that pop the Route elements addressing us (§16.4), from routeCuts(); only the
  // first route_cut_count are set.
  std::array<parser::Span, kMaxOwnRoutes> route_cuts;
  uint8_t route_cut_count = 0;
  // Scratch, written by prepareRequest before it is read, so not zeroed: a RequestEdits is
  // made per forwarded request, and zeroing these 150 bytes was a `rep stos` on every one.
  // Scratch for the decremented Max-Forwards digits; the caller keeps it alive.
  char max_forwards_text[4];
  // Scratch for the rport= and ;received= texts (prepareRequest writes them); the caller keeps
  // them alive until the editor has been applied.
  char rport_text[12];
  char received_text[64];
};

// rewriteRequest writes `input` with our Via on top, Record-Route (if given) and
// Max-Forwards decremented (or "Max-Forwards: 70" added when absent, §16.6 step 3), the top
// Via given received/rport (§18.2.1, RFC 3581 §4), and our Route elements popped (§16.4).
// The caller must have refused Max-Forwards 0 already (that is a 483, §16.3 step 3).
// Returns the output length, or 0 when it does not fit `capacity`.
size_t rewriteRequest(parser::ByteView input, const parser::SipMessage& message,
                      const parser::SipSummary& summary, RequestEdits& edits,
                      MessageEditor& editor, uint8_t* out, size_t capacity);

// prepareRequest loads `editor` (cleared first) with the edits rewriteRequest applies, so the
// caller can apply them in place (MessageEditor::applyInPlace) or copy (write). The edit texts
// point into `edits` and `editor` must be applied while `edits` lives. Same preconditions as
// rewriteRequest. Returns false when the editor's table is full (never with these edits).
bool prepareRequest(const parser::SipMessage& message,
                    const parser::SipSummary& summary, RequestEdits& edits,
                    MessageEditor& editor);

// prepareResponse loads `editor` (cleared first) with the removal of `cut` (topViaRemoval).
// Returns false when the editor's table is full (never).
bool prepareResponse(parser::Span cut, MessageEditor& editor);

// topViaRemoval finds the bytes to cut to pop the top via-parm of a response (§16.11): the
// whole Via line when it holds one via-parm, else the via-parm and the comma after it. It
// reads the via-parms validate() kept in `summary` (no second parse); the response goes to
// summary.second_via. Returns false when the response has fewer than two via-parms (nowhere to
// send it).
bool topViaRemoval(parser::ByteView input, const parser::SipMessage& message,
                   const parser::SipSummary& summary, parser::Span& cut);

// rewriteResponse writes `input` without `cut` (from topViaRemoval). Returns the length, or
// 0 when it does not fit.
size_t rewriteResponse(parser::ByteView input, parser::Span cut, MessageEditor& editor,
                       uint8_t* out, size_t capacity);

// headerLine returns the whole line (name to CRLF included) of `field`, continuation lines
// included.
parser::Span headerLine(parser::ByteView input, const parser::HeaderField& field);

}  // namespace sipshield::lb
