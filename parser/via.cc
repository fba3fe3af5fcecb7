#include "parser/via.h"

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

// smallDecimal reads the 1..5 bytes at `s` as decimal digits into `value`; false when `length`
// is 0 or above 5 or a byte is not a digit. Branch-free over the digits.
inline bool smallDecimal(const char* s, uint32_t length, uint32_t& value) {
  if (length - 1 >= 5) {
    return false;
  }
  uint32_t v = 0;
  uint32_t bad = 0;
  for (uint32_t i = 0; i < length; ++i) {
    auto digit = static_cast<uint32_t>(static_cast<unsigned char>(s[i])) - '0';
    bad |= digit > 9 ? 1u : 0u;
    v = v * 10 + digit;
  }
  value = v;
  return bad == 0;
}

// applyParam records the via-param `name` (= `value` when `has_value`) that ends at `param_end`
// in `entry`. Returns false when a value the shield reads is malformed (rport, ttl). The name's
// length (and for 5 its first letter) picks the one name it can be, so each parameter costs
// one compare instead of one per known name.
[[gnu::always_inline]] inline bool applyParam(const char* p, Span name, Span value,
                                              bool has_value, uint32_t param_end,
                                              ViaEntry& entry) {
  const char* n = p + name.offset;
  switch (name.length) {
    case 6:
      if (equalsLetterName(n, 6, "branch")) {
        entry.branch = value;
      }
      return true;
    case 8:
      if (equalsLetterName(n, 8, "received")) {
        entry.received = value;
      }
      return true;
    case 5:
      if (equalsLetterName(n, 5, "rport")) {
        // RFC 3581: rport is a flag in requests and carries the source port in responses.
        entry.has_rport = true;
        if (has_value) {
          uint32_t port = 0;
          if (!smallDecimal(p + value.offset, value.length, port) || port > 65535) {
            return false;
          }
          entry.rport = static_cast<int32_t>(port);
        }
        entry.rport_param = {name.offset, param_end - name.offset};
      } else if (equalsLetterName(n, 5, "maddr")) {
        entry.maddr = value;
      }
      return true;
    case 3:
      if (equalsLetterName(n, 3, "ttl")) {
        uint32_t ttl = 0;
        if (!smallDecimal(p + value.offset, value.length, ttl) || ttl > 255) {
          return false;
        }
        entry.ttl = value;
      }
      return true;
    default:
      return true;
  }
}

// parseCommonViaParm parses the shape nearly every via-parm has, "SIP/2.0/UDP host[:port]"
// then ";name[=value]" parameters, with one SP and no other white space, ending at `end` or
// a ','. Transport, host, parameter names and values are read as runs of host characters
// (values also ':'), a subset of what the general grammar reads there (tokens, host, token
// and ':'), and each run must end where the grammar's would (';', ',', '=', ':', `end`), so
// the spans are the general grammar's. It fills `entry` (zeroed by the caller) and `*stop`
// exactly as the general grammar would and returns true; for any other input (including
// every malformed one) it returns false without a verdict, and the caller runs the general
// grammar. Reads only [start, size of `buffer`).
[[gnu::always_inline]] inline bool parseCommonViaParm(ByteView buffer, uint32_t start,
                                                      uint32_t end, ViaEntry& entry,
                                                      uint32_t* stop) {
  const char* p = buffer.data;
  if (end - start < 8 || !isSip20Slash(p + start)) {
    return false;
  }
  uint32_t pos = start + 8;
  // The masks may classify bytes past `end` up to the buffer's end; they never report them.
  HostCursor masks(p, pos, end, readableEnd(buffer.size));
  uint32_t transport_end = masks.nextNonHost(pos);
  // One SP after the transport, then the host (an IPv6 reference takes the general path).
  if (transport_end == pos || transport_end + 1 >= end || p[transport_end] != ' ') {
    return false;
  }
  entry.transport = {pos, transport_end - pos};
  entry.protocol = {start, transport_end - start};
  uint32_t host_begin = transport_end + 1;
  if (isHostChar(p[host_begin])) {
    pos = masks.nextNonHost(host_begin);
  } else if (p[host_begin] == '[') {
    // IPv6reference, as Lexer::host reads it: '[' 1*(HEXDIG / ':' / '.') ']'.
    pos = host_begin + 1;
    while (pos < end && Lexer::isHexOrColonOrDot(p[pos])) {
      ++pos;
    }
    if (pos >= end || p[pos] != ']' || pos == host_begin + 1) {
      return false;
    }
    ++pos;
  } else {
    return false;
  }
  entry.host = {host_begin, pos - host_begin};
  if (pos < end && p[pos] == ':') {
    // port = 1*5DIGIT up to 65535; digits are host characters, so the run ends where the
    // grammar's digits end when it holds nothing else.
    uint32_t port_begin = pos + 1;
    pos = masks.nextNonHost(port_begin);
    uint32_t port = 0;
    if (!smallDecimal(p + port_begin, pos - port_begin, port) || port > 65535) {
      return false;
    }
    entry.port = static_cast<uint16_t>(port);
  }
  uint32_t last = pos;
  if (pos < end && p[pos] == ';') {
    entry.params.offset = pos;
    do {
      uint32_t name_begin = pos + 1;
      pos = masks.nextNonHost(name_begin);
      if (pos == name_begin) {
        return false;
      }
      Span name{name_begin, pos - name_begin};
      Span value;
      bool has_value = pos < end && p[pos] == '=';
      if (has_value) {
        uint32_t value_begin = pos + 1;
        pos = masks.nextNonValue(value_begin);
        if (pos == value_begin) {
          return false;  // quoted, bracketed, spaced or empty: the general grammar decides
        }
        value = {value_begin, pos - value_begin};
      }
      // Anything but the next parameter, the next via-parm or the end (white space, a
      // token character outside the host class) is for the general grammar.
      if (pos < end && p[pos] != ';' && p[pos] != ',') {
        return false;
      }
      if (!applyParam(p, name, value, has_value, pos, entry)) {
        return false;
      }
      last = pos;
    } while (pos < end && p[pos] == ';');
    entry.params.length = last - entry.params.offset;
  }
  if (pos < end && p[pos] != ',') {
    return false;
  }
  entry.whole = {start, last - start};
  *stop = pos;
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
  // Anything else (white space around separators, quoted or bracketed values, errors) takes
  // the general grammar, which is the reference for the fast path.
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
    if (!applyParam(buffer.data, name, value, has_value, lx.pos, entry)) {
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
