#include "parser/cseq.h"

#include "parser/lexer.h"

namespace sipshield::parser {

// CSeq = "CSeq" HCOLON 1*DIGIT LWS Method (RFC 3261 §20.16); the number is below 2**31
// (§8.1.1.5).
bool parseCSeq(ByteView buffer, Span value, CSeq& out) {
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
