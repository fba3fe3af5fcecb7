#pragma once

// Internal: validate() and scanAndValidate() (parser/validate.h) as templates over how a
// via-parm is parsed, so that parser/validate.cc instantiates them with calls to parseViaParm
// and parser/validate_avx2.cc with the AVX2 fast path inlined (compiled for BMI1/BMI2 there).
// Everything here has internal linkage: each file gets its own copy.

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "parser/cseq_fast_path.h"
#include "parser/lexer.h"
#include "parser/name_addr.h"
#include "parser/name_addr_fast_path.h"
#include "parser/numbers.h"
#include "parser/scan_entry.h"
#include "parser/validate.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {
namespace {

ScanResult invalid(ScanError error, uint32_t at) {
  return {ScanStatus::Invalid, error, at, 0};
}

struct Mandatory {
  HeaderId id;
  ScanError missing;
};

// RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are the minimum of a request;
// Max-Forwards is only recommended for a stateless shield to require (old UAs omit it), and
// responses carry the same set without it (§8.2.6.2).
constexpr Mandatory kMandatory[] = {
    {HeaderId::Via, ScanError::MissingVia},       {HeaderId::From, ScanError::MissingFrom},
    {HeaderId::To, ScanError::MissingTo},         {HeaderId::CallId, ScanError::MissingCallId},
    {HeaderId::CSeq, ScanError::MissingCSeq},
};

// The mandatory headers are the first five ids, so one 8-byte and one 2-byte load of
// SipMessage::first_index tell whether all are there (a missing one's index is negative).
static_assert(static_cast<int>(HeaderId::Via) == 0 && static_cast<int>(HeaderId::From) == 1 &&
              static_cast<int>(HeaderId::To) == 2 && static_cast<int>(HeaderId::CallId) == 3 &&
              static_cast<int>(HeaderId::CSeq) == 4);

// missingHeader is the verdict for a message without one of kMandatory: the first missing one
// in the table's order. Out of line: valid messages never call it.
[[gnu::noinline, gnu::cold]] ScanResult missingHeader(const SipMessage& message) {
  for (const Mandatory& m : kMandatory) {
    if (!message.has(m.id)) {
      return invalid(m.missing, message.headers_end);
    }
  }
  return invalid(ScanError::MissingVia, message.headers_end);  // not reached
}

// callid = word [ "@" word ] (§25.1): one run of visible characters, so no LWS byte (SP, HTAB
// or a fold's CR/LF) inside. 16 bytes per step (findFirstOf), reading at most to the end of
// the buffer.
bool validCallId(ByteView buffer, Span id) {
  if (id.empty()) {
    return false;
  }
  return findFirstOf<' ', '\t', '\r', '\n'>(buffer.data, id.offset, id.end(),
                                             readableEnd(buffer.size)) == id.end();
}

// plainCallId: `value` is not empty and holds no byte up to SP (so no LWS: trimLws keeps it
// whole and validCallId accepts it), looked at 16 bytes per step. The caller checked that 15
// bytes after the value are readable (its CRLF and the next line), so every step stays in the
// buffer; bytes past the value do not count. False says nothing: the caller then trims and
// checks the general way.
inline bool plainCallId(const char* p, uint32_t begin, uint32_t end) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' ');
  for (uint32_t pos = begin; pos < end; pos += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
    // min(x, SP) == x exactly for the bytes up to SP (unsigned).
    const auto low =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, space), x)));
    if (low != 0) {
      return pos + static_cast<uint32_t>(__builtin_ctz(low)) >= end;
    }
  }
  return begin < end;
#else
  (void)p;
  (void)begin;
  (void)end;
  return false;
#endif
}

// callIdOf sets `call_id` to the trimmed Call-ID value and says whether it is a valid callid:
// plainCallId for nearly every value, trimLws and validCallId for the rest.
inline bool callIdOf(ByteView buffer, Span value, Span& call_id) {
  if (__builtin_expect(uint64_t{value.end()} + 15 <= buffer.size, 1) &&
      plainCallId(buffer.data, value.offset, value.end())) {
    call_id = value;
    return true;
  }
  call_id = trimLws(buffer, value);
  return validCallId(buffer, call_id);
}

