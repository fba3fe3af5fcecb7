#include "parser/cseq.h"

#include <array>
#include <bit>
#include <cstring>
#include <iterator>
#include <string_view>

#include "parser/cseq_fast_path.h"
#include "parser/lexer.h"
#include "parser/method.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {
namespace {

// parseCSeqGrammar is parseCSeqGeneral on the bytes alone: the fast path's fallback then
// keeps fewer values alive. CSeq = "CSeq" HCOLON 1*DIGIT LWS Method (RFC 3261 §20.16); the
// number is below 2**31 (§8.1.1.5).
bool parseCSeqGrammar(const char* p, Span value, CSeq& out) {
  Lexer lx{p, value.offset, value.end()};
  lx.skipLws();
  uint32_t begin = lx.pos;
  uint64_t number = 0;
  while (!lx.atEnd() && isDigit(lx.peek())) {
    number = number * 10 + static_cast<uint64_t>(lx.peek() - '0');
    if (number > 0x7FFFFFFFull) {
      return false;
    }
    ++lx.pos;
  }
  if (lx.pos == begin || lx.pos - begin > 10) {
    return false;
  }
  uint32_t digits_end = lx.pos;
  lx.skipLws();
  if (lx.pos == digits_end) {
    return false;
  }
  Span method = lx.token();
  lx.skipLws();
  if (method.empty() || !lx.atEnd()) {
    return false;
  }
  out.number = static_cast<uint32_t>(number);
  out.method_token = method;
  out.method = classifyMethod(method.view(p));
  return true;
}

// parseCSeqNearEnd is parseCSeq for a value less than 24 bytes before the end of the buffer:
// the fast path reads a zero-padded copy. Out of line to keep the copy off the common path.
[[gnu::noinline]] bool parseCSeqNearEnd(ByteView buffer, Span value, CSeq& out) {
  char padded[24] = {};
  if (buffer.size > value.offset) {  // an empty buffer may have no data pointer
    std::memcpy(padded, buffer.data + value.offset, buffer.size - value.offset);
  }
  return parseCommonCSeq(value, padded, out) || parseCSeqGrammar(buffer.data, value, out);
}

}  // namespace

// parseCSeq runs parseCommonCSeq on the bytes in place when 24 can be read from the value's
// start (nearly always: the line's CRLF and the next header follow), and the general grammar
// on anything the fast path does not take (white space around, longer numbers, errors).
bool parseCSeq(ByteView buffer, Span value, CSeq& out) {
  if (!kLittleEndian) {
    return parseCSeqGrammar(buffer.data, value, out);
  }
  if (buffer.size - value.offset >= 24) {
    return parseCommonCSeq(value, buffer.data + value.offset, out) ||
           parseCSeqGrammar(buffer.data, value, out);
  }
  return parseCSeqNearEnd(buffer, value, out);
}

bool detail::parseCSeqGeneral(ByteView buffer, Span value, CSeq& out) {
  return parseCSeqGrammar(buffer.data, value, out);
}

}  // namespace sipshield::parser
