#pragma once

// Internal: the via-parm fast path (parseViaParm's common shape), a template over the
// classification of the host runs. parser/via.cc instantiates it with the SSE2 steps (x86-64's
// baseline) and parser/via_avx2.cc with AVX2 steps: each includes this file once, and
// everything here has internal linkage, so neither file's target options reach the other's
// copy.

#include <array>
#include <cstdint>
#include <cstring>

#include "parser/block_cursor.h"
#include "parser/lexer.h"
#include "parser/via.h"

namespace sipshield::parser {
namespace {

// isSip20Slash: the 8 bytes at `p` are "SIP/2.0/" ("SIP" in any case, RFC 3261 §25: the
// literal is case-insensitive), the sent-protocol prefix of nearly every via-parm.
bool isSip20Slash(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  uint64_t expected;
  std::memcpy(&expected, "sip/2.0/", sizeof(expected));
  // Fold only the three letters: OR-ing 0x20 into '/', '2', '.' or '0' would let other
  // bytes ('\x0f', '\x12', '\x0e', '\x10') match.
  return (word | 0x202020ull) == expected;
}

// setSpan stores {offset, length} into `span`.
inline void setSpan(Span& span, uint32_t offset, uint32_t length) {
  span.offset = offset;
  span.length = length;
}

// load64 reads the 8 bytes at `p` as one little-endian word.
inline uint64_t load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// word64 is the word load64 reads from the 8 characters of `s`.
constexpr uint64_t word64(const char (&s)[9]) {
  uint64_t word = 0;
  for (int i = 7; i >= 0; --i) {
    word = word << 8 | static_cast<unsigned char>(s[i]);
  }
  return word;
}

// load16 reads the 2 bytes at `p` as one little-endian word.
inline uint32_t load16(const char* p) {
  uint16_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// word16 is the word load16 reads from the 2 characters of `s`.
constexpr uint32_t word16(const char (&s)[3]) {
  return static_cast<unsigned char>(s[0]) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 8;
}

// word32 is the word a 4-byte little-endian load reads from the 4 characters of `s`.
constexpr uint32_t word32(const char (&s)[5]) {
  uint32_t word = 0;
  for (int i = 3; i >= 0; --i) {
    word = word << 8 | static_cast<unsigned char>(s[i]);
  }
  return word;
}

// isLwsByte is isLws with its 64-bit mask built where it is used: GCC would hoist the mask
// into a register for the whole walk, which needs them all, for a test on its rare path.
inline bool isLwsByte(char c) {
  uint64_t mask = 0x100002600ull;  // bits 9, 10, 13 and 32: HTAB, LF, CR, SP
  asm volatile("" : "+r"(mask));   // volatile: not moved out of the loop
  const auto u = static_cast<unsigned char>(c);
  return u <= ' ' && ((mask >> u) & 1) != 0;
}

// eightDigitsValue is the value of the 8 decimal digits in `digits`, one per byte (0..9), the
// first in the lowest byte: neighbours combine into pairs, then groups of four, then all eight.
inline uint32_t eightDigitsValue(uint64_t digits) {
  digits = (digits * 10 + (digits >> 8)) & 0x00FF00FF00FF00FFull;
  digits = (digits * 100 + (digits >> 16)) & 0x0000FFFF0000FFFFull;
  return static_cast<uint32_t>(digits * 10000 + (digits >> 32));
}

// smallDecimal reads the bytes [begin, end) of `p` as 1..5 decimal digits into `value`; false
// when there are none or more than 5 or a byte is not a digit. Reads only p[0, end): when
// `end` >= 8, the 8 bytes ending at `end` are checked and converted at once (no loop, no branch
// per digit).
[[gnu::always_inline]] inline bool smallDecimal(const char* p, uint32_t begin, uint32_t end,
                                                uint32_t& value) {
  const uint32_t length = end - begin;
  if (length - 1 >= 5) {
    return false;
  }
  if (__builtin_expect(end < 8, 0)) {
    uint32_t v = 0;
    for (uint32_t i = begin; i < end; ++i) {
      auto digit = static_cast<uint32_t>(static_cast<unsigned char>(p[i])) - '0';
      if (digit > 9) {
        return false;
      }
      v = v * 10 + digit;
    }
    value = v;
    return true;
  }
  uint64_t word;
  std::memcpy(&word, p + end - 8, sizeof(word));
  // The digits are the top `length` bytes; the bytes before them read as '0', so "5060" reads
  // as "00005060".
  const uint32_t shift = 64 - 8 * length;
  word = ((word >> shift) << shift) | (0x3030303030303030ull >> (8 * length));
  // A byte is a digit when its high nibble is 3 before and after adding 6 (a byte that carries
  // into the next one is not a digit itself, so carries never hide one).
  const uint64_t high = word & 0xF0F0F0F0F0F0F0F0ull;
  const uint64_t high_plus_6 = (word + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull;
  if ((high | (high_plus_6 >> 4)) != 0x3333333333333333ull) {
    return false;
  }
  value = eightDigitsValue(word & 0x0F0F0F0F0F0F0F0Full);
  return true;
}

// applyParam records the via-param whose name is the `name_length` bytes at `name_begin`
// (with the `value_length` bytes at `value_begin` as value when `has_value`) and that ends at
// `param_end` in `entry`. Returns false when a value the shield reads is malformed (rport,
// ttl). The name's length (and for 5 its first letter) picks the one name it can be, so each
// parameter costs one compare instead of one per known name.
[[gnu::always_inline]] inline bool applyParam(const char* p, uint32_t name_begin,
                                              uint32_t name_length, uint32_t value_begin,
                                              uint32_t value_length, bool has_value,
                                              uint32_t param_end, ViaEntry& entry) {
  const char* n = p + name_begin;
  switch (name_length) {
    case 6:
      if (equalsLetterName(n, 6, "branch")) {
        setSpan(entry.branch, value_begin, value_length);
      }
      return true;
    case 8:
      if (equalsLetterName(n, 8, "received")) {
        setSpan(entry.received, value_begin, value_length);
      }
      return true;
    case 5:
      if (equalsLetterName(n, 5, "rport")) {
        // RFC 3581: rport is a flag in requests and carries the source port in responses.
        entry.has_rport = true;
        if (has_value) {
          uint32_t port = 0;
          if (!smallDecimal(p, value_begin, value_begin + value_length, port) || port > 65535) {
            return false;
          }
          entry.rport = static_cast<int32_t>(port);
        }
        setSpan(entry.rport_param, name_begin, param_end - name_begin);
      } else if (equalsLetterName(n, 5, "maddr")) {
        setSpan(entry.maddr, value_begin, value_length);
      }
      return true;
    case 3:
      if (equalsLetterName(n, 3, "ttl")) {
        uint32_t ttl = 0;
        if (!smallDecimal(p, value_begin, value_begin + value_length, ttl) || ttl > 255) {
          return false;
        }
        setSpan(entry.ttl, value_begin, value_length);
      }
      return true;
    default:
      return true;
  }
}

// ipv6ReferenceEnd reads an IPv6reference at `begin` (a '[') as Lexer::host does,
// '[' 1*(HEXDIG / ':' / '.') ']', and returns the offset after the ']', or 0 when there is
// none before `end`.
inline uint32_t ipv6ReferenceEnd(const char* p, uint32_t begin, uint32_t end) {
  uint32_t pos = begin + 1;
  while (pos < end && Lexer::isHexOrColonOrDot(p[pos])) {
    ++pos;
  }
  if (pos >= end || p[pos] != ']' || pos == begin + 1) {
    return 0;
  }
  return pos + 1;
}

// isCommonTransport: the 4 bytes at `p` are "UDP ", "TCP " or "TLS " (as nearly every
// via-parm writes them; other spellings take the byte loop, which reads the same token), or
// one of two other words of three letters and a SP, which that loop would read the same way.
inline bool isCommonTransport(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof(word));
  // "UDP " is "TCP " + 0x101 (U = T + 1, D = C + 1): one subtraction and mask take both, and
  // the other two words it takes ("UCP ", "TDP ") are three letters and a SP as well.
  static_assert(word32("UDP ") - word32("TCP ") == 0x101);
  return ((word - word32("TCP ")) & ~0x101u) == 0 || word == word32("TLS ");
}

// hostRunPort reads the port of sent-by, the bytes [begin, end) of `p`: a run of host
// characters, which must be 1..5 digits up to 65535. A host character is a digit exactly when
// its high nibble is 3 ('-' and '.' have 2, letters 4 to 7), so the common four-digit port
// ("5060") takes one mask and three multiply-adds; other lengths take smallDecimal.
inline bool hostRunPort(const char* p, uint32_t begin, uint32_t end, uint32_t& port) {
  if (end - begin == 4) {
    uint32_t word;
    std::memcpy(&word, p + begin, sizeof(word));
    if ((word & 0xF0F0F0F0u) != 0x30303030u) {
      return false;
    }
    word &= 0x0F0F0F0Fu;
    word = (word * 10 + (word >> 8)) & 0x00FF00FFu;
    port = (word * 100 + (word >> 16)) & 0xFFFFu;
    return true;
  }
  return smallDecimal(p, begin, end, port) && port <= 65535;
}

// kEndsCommonViaParm: byte c may follow the last byte of a via-parm line the fast path reads:
// not a host character (so HostRunEnds lists it) and not ':', ';' or '=' (which would continue
// the via-parm's last token). A header value ends before CR or white space, so every Via line
// of a message qualifies.
constexpr std::array<uint8_t, 256> makeEndsCommonViaParm() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = !kHostChar[c] && c != ':' && c != ';' && c != '=' ? 1 : 0;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kEndsCommonViaParm = makeEndsCommonViaParm();

// parseCommonViaParm parses the shape nearly every via-parm has, "SIP/2.0/UDP host[:port]"
// then ";name[=value]" parameters, with one SP after the transport and no other white space
// but before a ';' (a folded line), ending at `end` or a ','. Transport, host, port,
// parameter names and values are read as runs of host characters (a value may also hold
// ':'), a subset of what the general grammar reads there (tokens, host, digits, token and
// ':'), and each run must end where the grammar's would (' ', ';', ',', '=', ':', `end`), so
// the spans are the general grammar's. The runs' ends come from HostRunEnds, one separator
// after the other, so the byte ending each run is read without a compare with `end`: the
// byte at `end` must be one that ends every run (kEndsCommonViaParm). It fills `entry`
// (reset by the caller, whole.offset set to `start`) exactly as the general grammar would and
// returns the general grammar's `*stop` (never 0); for any other input (including every
// malformed one, a via-parm reaching past the 128 bytes HostRunEnds classifies, or one ending
// at the buffer's end) it returns 0 without a verdict, and the caller runs the general
// grammar. Classifier::stepsAt classifies the host runs (detail::nonHostStepsAt's contract).
// Reads only [start, `readable`).
template <typename Classifier>
[[gnu::always_inline]] inline uint32_t parseCommonViaParm(const char* p, size_t readable,
                                                          uint32_t start, uint32_t end,
                                                          ViaEntry& entry) {
  // The caller checked that "SIP/2.0/" and the 4 bytes isCommonTransport reads are there.
  if (end >= readable || kEndsCommonViaParm[static_cast<unsigned char>(p[end])] == 0) {
    return 0;
  }
  // The transport and its SP: "UDP ", "TCP " or "TLS " in one compare, others byte by byte.
  const uint32_t transport_begin = start + 8;
  uint32_t transport_end = transport_begin + 3;
  if (__builtin_expect(!isCommonTransport(p + transport_begin), 0)) {
    transport_end = transport_begin;
    while (transport_end < end && isHostChar(p[transport_end])) {
      ++transport_end;
    }
    if (transport_end == transport_begin || p[transport_end] != ' ') {
      return 0;  // p[end] is readable: the loop stops there at the latest
    }
  }
  const uint32_t host_begin = transport_end + 1;
  if (host_begin >= end) {
    return 0;
  }
  setSpan(entry.transport, transport_begin, transport_end - transport_begin);
  asm("" ::: "memory");  // four scalar stores: GCC's SLP would pack them in a vector first
  setSpan(entry.protocol, start, transport_end - start);
  // An IPv6 reference is read here, before the classification, which starts after it.
  uint32_t runs_begin = host_begin;
  if (__builtin_expect(p[host_begin] == '[', 0)) {
    runs_begin = ipv6ReferenceEnd(p, host_begin, end);
    if (runs_begin == 0 || isHostChar(p[runs_begin])) {
      return 0;  // p[runs_begin] is readable: runs_begin <= end
    }
  }
  const detail::HostWindows windows = Classifier::stepsAt(p, runs_begin, end, readable);
  HostRunEnds runs(runs_begin, windows);
  uint32_t at = runs.next();
  if (at == host_begin) {
    return 0;  // not a hostname (nor an IPv6 reference): for the general grammar
  }
  setSpan(entry.host, host_begin, at - host_begin);
  char c = p[at];
  if (c == ':') {
    const uint32_t port_begin = at + 1;
    at = runs.next();
    uint32_t port = 0;
    if (!hostRunPort(p, port_begin, at, port)) {
      return 0;
    }
    entry.port = static_cast<uint16_t>(port);
    c = p[at];
  }
  if (c == ';') {
    entry.params.offset = at;  // kept in memory: the loop needs every register it can get
  }
  while (true) {
    while (c == ';') {
      at = runs.next();
      const uint32_t name_end = at;
      c = p[at];
      // A name is a run of host characters, so it is empty exactly when the byte before its
      // end is the ';' that starts it.
      if (__builtin_expect(c == '=', 1)) {
        // A bracketless IPv6 received= holds ':' (RFC 3261 §20.42 allows IPv6address there).
        do {
          at = runs.next();
          c = p[at];
        } while (c == ':');
        const uint32_t value_begin = name_end + 1;
        const uint32_t value_length = at - value_begin;
        if (value_length == 0) {
          return 0;  // quoted, bracketed, spaced or empty: the general grammar decides
        }
        // The 8 bytes up to the '=' hold ';' and a name of up to 6 letters: each known name
        // is one compare (OR-ing 0x20 maps a byte onto a lower-case letter only from that
        // letter or its upper case, and leaves ';' and '=' as they are; a name holds no ';').
        const uint64_t key = load64(p + name_end - 7) | 0x2020202020202020ull;
        if (key == word64(";branch=")) {
          setSpan(entry.branch, value_begin, value_length);
        } else if ((key >> 8) == (word64(" ;rport=") >> 8)) {
          // RFC 3581: rport carries the source port in responses.
          entry.has_rport = true;
          setSpan(entry.rport_param, name_end - 5, at - (name_end - 5));
          uint32_t port = 0;
          if (!smallDecimal(p, value_begin, at, port) || port > 65535) {
            return 0;
          }
          entry.rport = static_cast<int32_t>(port);
        } else if (key == word64("eceived=") &&
                   (load16(p + name_end - 9) | 0x2000u) == word16(";r")) {
          setSpan(entry.received, value_begin, value_length);
        } else if ((key >> 8) == (word64(" ;maddr=") >> 8)) {
          setSpan(entry.maddr, value_begin, value_length);
        } else if ((key >> 24) == (word64("   ;ttl=") >> 24)) {
          setSpan(entry.ttl, value_begin, value_length);
          uint32_t ttl = 0;
          if (!smallDecimal(p, value_begin, at, ttl) || ttl > 255) {
            return 0;
          }
        } else if (p[name_end - 1] == ';') {
          return 0;  // empty, or a token character outside the host class: general grammar
        }
      } else {
        // A parameter without a value: the 8 bytes before its end hold ';' and the name.
        const uint64_t key = load64(p + name_end - 8) | 0x2020202020202020ull;
        if ((key >> 16) == (word64("  ;rport") >> 16)) {
          // RFC 3581: rport is a flag in requests.
          entry.has_rport = true;
          setSpan(entry.rport_param, name_end - 5, 5);
        } else if (p[name_end - 1] == ';' || (key >> 8) == (word64(" ;branch") >> 8) ||
                   (key >> 16) == (word64("  ;maddr") >> 16) ||
                   (key >> 32) == (word64("    ;ttl") >> 32) || key == word64("received")) {
          // Empty, or a known name without its value (a ttl without one is malformed, the
          // others clear the value): rare, for the general grammar.
          return 0;
        }
      }
    }
    if (c == ',' || at == end) {
      break;
    }
    // White space before the next ';' (a folded line) is read as the general grammar reads
    // it; anything else (white space elsewhere, a token character outside the host class) is
    // for the general grammar.
    if (!isLwsByte(c)) {
      return 0;
    }
    uint32_t after_space = at + 1;
    while (after_space < end && isLwsByte(p[after_space])) {
      ++after_space;
    }
    if (after_space == end || p[after_space] == ',') {
      break;  // the via-parm ends before the white space, as in the general grammar
    }
    if (p[after_space] != ';') {
      return 0;
    }
    if (entry.params.offset == 0) {  // no ';' yet (a via-parm's ';' is never at offset 0)
      entry.params.offset = after_space;
    }
    runs.skipTo(after_space + 1);
    at = after_space;
    c = ';';
  }
  // The via-parm (and its parameters) end where the walk stopped: at the ',' or `end` or the
  // white space before them.
  if (entry.params.offset != 0) {
    entry.params.length = at - entry.params.offset;
  }
  entry.whole.length = at - entry.whole.offset;
  return at;
}

// parseViaParmFast is parseViaParm (via.h) with the host runs classified by `Classifier`.
template <typename Classifier>
[[gnu::always_inline]] inline bool parseViaParmFast(ByteView buffer, uint32_t begin,
                                                    uint32_t end, ViaEntry& entry,
                                                    uint32_t* stop) {
  // The fast path sets whole, protocol, transport and host whenever it succeeds; the rest is
  // reset field by field (a whole-struct reset compiles to `rep stos`, slower than the parse).
  entry.port = 0;
  entry.branch = {};
  entry.received = {};
  entry.maddr = {};
  entry.ttl = {};
  entry.has_rport = false;
  entry.rport = -1;
  entry.rport_param = {};
  entry.params = {};
  const char* p = buffer.data;
  uint32_t start = begin;
  // 12 bytes hold "SIP/2.0/" and a transport with its SP (isCommonTransport reads 4 bytes);
  // nearly every via-parm starts with them: only others look for white space first.
  if (__builtin_expect(end - start < 12 || !isSip20Slash(p + start), 0)) {
    while (start < end && isLws(p[start])) {
      ++start;
    }
    if (end - start < 12 || !isSip20Slash(p + start)) {
      return detail::parseViaParmGeneral(ByteView(p, end), start, end, entry, stop);
    }
  }
  // The via-parm's first offset, kept in memory: the fast path needs every register it can
  // get, and reads it back at the end.
  entry.whole.offset = start;
  const uint32_t fast_stop = parseCommonViaParm<Classifier>(p, buffer.size, start, end, entry);
  if (__builtin_expect(fast_stop != 0, 1)) {
    *stop = fast_stop;
    return true;
  }
  // Anything else (white space elsewhere, quoted or bracketed values, errors) takes the
  // general grammar, which is the reference for the fast path. It skips the same white space
  // first and reads only [begin, end), so the first `end` bytes stand for `buffer` and
  // whole.offset (`start`) for `begin`: fewer values to keep for this rare call.
  return detail::parseViaParmGeneral(ByteView(p, end), entry.whole.offset, end, entry, stop);
}

}  // namespace

}  // namespace sipshield::parser