// sameMethod is `a == b` for the request's method token and the CSeq's: classifyMethod maps
// a token to a known method only when it is that method's exact name, so two known methods
// decide without looking at the bytes; only two extension methods need the compare.
bool sameMethod(const char* p, Method method_a, Span a, Method method_b, Span b) {
  if (method_a != Method::Other || method_b != Method::Other) {
    return method_a == method_b;
  }
  return a.view(p) == b.view(p);
}

// nextViaLine returns the index of the Via line after line `i`, or -1 when `lines_read` lines
// were all the Via lines (SipMessage::occurrences; 0xFF saturates and says nothing) or no
// other Via line follows.
inline int nextViaLine(const SipMessage& message, int i, uint32_t lines_read) {
  const uint8_t lines = message.occurrences[static_cast<int>(HeaderId::Via)];
  // Once every Via line was read there is no need to look through the rest of the headers.
  if (lines_read >= lines && lines != 0xFF) {
    return -1;
  }
  int next = i + 1;
  while (next < message.header_count && message.headers[next].id != HeaderId::Via) {
    ++next;
  }
  return next < message.header_count ? next : -1;
}

// afterViaParm returns where the via-parm after the one that ended at `stop` (parseViaParm's
// `*stop`) begins in its line [.., end): past the ',' and its LWS; `end` when the line holds
// no other via-parm. A trailing comma (nothing after it) promises another via-parm: false
// with `*error_offset` there.
inline bool afterViaParm(const char* p, uint32_t stop, uint32_t end, uint32_t& next,
                         uint32_t* error_offset) {
  if (stop >= end) {  // the common line: one via-parm up to its end
    next = end;
    return true;
  }
  Lexer lx{p, stop, end};
  if (!lx.consume(',')) {
    next = end;
    return true;
  }
  if (lx.pos >= end) {
    *error_offset = lx.pos;
    return false;
  }
  next = lx.pos;
  return true;
}

// checkMoreVias is checkVias from the third via-parm on, which starts at `pos` of Via line
// `i` ([.., end), the `lines_read`-th Via line; a new line is parsed at least once, even
// empty). Those via-parms are checked, not kept: they are parsed into a scratch entry. Out of
// line, so that messages with one or two via-parms save no registers for this loop.
template <typename Via>
[[gnu::noinline]] bool checkMoreVias(ByteView buffer, const SipMessage& message, int i,
                                     uint32_t pos, uint32_t end, uint32_t lines_read,
                                     uint16_t& count, uint32_t* error_offset) {
  // The scratch entry is not initialised: parseViaParm writes every field it reads back, and
  // nothing else reads it. ViaEntry is an aggregate of scalars (an implicit-lifetime type), so
  // the byte array's storage holds one (C++20 [intro.object]); a value-initialised entry would
  // cost a store per field for each message with a third via-parm.
  static_assert(std::is_aggregate_v<ViaEntry> && std::is_trivially_copyable_v<ViaEntry> &&
                std::is_trivially_destructible_v<ViaEntry>);
  alignas(ViaEntry) unsigned char storage[sizeof(ViaEntry)];
  ViaEntry& scratch = *std::launder(reinterpret_cast<ViaEntry*>(storage));
  uint32_t parms = 2;
  while (true) {
    do {
      uint32_t stop = 0;
      if (!Via::parse(buffer, pos, end, scratch, &stop)) {
        *error_offset = stop;
        return false;
      }
      ++parms;
      if (!afterViaParm(buffer.data, stop, end, pos, error_offset)) {
        return false;
      }
    } while (pos < end);
    i = nextViaLine(message, i, lines_read);
    if (i < 0) {
      break;
    }
    ++lines_read;
    pos = message.headers[i].value.offset;
    end = message.headers[i].value.end();
  }
  count = static_cast<uint16_t>(parms > 0xFFFF ? 0xFFFF : parms);
  return true;
}

