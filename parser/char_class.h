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

// isTokenChar: RFC 3261 token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`"
// / "'" / "~").
inline bool isTokenChar(char c) { return kTokenChar[static_cast<unsigned char>(c)]; }
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isWsp(char c) { return c == ' ' || c == '\t'; }
// isLws also covers the CR and LF of a folded line (the scanner already checked the folding).
inline bool isLws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline char toLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace sipshield::parser
