#pragma once

#include <cstdint>

#include "parser/char_class.h"
#include "parser/span.h"

namespace sipshield::parser {

// Lexer is a cursor over [pos, end) of a header value, with the RFC 3261 §25.1 building
// blocks the sub-parsers share. Never reads at or past `end`.
struct Lexer {
  const char* p;
  uint32_t pos;
  uint32_t end;

  [[nodiscard]] bool atEnd() const { return pos >= end; }
  [[nodiscard]] char peek() const { return pos < end ? p[pos] : '\0'; }

  // skipLws skips SP, HTAB and the CRLF of folded lines (SWS/LWS).
  void skipLws() {
    while (pos < end && isLws(p[pos])) {
      ++pos;
    }
  }
  // consume skips LWS, then `c` if it is next (and the LWS after it). Returns whether it was.
  bool consume(char c) {
    uint32_t save = pos;
    skipLws();
    if (pos < end && p[pos] == c) {
      ++pos;
      skipLws();
      return true;
    }
    pos = save;
    return false;
  }
  // token reads 1*token-char; returns an empty span when none.
  Span token() {
    uint32_t begin = pos;
    while (pos < end && isTokenChar(p[pos])) {
      ++pos;
    }
    return {begin, pos - begin};
  }
  // quotedString reads a quoted-string (with \-escapes) and returns its inside; false when
  // not at a '"' or unterminated.
  bool quotedString(Span& inside) {
    if (peek() != '"') {
      return false;
    }
    uint32_t begin = ++pos;
    while (pos < end) {
      char c = p[pos];
      if (c == '\\') {
        pos += 2;
        continue;
      }
      if (c == '"') {
        inside = {begin, pos - begin};
        ++pos;
        return true;
      }
      ++pos;
    }
    pos = end;
    return false;
  }
  // host reads hostname / IPv4address / IPv6reference (brackets kept).
  Span host() {
    uint32_t begin = pos;
    if (peek() == '[') {
      ++pos;
      while (pos < end && (isHexOrColonOrDot(p[pos]))) {
        ++pos;
      }
      if (pos >= end || p[pos] != ']' || pos == begin + 1) {
        pos = begin;
        return {};
      }
      ++pos;
      return {begin, pos - begin};
    }
    while (pos < end && (isAlnum(p[pos]) || p[pos] == '-' || p[pos] == '.')) {
      ++pos;
    }
    return {begin, pos - begin};
  }
  // port reads 1*5DIGIT up to 65535.
  bool port(uint16_t& out) {
    uint32_t begin = pos;
    uint32_t value = 0;
    while (pos < end && isDigit(p[pos]) && pos - begin < 5) {
      value = value * 10 + static_cast<uint32_t>(p[pos] - '0');
      ++pos;
    }
    if (pos == begin || value > 65535 || (pos < end && isDigit(p[pos]))) {
      return false;
    }
    out = static_cast<uint16_t>(value);
    return true;
  }

  static bool isAlnum(char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  }
  static bool isHexOrColonOrDot(char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') || c == ':' ||
           c == '.';
  }
};

// equalsIgnoreCase compares ASCII case-insensitively.
inline bool equalsIgnoreCase(const char* a, uint32_t length, std::string_view b) {
  if (length != b.size()) {
    return false;
  }
  for (uint32_t i = 0; i < length; ++i) {
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace sipshield::parser