// commasInQuotedText counts the ',' of [begin, end) outside quoted strings (RFC 3261 §25.1:
// '"' opens and closes one, and a '\' inside quotes escapes the byte after it). Byte by byte:
// for the Via lines that hold a ',' or a '"' (comma-joined via-parms are rare).
[[gnu::noinline]] inline uint32_t commasInQuotedText(const char* p, uint32_t begin,
                                                     uint32_t end) {
  uint32_t commas = 0;
  bool quoted = false;
  for (uint32_t pos = begin; pos < end; ++pos) {
    const char c = p[pos];
    if (quoted) {
      if (c == '\\') {
        ++pos;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      ++commas;
    }
  }
  return commas;
}

// commasOutsideQuotes counts the ',' of [begin, end) of `buffer` that are not inside a quoted
// string. Most Via lines hold neither ',' nor '"': 16 bytes per step find that out, the last
// step reading up to 15 bytes past `end` when the buffer has them (a value is followed by at
// least its CRLF). Only a line with one of them is counted byte by byte (commasInQuotedText).
inline uint32_t commasOutsideQuotes(ByteView buffer, uint32_t begin, uint32_t end) {
  const char* p = buffer.data;
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i quote = _mm_set1_epi8('"');
  auto found = [&](uint32_t pos) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
    return static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(x, comma), _mm_cmpeq_epi8(x, quote))));
  };
  uint32_t pos = begin;
  for (; pos + 16 <= end; pos += 16) {
    if (found(pos) != 0) {
      return commasInQuotedText(p, begin, end);
    }
  }
  if (pos == end) {
    return 0;
  }
  if (uint64_t{pos} + 16 <= buffer.size) {
    // The last 1..15 bytes; the bytes after `end` do not count.
    return (found(pos) & ((1u << (end - pos)) - 1)) != 0 ? commasInQuotedText(p, begin, end) : 0;
  }
  return commasInQuotedText(p, pos, end);  // the buffer's last bytes
#else
  return commasInQuotedText(p, begin, end);
#endif
}

// countViaParms counts, without parsing them, the via-parms that start at `pos` of Via line
// `i` ([.., end), the `lines_read`-th Via line) and those of the Via lines after it, as
// ViaCheck::Used does: one per line and one per ',' outside quoted strings.
inline uint32_t countViaParms(ByteView buffer, const SipMessage& message, int i, uint32_t pos,
                              uint32_t end, uint32_t lines_read) {
  uint32_t parms = 0;
  while (true) {
    parms += 1 + commasOutsideQuotes(buffer, pos, end);
    i = nextViaLine(message, i, lines_read);
    if (i < 0) {
      return parms;
    }
    ++lines_read;
    pos = message.headers[i].value.offset;
    end = message.headers[i].value.end();
  }
}

