#pragma once

#include <cstdint>
#include <string_view>

#include "parser/header_id.h"
#include "parser/method.h"
#include "parser/span.h"

namespace sipshield::parser {

// ScanStatus is the one outcome of a scan.
//  - Complete: a whole message was found; `consumed` bytes belong to it.
//  - Incomplete: the bytes end before the message does (header block not terminated, or
//    fewer body bytes than Content-Length). On a stream, read more; on a datagram, truncated.
//  - Invalid: the bytes are not a SIP message; `error` and `error_offset` say why and where.
//  - Keepalive: the input is only CRLFs (RFC 5626 §3.5.1 ping "CRLFCRLF" or pong "CRLF").
enum class ScanStatus : uint8_t { Complete, Incomplete, Invalid, Keepalive };

// What is wrong with a message. The list generates the enum and the names printed in
// verdicts and counters.
#define SIPSHIELD_SCAN_ERRORS(X)                                                     \
  X(None, "none")                                                                    \
  X(Truncated, "truncated")                                                          \
  X(BodyTruncated, "body_truncated")                                                 \
  X(BadStartLine, "bad_start_line")                                                  \
  X(BadMethod, "bad_method")                                                         \
  X(BadRequestUri, "bad_request_uri")                                                \
  X(BadVersion, "bad_version")                                                       \
  X(BadStatusCode, "bad_status_code")                                                \
  X(BadHeaderName, "bad_header_name")                                                \
  X(BadHeaderLine, "bad_header_line")                                                \
  X(ControlCharacter, "control_character")                                           \
  X(BareLineFeed, "bare_line_feed")                                                  \
  X(FoldingWithoutHeader, "folding_without_header")                                  \
  X(TooManyHeaders, "too_many_headers")                                              \
  X(MessageTooLarge, "message_too_large")                                            \
  X(ConflictingHeader, "conflicting_header")                                         \
  X(BadContentLength, "bad_content_length")                                          \
  X(MissingContentLength, "missing_content_length")                                  \
  X(MissingVia, "missing_via")                                                       \
  X(MissingFrom, "missing_from")                                                     \
  X(MissingTo, "missing_to")                                                         \
  X(MissingCallId, "missing_call_id")                                                \
  X(MissingCSeq, "missing_cseq")                                                     \
  X(BadVia, "bad_via")                                                               \
  X(BadCSeq, "bad_cseq")                                                             \
  X(CSeqMethodMismatch, "cseq_method_mismatch")                                      \
  X(BadFrom, "bad_from")                                                             \
  X(BadTo, "bad_to")                                                                 \
  X(BadCallId, "bad_call_id")                                                        \
  X(BadMaxForwards, "bad_max_forwards")

enum class ScanError : uint8_t {
#define SIPSHIELD_SCAN_ERROR_ENUM(name, text) name,
  SIPSHIELD_SCAN_ERRORS(SIPSHIELD_SCAN_ERROR_ENUM)
#undef SIPSHIELD_SCAN_ERROR_ENUM
};

// scanErrorName returns the snake_case name of `error` used in verdicts and metrics.
[[nodiscard]] std::string_view scanErrorName(ScanError error);

// How the message arrived: on a datagram the message ends with the datagram (a missing
// Content-Length means "the rest", RFC 3261 §18.3); on a stream Content-Length is required
// and leading CRLFs are skipped (§7.5).
enum class Framing : uint8_t { Datagram, Stream };

// ScanResult is what scan() returns.
struct [[nodiscard]] ScanResult {
  ScanStatus status = ScanStatus::Invalid;
  ScanError error = ScanError::None;
  uint32_t error_offset = 0;  // byte offset of the fault (Invalid, Incomplete)
  uint32_t consumed = 0;      // bytes of the message incl. body (Complete, Keepalive)
  // Unused; makes the struct 16 bytes. GCC 12 returns a 12-byte struct of these fields by
  // storing them on the stack and reloading them with one 8-byte load, which cannot forward
  // from the narrower stores and waits for them, on every return between the scan's parts;
  // 16 bytes it builds in the two return registers.
  uint32_t reserved = 0;

