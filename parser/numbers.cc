#include "parser/numbers.h"

#include "parser/char_class.h"

namespace sipshield::parser {

bool parseDecimal(ByteView buffer, Span digits, uint64_t max, uint64_t& out) {
  if (digits.empty()) {
    return false;
  }
  uint64_t value = 0;
  const char* p = buffer.data + digits.offset;
  // Up to 19 digits cannot overflow 64 bits: check the bound once at the end (the common,
  // short numbers then cost no division per digit).
  if (digits.length <= 19) {
    for (uint32_t i = 0; i < digits.length; ++i) {
      if (!isDigit(p[i])) {
        return false;
      }
      value = value * 10 + static_cast<uint64_t>(p[i] - '0');
    }
    if (value > max) {
      return false;
    }
    out = value;
    return true;
  }
  for (uint32_t i = 0; i < digits.length; ++i) {
    if (!isDigit(p[i])) {
      return false;
    }
    uint64_t digit = static_cast<uint64_t>(p[i] - '0');
    // value * 10 + digit > max  <=>  value > (max - digit) / 10
    if (digit > max || value > (max - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

Span trimLws(ByteView buffer, Span value) {
  uint32_t begin = value.offset;
  uint32_t end = value.end();
  while (begin < end && isLws(buffer.data[begin])) {
    ++begin;
  }
  while (end > begin && isLws(buffer.data[end - 1])) {
    --end;
  }
  return {begin, end - begin};
}

}  // namespace sipshield::parser