// checkVias parses every via-parm of every Via line in order (the walk ViaCursor does, inline:
// validate() needs no cursor object and no per-call bookkeeping), keeping the first in `top`
// and the second in `second` and counting them (saturating at 0xFFFF). The message has a Via
// line (first_index). Via::parse parses the first two (one call site: it may be inlined),
// checkMoreVias the rest. With ViaCheck::Used only the first (on a request) or the first two
// (on a response) are parsed and the rest counted (countViaParms). Returns false with
// `*error_offset` at the fault.
template <typename Via, ViaCheck kVias>
[[gnu::always_inline]] inline bool checkVias(ByteView buffer, const SipMessage& message,
                                             ViaEntry& top, ViaEntry& second, uint16_t& count,
                                             uint32_t* error_offset) {
  const uint32_t parsed = kVias == ViaCheck::Used && message.isRequest() ? 1 : 2;
  int i = message.first_index[static_cast<int>(HeaderId::Via)];
  uint32_t lines_read = 1;
  uint32_t pos = message.headers[i].value.offset;
  uint32_t end = message.headers[i].value.end();
  ViaEntry* entry = &top;
  uint32_t parms = 0;
  while (true) {
    // Each line is parsed at least once: an empty Via line is a bad via-parm.
    uint32_t stop = 0;
    if (!Via::parse(buffer, pos, end, *entry, &stop)) {
      *error_offset = stop;
      return false;
    }
    ++parms;
    if (!afterViaParm(buffer.data, stop, end, pos, error_offset)) {
      return false;
    }
    if (pos >= end) {
      const int next = nextViaLine(message, i, lines_read);
      if (next < 0) {
        count = static_cast<uint16_t>(parms);
        return true;
      }
      ++lines_read;
      i = next;
      pos = message.headers[i].value.offset;
      end = message.headers[i].value.end();
    }
    if (parms == parsed) {
      break;
    }
    entry = &second;
  }
  if constexpr (kVias == ViaCheck::Used) {
    const uint32_t total = parms + countViaParms(buffer, message, i, pos, end, lines_read);
    count = static_cast<uint16_t>(total > 0xFFFF ? 0xFFFF : total);
    return true;
  }
  return checkMoreVias<Via>(buffer, message, i, pos, end, lines_read, count, error_offset);
}

// nameAddrOf is parseNameAddr(buffer, value, ..) keeping only the URI and the tag (set only
// when it returns true): the common shapes (parseCommonNameAddr) inline, into a NameAddr of
// their own whose other fields the compiler drops; any other value takes parseNameAddr.
[[gnu::always_inline]] inline bool nameAddrOf(ByteView buffer, Span value, Span& uri,
                                              Span& tag) {
#if defined(__SSE2__)
  if (__builtin_expect(value.length != 0 && uint64_t{value.end()} + kCommonSlack <= buffer.size,
                       1)) {
    NameAddr common;
    if (__builtin_expect(parseCommonNameAddr(buffer.data, value.offset, value.end(), common) ==
                             CommonShape::Parsed,
                         1)) {
      uri = common.uri;
      tag = common.tag;
      return true;
    }
  }
#endif
  NameAddr addr;
  if (!parseNameAddr(buffer, value, addr)) {
    return false;
  }
  uri = addr.uri;
  tag = addr.tag;
  return true;
}

// cseqOf is parseCSeq with its fast path for the common shape (parseCommonCSeq) inline; any
// other value takes parseCSeq, which tries that path again (it leaves `out` untouched when it
// fails) before the general grammar.
[[gnu::always_inline]] inline bool cseqOf(ByteView buffer, Span value, CSeq& out) {
  if (kLittleEndian && __builtin_expect(buffer.size - value.offset >= 24, 1) &&
      __builtin_expect(parseCommonCSeq(value, buffer.data + value.offset, out), 1)) {
    return true;
  }
  return parseCSeq(buffer, value, out);
}

// maxForwards is parseDecimal(value, 255) for the 1..3 digits every Max-Forwards has, without
// the call; other lengths take parseDecimal.
[[gnu::always_inline]] inline bool maxForwards(ByteView buffer, Span value, int32_t& out) {
  if (value.length - 1 < 3) {
    const char* s = buffer.data + value.offset;
    uint32_t hops = 0;
    for (uint32_t i = 0; i < value.length; ++i) {
      auto digit = static_cast<uint32_t>(static_cast<unsigned char>(s[i])) - '0';
      if (digit > 9) {
        return false;
      }
      hops = hops * 10 + digit;
    }
    out = static_cast<int32_t>(hops);
    return hops <= 255;
  }
  uint64_t hops = 0;
  if (!parseDecimal(buffer, value, 255, hops)) {
    return false;
  }
  out = static_cast<int32_t>(hops);
  return true;
}