  [[nodiscard]] bool ok() const { return status == ScanStatus::Complete; }
};
static_assert(sizeof(ScanResult) == 16, "see ScanResult::reserved");

// One header line: its recognised id, its name as written, and its value with leading and
// trailing white space trimmed. A folded value (RFC 3261 §7.3.1) keeps its CRLF+WSP bytes
// inside the span; the sub-parsers treat them as LWS.
struct HeaderField {
  HeaderId id = HeaderId::Other;
  Span name;
  Span value;
};

enum class MessageKind : uint8_t { Request, Response };

// SipMessage is the scanner's output: plain data, spans into the scanned buffer, and a
// caller-owned header array (count in via `header_capacity`, count out via `header_count`).
struct SipMessage {
  MessageKind kind = MessageKind::Request;
  Method method = Method::Other;  // requests
  Span method_token;              // requests
  Span request_uri;               // requests
  uint16_t status_code = 0;       // responses
  Span reason_phrase;             // responses
  Span start_line;                // whole first line without its CRLF

  HeaderField* headers = nullptr;
  uint16_t header_capacity = 0;
  uint16_t header_count = 0;
  // Index into `headers` of the first line of each recognised header; -1 when absent.
  int16_t first_index[kKnownHeaderCount];
  // Number of header lines seen for each recognised header.
  uint8_t occurrences[kKnownHeaderCount];

  uint32_t message_offset = 0;  // start of the start line (after skipped stream CRLFs)
  uint32_t headers_end = 0;     // offset of the empty line's CRLF that ends the header block
  uint32_t body_offset = 0;
  uint32_t body_length = 0;
  int64_t content_length = -1;  // -1: no Content-Length header

  // first returns the first line of header `id`, or nullptr. O(1).
  [[nodiscard]] const HeaderField* first(HeaderId id) const {
    int16_t index = first_index[static_cast<int>(id)];
    return index < 0 ? nullptr : &headers[index];
  }
  [[nodiscard]] bool has(HeaderId id) const { return first_index[static_cast<int>(id)] >= 0; }
  [[nodiscard]] bool isRequest() const { return kind == MessageKind::Request; }
};

// Limits a scan enforces; the defaults suit a UDP shield.
struct ScanLimits {
  uint32_t max_message_bytes = 65535;
  Framing framing = Framing::Datagram;
};

// HeaderStorage bundles a SipMessage with a header array of N entries, for callers that
// keep one per worker.
template <uint16_t N>
struct ParsedMessage {
  SipMessage message;
  HeaderField header_array[N];

  ParsedMessage() {
    message.headers = header_array;
    message.header_capacity = N;
  }
  ParsedMessage(const ParsedMessage&) = delete;
  ParsedMessage& operator=(const ParsedMessage&) = delete;
};

inline constexpr uint16_t kDefaultHeaderCapacity = 64;

// scan finds the message framing of `input`: the start line, every header line (classified,
// names checked against RFC 3261 token grammar, values free of control bytes), the header
// block's end and the body bounded by Content-Length. It does not check which headers are
// present nor parse their values: validate() does that. Never reads outside `input`,
// never allocates, never throws. Thread-safe (no shared state).
//
// `out.headers`/`out.header_capacity` must be set by the caller (see ParsedMessage).
// Returns Complete, Incomplete, Invalid (error + offset) or Keepalive; see ScanStatus.
// Bare LF line endings are Invalid (BareLineFeed): RFC 3261 §7 requires CRLF, and a shield
// that accepted what its backends read differently would open a smuggling gap.
ScanResult scan(ByteView input, SipMessage& out, const ScanLimits& limits = {});

}  // namespace sipshield::parser
