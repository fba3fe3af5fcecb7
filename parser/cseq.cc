#include "parser/cseq.h"

#include "parser/lexer.h"

namespace sipshield::parser {

// parseCSeq reads the shape nearly every CSeq has, 1..8 digits (always below 2**31), one SP
// and a method token up to the end of the value, with one branch-free pass over the method;
// anything else (white space around, longer numbers, errors) takes the general grammar.
bool parseCSeq(ByteView buffer, Span value, CSeq& out) {
  const char* p = buffer.data;
  const uint32_t begin = value.offset;
  const uint32_t end = value.end();
  uint32_t pos = begin;
  uint32_t number = 0;
  while (pos < end && pos - begin < 9) {
    auto digit = static_cast<uint32_t>(static_cast<unsigned char>(p[pos])) - '0';
    if (digit > 9) {
      break;
    }
    number = number * 10 + digit;
    ++pos;
  }
  const uint32_t digits = pos - begin;
  if (digits > 0 && digits < 9 && end - pos >= 2 && p[pos] == ' ') {
    const uint32_t method_begin = pos + 1;
    bool all_token = true;
    for (uint32_t i = method_begin; i < end; ++i) {
      all_token &= isTokenChar(p[i]);
    }
    if (all_token) {
      out.number = number;
      out.method_token = {method_begin, end - method_begin};
      out.method = classifyMethod(out.method_token.view(p));
      return true;
    }
  }
  return detail::parseCSeqGeneral(buffer, value, out);
}

// CSeq = "CSeq" HCOLON 1*DIGIT LWS Method (RFC 3261 §20.16); the number is below 2**31
// (§8.1.1.5).
bool detail::parseCSeqGeneral(ByteView buffer, Span value, CSeq& out) {
  Lexer lx{buffer.data, value.offset, value.end()};
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
  out.method = classifyMethod(method.view(buffer.data));
  return true;
}

}  // namespace sipshield::parser