// validateMessage is validate(), with via-parms parsed by Via (checkVias).
template <typename Via, ViaCheck kVias>
[[gnu::always_inline]] inline ScanResult validateMessage(ByteView buffer,
                                                         const SipMessage& message,
                                                         SipSummary& summary) {
  // No blanket reset: every field is assigned below before Complete is returned, and the
  // summary means nothing otherwise (zeroing it cost a tenth of validate()).
  summary.max_forwards = -1;
  const char* p = buffer.data;
  {
    uint64_t first_four;  // Via, From, To, Call-ID
    std::memcpy(&first_four, message.first_index, sizeof(first_four));
    if (__builtin_expect((first_four & 0x8000800080008000ull) != 0 ||
                             message.first_index[static_cast<int>(HeaderId::CSeq)] < 0,
                         0)) {
      return missingHeader(message);
    }
  }
  const HeaderField* headers = message.headers;

  const Span call_id = headers[message.first_index[static_cast<int>(HeaderId::CallId)]].value;
  if (!callIdOf(buffer, call_id, summary.call_id)) {
    return invalid(ScanError::BadCallId, call_id.offset);
  }

  const Span cseq = headers[message.first_index[static_cast<int>(HeaderId::CSeq)]].value;
  if (!cseqOf(buffer, cseq, summary.cseq)) {
    return invalid(ScanError::BadCSeq, cseq.offset);
  }
  // §8.1.1.5: the CSeq method MUST match the request's method (ACK and CANCEL included).
  if (message.isRequest() && !sameMethod(p, summary.cseq.method, summary.cseq.method_token,
                                         message.method, message.method_token)) {
    return invalid(ScanError::CSeqMethodMismatch, summary.cseq.method_token.offset);
  }

  // The via-parms are checked (every one, or those the proxy uses); the first two are kept.
  summary.via_count = 0;
  uint32_t via_error = 0;
  if (!checkVias<Via, kVias>(buffer, message, summary.top_via, summary.second_via, summary.via_count,
                      &via_error)) {
    return invalid(ScanError::BadVia, via_error);
  }

  const Span from = headers[message.first_index[static_cast<int>(HeaderId::From)]].value;
  if (!nameAddrOf(buffer, from, summary.from_uri, summary.from_tag)) {
    return invalid(ScanError::BadFrom, from.offset);
  }
  const Span to = headers[message.first_index[static_cast<int>(HeaderId::To)]].value;
  if (!nameAddrOf(buffer, to, summary.to_uri, summary.to_tag)) {
    return invalid(ScanError::BadTo, to.offset);
  }

  if (const HeaderField* mf = message.first(HeaderId::MaxForwards)) {
    if (!maxForwards(buffer, mf->value, summary.max_forwards)) {
      summary.max_forwards = -1;
      return invalid(ScanError::BadMaxForwards, mf->value.offset);
    }
  }
  return {ScanStatus::Complete, ScanError::None, 0, 0};
}

// scanAndValidateWith is scanAndValidate(), with via-parms parsed by Via.
template <typename Via, ViaCheck kVias>
[[gnu::always_inline]] inline ScanResult scanAndValidateWith(ByteView input,
                                                             SipMessage& message,
                                                             SipSummary& summary,
                                                             const ScanLimits& limits) {
  ScanResult result = detail::scanEntry(input, message, limits);
  if (result.status != ScanStatus::Complete) {
    return result;
  }
  ScanResult checked = validateMessage<Via, kVias>(input, message, summary);
  if (checked.status != ScanStatus::Complete) {
    return checked;
  }
  return result;
}

}  // namespace

namespace detail {
// scanAndValidateAvx2 (parser/validate_avx2.cc) is scanAndValidate with the via-parms' AVX2
// fast path inlined. Call it only when viaParmAvx2Active().
ScanResult scanAndValidateAvx2(ByteView input, SipMessage& message, SipSummary& summary,
                               const ScanLimits& limits, ViaCheck vias);
}  // namespace detail

}  // namespace sipshield::parser
