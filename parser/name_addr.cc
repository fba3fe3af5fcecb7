#include "parser/name_addr.h"

#include <cstring>

#include "parser/lexer.h"
#include "parser/name_addr_fast_path.h"

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

// isTagEnd: the bytes that end an unquoted tag value (as firstParamIsTag and findParam stop).
bool isTagEnd(char c) { return c == ';' || c == ',' || isLws(c); }

// firstOf is findFirstOf for a value with 15 readable bytes after `end` (nearly every header
// value, followed by at least its CRLF and the next header line): then a 16-byte step at any
// offset below `end` stays inside the buffer, and each step tests only `pos < end`.
template <char... Cs>
uint32_t firstOf(const char* p, uint32_t pos, uint32_t end, uint32_t readable) {
#if defined(__SSE2__)
  if (readable - end >= 15) {
    for (; pos < end; pos += 16) {
      const uint32_t mask = detail::eqMask16<Cs...>(p + pos);
      if (mask != 0) {
        const uint32_t hit = pos + static_cast<uint32_t>(__builtin_ctz(mask));
        return hit < end ? hit : end;
      }
    }
    return end;
  }
#endif
  return findFirstOf<Cs...>(p, pos, end, readable);
}

// tagEnd returns the first byte at or after `pos` in [pos, end) that ends a tag value
// (isTagEnd), or `end`. Where firstOf may step, one compare finds every byte up to SP, and
// only a control byte that is not LWS (part of the tag, as in the reference) needs a look.
uint32_t tagEnd(const char* p, uint32_t pos, uint32_t end, uint32_t readable) {
#if defined(__SSE2__)
  if (readable - end >= 15) {
    const __m128i space = _mm_set1_epi8(' ');
    for (; pos < end; pos += 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
      const __m128i up_to_space = _mm_cmpeq_epi8(_mm_min_epu8(x, space), x);
      const __m128i separator = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(';')),
                                             _mm_cmpeq_epi8(x, _mm_set1_epi8(',')));
      const auto mask =
          static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(up_to_space, separator)));
      if (mask != 0) {
        pos += static_cast<uint32_t>(__builtin_ctz(mask));
        break;
      }
    }
  }
#endif
  while (pos < end && !isTagEnd(p[pos])) {
    ++pos;
  }
  return pos < end ? pos : end;
}

#if defined(__SSE2__)
// tagFromParams sets the tag, as the reference does, for parameters that do not start with
// it, and returns true. Out of line (and called last): the common path saves no registers.
[[gnu::noinline]] bool tagFromParams(ByteView buffer, NameAddr& out) {
  out.tag = {};
  (void)findParam(buffer, out.params, "tag", out.tag);
  return true;
}
#endif

// parseAnyNameAddr is parseNameAddr for every shape: parseNameAddrGeneral with the searches
// that can run over many bytes (the closing quote, '<', '>', the end of an addr-spec and of
// the tag) done 16 bytes per step. What it does not settle itself (a \-escape in the display
// name, LWS before a ';', and every malformed value) takes the general code, so even a false
// result leaves `out` exactly as the reference does. Out of line, so that parseNameAddr's
// common path does not pay for this code's registers.
[[gnu::noinline]] bool parseAnyNameAddr(ByteView buffer, uint32_t begin, uint32_t end,
                                        NameAddr& out) {
  const uint32_t readable = readableEnd(buffer.size);
  if (begin >= end || end > readable) {
    return detail::parseNameAddrGeneral(buffer, begin, end, out);
  }
  const char* p = buffer.data;
  uint32_t pos = begin;
  if (isLws(p[pos])) {
    pos = skipLwsAt(p, pos, end);
    if (pos >= end) {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
  }
  Span display_name;
  uint32_t laquot = end;
  if (p[pos] == '<') {
    // The reference trims an empty display name in front of '<' to {pos, 0}.
    display_name = {pos, 0};
    laquot = pos;
  } else if (p[pos] == '"') {
    const uint32_t quote = firstOf<'"', '\\'>(p, pos + 1, end, readable);
    if (quote >= end || p[quote] != '"') {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
    display_name = {pos + 1, quote - pos - 1};
    laquot = quote + 1;
    if (laquot < end && isLws(p[laquot])) {
      laquot = skipLwsAt(p, laquot, end);
    }
    if (laquot >= end || p[laquot] != '<') {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
  } else {
    // A token display name, or an addr-spec: its parameters begin at ';' (or the element
    // ends at ','); no '<' may follow (§20.10).
    const uint32_t i = firstOf<'<', ';', ','>(p, pos, end, readable);
    if (i < end && p[i] == '<') {
      laquot = i;
      display_name = trimLwsSpan(p, pos, laquot);
    }
  }
  Span uri;
  uint32_t after_uri = 0;
  if (laquot != end) {
    const uint32_t uri_begin = laquot + 1;
    // The first '>' ends the URI (it cannot appear unescaped inside one, RFC 3261 §25.1).
    const uint32_t raquot = firstOf<'>'>(p, uri_begin, end, readable);
    if (raquot >= end || raquot == uri_begin) {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
    uri = {uri_begin, raquot - uri_begin};
    after_uri = raquot + 1;
  } else {
    // addr-spec without brackets ends at the first ';' (header params) or white space.
    const uint32_t i = firstOf<';', ' ', '\t', '\r', '\n'>(p, pos, end, readable);
    if (i == pos) {
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
    uri = {pos, i - pos};
    after_uri = i;
  }
  Span params;
  Span tag;
  if (after_uri < end) {
    if (p[after_uri] != ';') {
      // LWS before the parameters, or junk after the URI.
      return detail::parseNameAddrGeneral(buffer, begin, end, out);
    }
    uint32_t params_end = end;
    while (isLws(p[params_end - 1])) {  // stops at the ';' at the latest
      --params_end;
    }
    params = {after_uri, params_end - after_uri};
    // firstParamIsTag, with the tag's end found 16 bytes per step.
    uint32_t word = 0;
    uint32_t expected = 0;
    std::memcpy(&expected, "tag=", sizeof(expected));
    if (params.length >= 5) {
      std::memcpy(&word, p + after_uri + 1, sizeof(word));
    }
    if (params.length >= 5 && (word | 0x00202020u) == expected &&
        (params.length == 5 || p[after_uri + 5] != '"')) {
      const uint32_t tag_begin = after_uri + 5;
      tag = {tag_begin, tagEnd(p, tag_begin, params_end, readable) - tag_begin};
    } else {
      (void)findParam(buffer, params, "tag", tag);
    }
  }
  out.display_name = display_name;
  out.uri = uri;
  out.params = params;
  out.tag = tag;
  out.angle_brackets = laquot != end;
  return true;
}

}  // namespace

// parseNameAddr tries the common shapes (parseCommonNameAddr) when the value is followed by
// enough readable bytes (nearly always: its CRLF and the next header line), and otherwise, or
// when they do not fit, parses any shape.
bool parseNameAddr(ByteView buffer, uint32_t begin, uint32_t end, NameAddr& out) {
#if defined(__SSE2__)
  if (begin < end && end + uint64_t{kCommonSlack} <= buffer.size) {
    switch (parseCommonNameAddr(buffer.data, begin, end, out)) {
      case CommonShape::Parsed:
        return true;
      case CommonShape::TagNotFirst:
        return tagFromParams(buffer, out);
      case CommonShape::Escaped:
        return detail::parseNameAddrGeneral(buffer, begin, end, out);
      case CommonShape::Other:
        break;
    }
  }
#endif
  return parseAnyNameAddr(buffer, begin, end, out);
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
