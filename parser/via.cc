#include "parser/via.h"

#include <bit>
#include <cstring>

#include "parser/block_cursor.h"
#include "parser/lexer.h"

namespace sipshield::parser {
namespace {

// token is Lexer::token with the token's end taken from the structural masks (BlockCursor,
// whose limit is the lexer's end) instead of a byte loop: same span, no per-byte branch.
Span token(Lexer& lx, BlockCursor& masks) {
  uint32_t begin = lx.pos;
  lx.pos = masks.nextNonToken(begin);
  return {begin, lx.pos - begin};
}

// via-params values: token / host (received may be an IPv6 address) / quoted-string.
bool paramValue(Lexer& lx, BlockCursor& masks, Span& value) {
  if (lx.peek() == '"') {
    return lx.quotedString(value);
  }
  if (lx.peek() == '[') {
    value = lx.host();
    return !value.empty();
  }
  // IPv6 received= values are written without brackets by some stacks (RFC 3261 §20.42
  // allows IPv6address there): accept ':' inside the value.
  uint32_t begin = lx.pos;
  lx.pos = masks.nextNonToken(begin);
  while (lx.pos < lx.end && lx.p[lx.pos] == ':') {
    lx.pos = masks.nextNonToken(lx.pos + 1);
  }
  value = {begin, lx.pos - begin};
  return !value.empty();
}

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

// setSpan stores {offset, length} into `span` as one 64-bit word: GCC's SLP vectorizer would
// otherwise assemble the pair in an SSE register, which costs more than it saves here.
inline void setSpan(Span& span, uint32_t offset, uint32_t length) {
  static_assert(sizeof(Span) == sizeof(uint64_t) && std::endian::native == std::endian::little);
  const uint64_t word = offset | (static_cast<uint64_t>(length) << 32);
  std::memcpy(static_cast<void*>(&span), &word, sizeof(word));
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
inline bool smallDecimal(const char* p, uint32_t begin, uint32_t end, uint32_t& value) {
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
// via-parm writes them; other spellings take the byte loop, which reads the same token).
inline bool isCommonTransport(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof(word));
  auto as_word = [](const char* s) {
    uint32_t w;
    std::memcpy(&w, s, sizeof(w));
    return w;
  };
  return word == as_word("UDP ") || word == as_word("TCP ") || word == as_word("TLS ");
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

// parseCommonViaParm parses the shape nearly every via-parm has, "SIP/2.0/UDP host[:port]"
// then ";name[=value]" parameters, with one SP after the transport and no other white space
// but before a ';' (a folded line), ending at `end` or a ','. Transport, host, port,
// parameter names and values are read as runs of host characters (a value may also hold
// ':'), a subset of what the general grammar reads there (tokens, host, digits, token and
// ':'), and each run must end where the grammar's would (' ', ';', ',', '=', ':', `end`), so
// the spans are the general grammar's. The runs' ends come from HostBoundaries, one
// separator after the other, so the byte ending each run is read without a compare with
// `end`. It fills `entry` (reset by the caller) and `*stop` exactly as the general grammar
// would and returns true; for any other input (including every malformed one, a via-parm
// reaching past the 128 bytes HostBoundaries classifies, or one ending at the buffer's end)
// it returns false without a verdict, and the caller runs the general grammar. Reads only
// [start, size of `buffer`).
[[gnu::always_inline]] inline bool parseCommonViaParm(ByteView buffer, uint32_t start,
                                                      uint32_t end, ViaEntry& entry,
                                                      uint32_t* stop) {
  const char* p = buffer.data;
  const uint32_t readable = readableEnd(buffer.size);
  // The walk reads the byte that ends each run, `end` included, without comparing with `end`
  // first: that byte must be readable and must not continue a run (':', ';', '='). A header
  // value ends before CR or white space, so this holds for every Via line of a message.
  // 12 bytes hold "SIP/2.0/" and the 4 bytes isCommonTransport reads.
  if (end - start < 12 || end >= readable || !isSip20Slash(p + start)) {
    return false;
  }
  if (const char after = p[end]; after == ':' || after == ';' || after == '=') {
    return false;
  }
  // The transport and its SP: "UDP ", "TCP " or "TLS " in one compare, others byte by byte.
  const uint32_t transport_begin = start + 8;
  uint32_t transport_end = transport_begin + 3;
  if (!isCommonTransport(p + transport_begin)) {
    transport_end = transport_begin;
    while (transport_end < end && isHostChar(p[transport_end])) {
      ++transport_end;
    }
    if (transport_end == transport_begin || p[transport_end] != ' ') {
      return false;  // p[end] is readable: the loop stops there at the latest
    }
  }
  const uint32_t host_begin = transport_end + 1;
  if (host_begin >= end) {
    return false;
  }
  entry.transport = {transport_begin, transport_end - transport_begin};
  entry.protocol = {start, transport_end - start};
  HostBoundaries bounds(p, host_begin, end, readable);
  uint32_t at = bounds.next();
  if (at == host_begin) {
    // Not a hostname: an IPv6 reference, read here; anything else is for the general grammar.
    if (p[host_begin] != '[') {
      return false;
    }
    const uint32_t host_end = ipv6ReferenceEnd(p, host_begin, end);
    if (host_end == 0) {
      return false;
    }
    bounds.skipTo(host_end);
    at = bounds.next();
    if (at != host_end) {
      return false;
    }
  }
  entry.host = {host_begin, at - host_begin};
  uint32_t last = at;
  char c = p[at];
  if (c == ':') {
    const uint32_t port_begin = at + 1;
    at = bounds.next();
    uint32_t port = 0;
    if (!hostRunPort(p, port_begin, at, port)) {
      return false;
    }
    entry.port = static_cast<uint16_t>(port);
    last = at;
    c = p[at];
  }
  if (c == ';') {
    entry.params.offset = at;  // kept in memory: the loop needs every register it can get
  }
  while (true) {
    if (c == ';') {
      do {
        const uint32_t name_begin = at + 1;
        at = bounds.next();
        if (at == name_begin) {
          return false;  // empty, or a token character outside the host class: general grammar
        }
        const uint32_t name_end = at;
        c = p[at];
        const bool has_value = c == '=';
        uint32_t value_begin = 0;  // the general grammar's empty Span when there is no value
        uint32_t value_end = 0;
        if (has_value) {
          value_begin = at + 1;
          // A bracketless IPv6 received= holds ':' (RFC 3261 §20.42 allows IPv6address there).
          do {
            at = bounds.next();
            c = p[at];
          } while (c == ':');
          if (at == value_begin) {
            return false;  // quoted, bracketed, spaced or empty: the general grammar decides
          }
          value_end = at;
        }
        if (!applyParam(p, name_begin, name_end - name_begin, value_begin, value_end - value_begin,
                        has_value, at, entry)) {
          return false;
        }
      } while (c == ';');
      last = at;
      entry.params.length = last - entry.params.offset;
    }
    if (c == ',' || at == end) {
      break;
    }
    // White space before the next ';' (a folded line) is read as the general grammar reads
    // it; anything else (white space elsewhere, a token character outside the host class) is
    // for the general grammar.
    if (!isLws(c)) {
      return false;
    }
    uint32_t after_space = at + 1;
    while (after_space < end && isLws(p[after_space])) {
      ++after_space;
    }
    if (after_space == end || p[after_space] == ',') {
      break;  // the via-parm ends before the white space, as in the general grammar
    }
    if (p[after_space] != ';') {
      return false;
    }
    if (entry.params.offset == 0) {  // no ';' yet (a via-parm's ';' is never at offset 0)
      entry.params.offset = after_space;
    }
    bounds.skipTo(after_space);
    at = after_space;
    c = ';';
  }
  entry.whole = {start, last - start};
  *stop = at;
  return true;
}

}  // namespace

// via-parm = sent-protocol LWS sent-by *( SEMI via-params )   (RFC 3261 §25.1)
bool parseViaParm(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
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
  uint32_t start = begin;
  while (start < end && isLws(buffer.data[start])) {
    ++start;
  }
  if (parseCommonViaParm(buffer, start, end, entry, stop)) {
    return true;
  }
  // Anything else (white space elsewhere, quoted or bracketed values, errors) takes the
  // general grammar, which is the reference for the fast path.
  return detail::parseViaParmGeneral(buffer, begin, end, entry, stop);
}

namespace detail {

bool parseViaParmGeneral(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                         uint32_t* stop) {
  entry = ViaEntry{};
  Lexer lx{buffer.data, begin, end};
  lx.skipLws();
  uint32_t start = lx.pos;
  BlockCursor masks(buffer.data, start, end);
  auto fail = [&] {
    *stop = lx.pos;
    return false;
  };
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
  if (end - start >= 8 && isSip20Slash(buffer.data + start)) {
    // The common spelling: the general path below would read the same two tokens and slashes.
    lx.pos = start + 8;
    lx.skipLws();
  } else if (token(lx, masks).empty() || !lx.consume('/') || token(lx, masks).empty() ||
             !lx.consume('/')) {
    return fail();
  }
  entry.transport = token(lx, masks);
  if (entry.transport.empty()) {
    return fail();
  }
  entry.protocol = {start, entry.transport.end() - start};
  uint32_t before_lws = lx.pos;
  lx.skipLws();
  if (lx.pos == before_lws) {
    return fail();
  }
  entry.host = lx.host();
  if (entry.host.empty()) {
    return fail();
  }
  uint32_t last = lx.pos;
  if (lx.consume(':')) {
    if (!lx.port(entry.port)) {
      return fail();
    }
    last = lx.pos;
  }
  bool has_params = false;
  while (true) {
    uint32_t save = lx.pos;
    lx.skipLws();
    if (lx.atEnd() || lx.peek() == ',') {
      lx.pos = save;
      break;
    }
    if (!lx.consume(';')) {
      return fail();
    }
    if (!has_params) {
      has_params = true;
      entry.params.offset = save;
      while (buffer.data[entry.params.offset] != ';') {
        ++entry.params.offset;
      }
    }
    Span name = token(lx, masks);
    if (name.empty()) {
      return fail();
    }
    Span value;
    bool has_value = lx.consume('=');
    if (has_value && !paramValue(lx, masks, value)) {
      return fail();
    }
    if (!applyParam(buffer.data, name.offset, name.length, value.offset, value.length, has_value,
                    lx.pos, entry)) {
      return fail();
    }
    last = lx.pos;
  }
  if (has_params) {
    entry.params.length = last - entry.params.offset;
  }
  entry.whole = {start, last - start};
  *stop = lx.pos;
  return true;
}

}  // namespace detail

ViaCursor::ViaCursor(ByteView buffer, const SipMessage& message)
    : buffer_(buffer), message_(&message) {}

bool ViaCursor::next(ViaEntry& entry) {
  if (failed_) {
    return false;
  }
  if (header_index_ < 0 || pos_ >= end_) {
    int start = header_index_ < 0 ? message_->first_index[static_cast<int>(HeaderId::Via)]
                                  : header_index_ + 1;
    if (start < 0) {
      return false;
    }
    int i = start;
    // Once every Via line was read there is no need to look through the rest of the headers.
    const bool more = via_lines_ < message_->occurrences[static_cast<int>(HeaderId::Via)] ||
                      message_->occurrences[static_cast<int>(HeaderId::Via)] == 0xFF;
    while (more && i < message_->header_count && message_->headers[i].id != HeaderId::Via) {
      ++i;
    }
    if (!more || i >= message_->header_count) {
      header_index_ = message_->header_count;
      pos_ = end_ = 0;
      return false;
    }
    header_index_ = i;
    ++via_lines_;
    pos_ = message_->headers[i].value.offset;
    end_ = message_->headers[i].value.end();
  }
  uint32_t stop = 0;
  if (!parseViaParm(buffer_, pos_, end_, entry, &stop)) {
    failed_ = true;
    error_offset_ = stop;
    return false;
  }
  Lexer lx{buffer_.data, stop, end_};
  if (lx.consume(',')) {
    pos_ = lx.pos;
    if (pos_ >= end_) {  // a trailing comma promises another via-parm
      failed_ = true;
      error_offset_ = pos_;
      return false;
    }
  } else {
    pos_ = end_;
  }
  return true;
}

}  // namespace sipshield::parser
