#include "parser/uri.h"

#include "parser/lexer.h"

namespace sipshield::parser {

// SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]   (RFC 3261 §19.1.1)
bool parseUri(ByteView buffer, Span uri, SipUri& out) {
  out = SipUri{};
  const char* p = buffer.data;
  uint32_t end = uri.end();
  uint32_t i = uri.offset;
  while (i < end && p[i] != ':') {
    char c = p[i];
    bool ok = Lexer::isAlnum(c) || (i > uri.offset && (c == '+' || c == '-' || c == '.'));
    if (!ok) {
      return false;
    }
    ++i;
  }
  if (i >= end || i == uri.offset) {
    return false;
  }
  out.scheme = {uri.offset, i - uri.offset};
  uint32_t rest = i + 1;
  const char* s = p + out.scheme.offset;
  bool is_sip = equalsIgnoreCase(s, out.scheme.length, "sip") ||
                equalsIgnoreCase(s, out.scheme.length, "sips");
  if (!is_sip) {
    out.opaque = {rest, end - rest};
    return rest < end;
  }
  uint32_t headers_at = rest;
  while (headers_at < end && p[headers_at] != '?') {
    ++headers_at;
  }
  uint32_t host_begin = rest;
  for (uint32_t j = rest; j < headers_at; ++j) {
    if (p[j] == '@') {
      host_begin = j + 1;  // the last '@' ends the userinfo; '@' is escaped inside it
    }
  }
  if (host_begin != rest) {
    uint32_t user_end = rest;
    while (user_end < host_begin - 1 && p[user_end] != ':') {
      ++user_end;
    }
    out.user = {rest, user_end - rest};
  }
  Lexer lx{p, host_begin, headers_at};
  out.host = lx.host();
  if (out.host.empty()) {
    return false;
  }
  if (lx.peek() == ':') {
    ++lx.pos;
    if (!lx.port(out.port)) {
      return false;
    }
  }
  if (!lx.atEnd()) {
    if (lx.peek() != ';') {
      return false;
    }
    out.params = {lx.pos, headers_at - lx.pos};
  }
  if (headers_at < end) {
    out.headers = {headers_at + 1, end - headers_at - 1};
  }
  return true;
}

}  // namespace sipshield::parser
