#pragma once

// Internal: parseNameAddr's fast path for the common shapes of a From/To value, shared by
// parser/name_addr.cc (parseNameAddr) and parser/validate.cc, which inlines it for From and
// To. Everything here has internal linkage (each file gets its own copy). SSE2 only: without
// it parseNameAddr takes its general path and validate() calls parseNameAddr.

#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/lexer.h"
#include "parser/name_addr.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {
namespace {

#if defined(__SSE2__)
// isTagEndByte: the bytes that end an unquoted tag value (as findParam stops).
inline bool isTagEndByte(char c) { return c == ';' || c == ',' || isLws(c); }

// The common shapes below read with 16-byte steps that may pass `end`: the caller checked that
// 16 bytes after `end` are readable (kCommonSlack), so a step starting at or before `end`
// stays inside the buffer. Bytes past `end` may be read but never decide anything.
constexpr uint32_t kCommonSlack = 16;

// firstOfPadded returns the offset of the first byte at or after `pos` that is one of `Cs`,
// or any offset >= `end` when none lies before `end`. `pos` <= `end`.
template <char... Cs>
uint32_t firstOfPadded(const char* p, uint32_t pos, uint32_t end) {
  for (;;) {
    const uint32_t mask = detail::eqMask16<Cs...>(p + pos);
    if (mask != 0) {
      return pos + static_cast<uint32_t>(__builtin_ctz(mask));
    }
    pos += 16;
    if (pos >= end) {
      return pos;
    }
  }
}

// tagStopPadded is firstOfPadded for the bytes that can end a tag value: ';', ',' and every
// byte up to SP (LWS, but also other control bytes, which the caller must look at).
uint32_t tagStopPadded(const char* p, uint32_t pos, uint32_t end) {
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i semicolon = _mm_set1_epi8(';');
  const __m128i comma = _mm_set1_epi8(',');
  for (;;) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
    const __m128i up_to_space = _mm_cmpeq_epi8(_mm_min_epu8(x, space), x);
    const __m128i separator = _mm_or_si128(_mm_cmpeq_epi8(x, semicolon), _mm_cmpeq_epi8(x, comma));
    const auto mask =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(up_to_space, separator)));
    if (mask != 0) {
      return pos + static_cast<uint32_t>(__builtin_ctz(mask));
    }
    pos += 16;
    if (pos >= end) {
      return pos;
    }
  }
}

// CommonShape is what parseCommonNameAddr made of a value.
enum class CommonShape : uint8_t {
  Parsed,       // `out` holds the reference's result
  TagNotFirst,  // `out` holds it but for the tag: parameters that do not start with it
  Escaped,      // a \-escape in the display name, which only the reference reads
  Other,        // anything else; `out` may be partly written
};

// commonParams finishes parseCommonNameAddr after the URI: nothing, or parameters without LWS
// before them or at the end to trim, reading a first ";tag=token" (the name in any case).
inline CommonShape commonParams(const char* p, uint32_t after_uri, uint32_t end, NameAddr& out) {
  if (after_uri == end) {
    out.params = {};
    out.tag = {};
    return CommonShape::Parsed;
  }
  if (p[after_uri] != ';' || isLws(p[end - 1])) {
    return CommonShape::Other;
  }
  out.params = {after_uri, end - after_uri};
  uint32_t word;
  std::memcpy(&word, p + after_uri + 1, sizeof(word));  // within the slack
  uint32_t expected;
  std::memcpy(&expected, "tag=", sizeof(expected));
  if (end - after_uri < 5 || (word | 0x00202020u) != expected) {
    return CommonShape::TagNotFirst;
  }
  if (p[after_uri + 5] == '"') {
    return CommonShape::Other;  // a quoted tag (or the byte after the value is '"')
  }
  const uint32_t tag_begin = after_uri + 5;
  uint32_t tag_end = tagStopPadded(p, tag_begin, end);
  if (tag_end >= end) {
    tag_end = end;
  } else if (!isTagEndByte(p[tag_end])) {
    return CommonShape::Other;  // a control byte inside the tag
  }
  out.tag = {tag_begin, tag_end - tag_begin};
  return CommonShape::Parsed;
}

// parseCommonNameAddr parses the shapes nearly every From and To has: `"display" <uri>` (one
// SP or none between), `display <uri>`, `<uri>` or a bare `uri`, each alone or followed by
// parameters. It sets `out` exactly as parseNameAddrGeneral would (CommonShape::Parsed, or
// TagNotFirst when findParam must find the tag), or tells the caller which parser to run
// instead, which rewrites every field: the reference for a \-escape in the display name
// (Escaped), the full parser for anything else (Other): LWS at the start, around ';' or more
// than one SP before '<', a quoted tag, control bytes in the tag, and every malformed value.
// A leaf without calls, writing each field as soon as it is known, so the common path keeps
// its values in scratch registers. Needs begin < end and kCommonSlack readable bytes after
// `end`.
[[gnu::always_inline]] inline CommonShape parseCommonNameAddr(const char* p, uint32_t begin,
                                                              uint32_t end, NameAddr& out) {
  uint32_t laquot = begin;
  if (p[begin] == '"') {
    const uint32_t quote = firstOfPadded<'"', '\\'>(p, begin + 1, end);
    if (quote >= end) {
      return CommonShape::Other;
    }
    if (p[quote] != '"') {
      return CommonShape::Escaped;
    }
    out.display_name = {begin + 1, quote - begin - 1};
    laquot = quote + 1;
    laquot += p[laquot] == ' ' ? 1 : 0;  // p[end] is readable
    if (laquot >= end || p[laquot] != '<') {
      return CommonShape::Other;
    }
  } else if (p[begin] == '<') {
    // The reference trims the empty display name in front of '<' to {begin, 0}.
    out.display_name = {begin, 0};
  } else {
    if (isLws(p[begin])) {
      return CommonShape::Other;
    }
    // A token display name before '<', or an addr-spec: its parameters begin at ';' (or the
    // element ends at ','); no '<' may follow (§20.10).
    laquot = firstOfPadded<'<', ';', ','>(p, begin, end);
    if (laquot >= end || p[laquot] != '<') {
      // addr-spec without brackets ends at the first ';' (header params) or white space.
      uint32_t uri_end = firstOfPadded<';', ' ', '\t', '\r', '\n'>(p, begin, end);
      uri_end = uri_end < end ? uri_end : end;
      if (uri_end == begin) {
        return CommonShape::Other;
      }
      out.display_name = {};
      out.uri = {begin, uri_end - begin};
      out.angle_brackets = false;
      return commonParams(p, uri_end, end, out);
    }
    // The display name without its trailing LWS (p[begin] is neither LWS nor '<').
    uint32_t display_end = laquot;
    while (isLws(p[display_end - 1])) {
      --display_end;
    }
    out.display_name = {begin, display_end - begin};
  }
  const uint32_t uri_begin = laquot + 1;
  // The first '>' ends the URI (it cannot appear unescaped inside one, RFC 3261 §25.1).
  const uint32_t raquot = firstOfPadded<'>'>(p, uri_begin, end);
  if (raquot >= end || raquot == uri_begin) {
    return CommonShape::Other;
  }
  out.uri = {uri_begin, raquot - uri_begin};
  out.angle_brackets = true;
  return commonParams(p, raquot + 1, end, out);
}

#endif  // __SSE2__

}  // namespace
}  // namespace sipshield::parser
