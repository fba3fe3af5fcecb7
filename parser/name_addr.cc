#include "parser/name_addr.h"

#include <cstring>

#include "parser/lexer.h"

namespace sipshield::parser {
namespace {

// firstParamIsTag is findParam(params, "tag") for the shape nearly every From/To has: the
// tag is the first parameter and its value a plain token. Returns false (without a verdict)
// for anything else, and the caller runs findParam.
bool firstParamIsTag(const char* p, Span params, Span& tag) {
  if (params.length < 5) {
    return false;
  }
  const char* s = p + params.offset;
  uint32_t word;
  std::memcpy(&word, s + 1, sizeof(word));
  uint32_t expected;
  std::memcpy(&expected, "tag=", sizeof(expected));
  // Fold only the three letters (bytes 0..2 of the word): '=' must match exactly.
  if ((word | 0x00202020u) != expected) {
    return false;
  }
  if (params.length > 5 && s[5] == '"') {
    return false;  // quoted: findParam reads the quoted-string
  }
  uint32_t i = 5;
  while (i < params.length && s[i] != ';' && s[i] != ',' && !isLws(s[i])) {
    ++i;
  }
  tag = {params.offset + 5, i - 5};
  return true;
}

// skipLwsAt returns the first offset at or after `pos` in [pos, end) that is not LWS.
uint32_t skipLwsAt(const char* p, uint32_t pos, uint32_t end) {
  while (pos < end && isLws(p[pos])) {
    ++pos;
  }
  return pos;
}

}  // namespace

// parseNameAddr is parseNameAddrGeneral with every search that can run over many bytes (the
// closing quote, '<', '>', the end of an addr-spec and of the tag) done 16 bytes per step;
// a display name with a \-escape (or an unterminated one) takes the general code.
bool parseNameAddr(ByteView buffer, uint32_t begin, uint32_t end, NameAddr& out) {
  const uint32_t readable = readableEnd(buffer.size);
  if (end > readable) {
    return detail::parseNameAddrGeneral(buffer, begin, end, out);
  }
  out = NameAddr{};
  const char* p = buffer.data;
  uint32_t pos = skipLwsAt(p, begin, end);
  if (pos >= end) {
    return false;
  }
  uint32_t laquot = end;
  if (p[pos] == '"') {
    uint32_t quote = findFirstOf<'"', '\\'>(p, pos + 1, end, readable);
    if (quote >= end || p[quote] != '"') {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
    out.display_name = {pos + 1, quote - pos - 1};
    pos = skipLwsAt(p, quote + 1, end);
    if (pos >= end || p[pos] != '<') {
      return false;
    }
    laquot = pos;
  } else {
    // An addr-spec's parameters begin at ';' (or the element ends at ','); no '<' may follow
    // (§20.10).
    uint32_t i = findFirstOf<'<', ';', ','>(p, pos, end, readable);
    if (i < end && p[i] == '<') {
      laquot = i;
      out.display_name = trimLwsSpan(p, pos, laquot);
    }
  }
  uint32_t after_uri = 0;
  if (laquot != end) {
    out.angle_brackets = true;
    const uint32_t uri_begin = laquot + 1;
    // The first '>' ends the URI (it cannot appear unescaped inside one, RFC 3261 §25.1).
    const uint32_t raquot = findFirstOf<'>'>(p, uri_begin, end, readable);
    if (raquot >= end || raquot == uri_begin) {
      return false;
    }
    out.uri = {uri_begin, raquot - uri_begin};
    after_uri = raquot + 1;
  } else {
    // addr-spec without brackets ends at the first ';' (header params) or white space.
    uint32_t i = findFirstOf<';', ' ', '\t', '\r', '\n'>(p, pos, end, readable);
    if (i == pos) {
      return false;
    }
    out.uri = {pos, i - pos};
    after_uri = i;
  }
  const uint32_t rest = skipLwsAt(p, after_uri, end);
  if (rest < end) {
    if (p[rest] != ';') {
      return false;
    }
    out.params = {rest, end - rest};
    while (out.params.length > 0 && isLws(p[out.params.end() - 1])) {
      --out.params.length;
    }
    // firstParamIsTag with the tag's end found 16 bytes per step.
    const Span params = out.params;
    uint32_t word = 0;
    uint32_t expected = 0;
    std::memcpy(&expected, "tag=", sizeof(expected));
    if (params.length >= 5) {
      std::memcpy(&word, p + params.offset + 1, sizeof(word));
    }
    if (params.length >= 5 && (word | 0x00202020u) == expected &&
        (params.length == 5 || p[params.offset + 5] != '"')) {
      const uint32_t tag_begin = params.offset + 5;
      const uint32_t tag_end =
          findFirstOf<';', ',', ' ', '\t', '\r', '\n'>(p, tag_begin, params.end(), readable);
      out.tag = {tag_begin, tag_end - tag_begin};
    } else {
      (void)findParam(buffer, out.params, "tag", out.tag);
    }
  }
  return true;
}

namespace detail {

// from-spec = ( name-addr / addr-spec ) *( SEMI from-param )       (RFC 3261 §25.1)
// name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
bool parseNameAddrGeneral(ByteView buffer, uint32_t begin, uint32_t end, NameAddr& out) {
  out = NameAddr{};
  const char* p = buffer.data;
  Lexer lx{p, begin, end};
  lx.skipLws();
  if (lx.atEnd()) {
    return false;
  }
  uint32_t laquot = end;
  if (lx.peek() == '"') {
    if (!lx.quotedString(out.display_name)) {
      return false;
    }
    lx.skipLws();
    if (lx.peek() != '<') {
      return false;
    }
    laquot = lx.pos;
  } else {
    for (uint32_t i = lx.pos; i < end; ++i) {
      if (p[i] == '<') {
        laquot = i;
        break;
      }
      if (p[i] == ';' || p[i] == ',') {
        break;  // an addr-spec's parameters begin; no '<' may follow (§20.10)
      }
    }
    if (laquot != end) {
      Span display = trimLwsSpan(p, lx.pos, laquot);
      out.display_name = display;
    }
  }
  uint32_t after_uri = 0;
  if (laquot != end) {
    out.angle_brackets = true;
    uint32_t uri_begin = laquot + 1;
    // The first '>' ends the URI (it cannot appear unescaped inside one, RFC 3261 §25.1).
    const void* raquot =
        uri_begin < end ? std::memchr(p + uri_begin, '>', end - uri_begin) : nullptr;
    uint32_t i = raquot == nullptr ? end
                                   : static_cast<uint32_t>(static_cast<const char*>(raquot) - p);
    if (i >= end || i == uri_begin) {
      return false;
    }
    out.uri = {uri_begin, i - uri_begin};
    after_uri = i + 1;
  } else {
    // addr-spec without brackets ends at the first ';' (header params) or white space.
    uint32_t i = lx.pos;
    while (i < end && p[i] != ';' && !isLws(p[i])) {
      ++i;
    }
    if (i == lx.pos) {
      return false;
    }
    out.uri = {lx.pos, i - lx.pos};
    after_uri = i;
  }
  Lexer rest{p, after_uri, end};
  rest.skipLws();
  if (!rest.atEnd()) {
    if (rest.peek() != ';') {
      return false;
    }
    out.params = {rest.pos, end - rest.pos};
    while (out.params.length > 0 && isLws(p[out.params.end() - 1])) {
      --out.params.length;
    }
    if (!firstParamIsTag(p, out.params, out.tag)) {
      (void)findParam(buffer, out.params, "tag", out.tag);
    }
  }
  return true;
}

}  // namespace detail

Span trimLwsSpan(const char* p, uint32_t begin, uint32_t end) {
  while (begin < end && isLws(p[begin])) {
    ++begin;
  }
  while (end > begin && isLws(p[end - 1])) {
    --end;
  }
  return {begin, end - begin};
}

bool nextListElement(ByteView buffer, uint32_t end, uint32_t* pos, Span& element) {
  const char* p = buffer.data;
  uint32_t i = *pos;
  while (i < end && isLws(p[i])) {
    ++i;
  }
  if (i >= end) {
    return false;
  }
  uint32_t begin = i;
  bool in_quotes = false;
  bool in_angle = false;
  for (; i < end; ++i) {
    char c = p[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      break;
    }
  }
  uint32_t stop = i < end ? i : end;
  element = trimLwsSpan(p, begin, stop);
  *pos = stop < end ? stop + 1 : end;
  return true;
}

bool findParam(ByteView buffer, Span params, std::string_view name, Span& value) {
  Lexer lx{buffer.data, params.offset, params.end()};
  while (lx.consume(';')) {
    Span key = lx.token();
    if (key.empty()) {
      return false;
    }
    Span val;
    if (lx.consume('=')) {
      if (lx.peek() == '"') {
        if (!lx.quotedString(val)) {
          return false;
        }
      } else {
        uint32_t begin = lx.pos;
        while (!lx.atEnd() && lx.peek() != ';' && lx.peek() != ',' && !isLws(lx.peek())) {
          ++lx.pos;
        }
        val = {begin, lx.pos - begin};
      }
    }
    if (equalsIgnoreCase(buffer.data + key.offset, key.length, name)) {
      value = val;
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::parser
