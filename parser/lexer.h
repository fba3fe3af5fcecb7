#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
    if (pos < end && p[pos] == c) {  // the common case: no white space before `c`
      ++pos;
      skipLws();
      return true;
    }
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
    while (pos < end && isHostChar(p[pos])) {
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

// equalsLetterName compares `length` bytes at `a` with the lower-case letters-only `b`, ignoring
// case: OR-ing 0x20 maps a byte onto a lower-case letter only from that letter or its upper
// case, so the result equals equalsIgnoreCase for such a `b`. Reads only a[0, length).
inline bool equalsLetterName(const char* a, uint32_t length, std::string_view b) {
  if (length != b.size()) {
    return false;
  }
  if (length >= 4 && length <= 8) {
    uint32_t x0, x1, y0, y1;
    std::memcpy(&x0, a, 4);
    std::memcpy(&x1, a + length - 4, 4);
    std::memcpy(&y0, b.data(), 4);
    std::memcpy(&y1, b.data() + length - 4, 4);
    return (((x0 | 0x20202020u) ^ y0) | ((x1 | 0x20202020u) ^ y1)) == 0;
  }
  for (uint32_t i = 0; i < length; ++i) {
    if ((static_cast<unsigned char>(a[i]) | 0x20) != static_cast<unsigned char>(b[i])) {
      return false;
    }
  }
  return true;
}

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

namespace detail {
// eqMask16 has bit i set when byte i of the 16 bytes at `p` is one of `Cs`.
#if defined(__SSE2__)
template <char... Cs>
inline uint32_t eqMask16(const char* p) {
  __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i hit = _mm_setzero_si128();
  ((hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(Cs)))), ...);
  return static_cast<uint32_t>(_mm_movemask_epi8(hit));
}
#endif
}  // namespace detail

// findFirstOf returns the offset of the first byte in [pos, end) of `p` that equals one of
// `Cs`, or `end` when there is none. It looks at 16 bytes per step (SSE2) while all 16 lie
// before `readable` (the end of the buffer, at least `end`), so bytes between `end` and
// `readable` may be read but never answer; the rest goes byte by byte. Thread-safe.
template <char... Cs>
inline uint32_t findFirstOf(const char* p, uint32_t pos, uint32_t end, uint32_t readable) {
#if defined(__SSE2__)
  while (pos < end && readable - pos >= 16) {
    uint32_t mask = detail::eqMask16<Cs...>(p + pos);
    if (mask != 0) {
      uint32_t hit = pos + static_cast<uint32_t>(__builtin_ctz(mask));
      return hit < end ? hit : end;
    }
    pos += 16;
  }
#endif
  for (; pos < end; ++pos) {
    const char c = p[pos];
    if (((c == Cs) || ...)) {
      return pos;
    }
  }
  return end;
}

// readableEnd is the end of `size` bytes as an offset (sub-parsers take uint32_t offsets).
inline uint32_t readableEnd(size_t size) {
  return size > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(size);
}

}  // namespace sipshield::parser
