#pragma once

#include <array>
#include <cstdint>

namespace sipshield::parser {

// Character classes of RFC 3261 §25.1, as 256-entry tables (one load per byte).
namespace detail {

constexpr std::array<bool, 256> makeTokenTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[c] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] = true;
    t[c - 32] = true;
  }
  for (char c : {'-', '.', '!', '%', '*', '_', '+', '`', '\'', '~'}) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}

}  // namespace detail

inline constexpr std::array<bool, 256> kTokenChar = detail::makeTokenTable();

// The token class split by nibble for the SIMD kernels (a byte-shuffle lookup per nibble):
// byte c is a token character exactly when kTokenLowNibble[c & 15] & kTokenHighNibble[c >> 4]
// is not zero. High nibbles 2..7 each own one bit; the low-nibble row of a bit lists which
// bytes of that high nibble are tokens. Both are derived from kTokenChar, so they cannot
// drift from it (static_assert below).
namespace detail {

constexpr std::array<uint8_t, 16> makeTokenHighNibble() {
  std::array<uint8_t, 16> t{};
  for (int hi = 2; hi <= 7; ++hi) {
    t[hi] = static_cast<uint8_t>(1u << (hi - 2));
  }
  return t;
}

constexpr std::array<uint8_t, 16> makeTokenLowNibble() {
  const std::array<uint8_t, 16> high = makeTokenHighNibble();
  std::array<uint8_t, 16> t{};
  for (int c = 0; c < 256; ++c) {
    if (kTokenChar[c]) {
      t[c & 15] = static_cast<uint8_t>(t[c & 15] | high[c >> 4]);
    }
  }
  return t;
}

}  // namespace detail

inline constexpr std::array<uint8_t, 16> kTokenHighNibble = detail::makeTokenHighNibble();
inline constexpr std::array<uint8_t, 16> kTokenLowNibble = detail::makeTokenLowNibble();

namespace detail {
constexpr bool nibbleTablesMatch() {
  for (int c = 0; c < 256; ++c) {
    bool nibble = (kTokenLowNibble[c & 15] & kTokenHighNibble[c >> 4]) != 0;
    if (nibble != kTokenChar[c]) {
      return false;
    }
  }
  return true;
}
}  // namespace detail

static_assert(detail::nibbleTablesMatch(), "nibble tables must encode kTokenChar exactly");

// isTokenChar: RFC 3261 token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`"
// / "'" / "~").
inline bool isTokenChar(char c) { return kTokenChar[static_cast<unsigned char>(c)]; }
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isWsp(char c) { return c == ' ' || c == '\t'; }
// isLws also covers the CR and LF of a folded line (the scanner already checked the folding).
inline bool isLws(char c) {
  // One compare and a bit test instead of four compares: bits 9, 10, 13 and 32.
  auto u = static_cast<unsigned char>(c);
  return u <= ' ' && ((0x100002600ull >> u) & 1) != 0;
}
// isHostChar: the bytes of a hostname or IPv4 address (alphanum, '-', '.'; RFC 3261 §25.1).
namespace detail {
constexpr std::array<bool, 256> makeHostTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[c] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] = true;
    t[c - 32] = true;
  }
  t['-'] = true;
  t['.'] = true;
  return t;
}
}  // namespace detail
inline constexpr std::array<bool, 256> kHostChar = detail::makeHostTable();
inline bool isHostChar(char c) { return kHostChar[static_cast<unsigned char>(c)]; }
inline char toLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace sipshield::parser
