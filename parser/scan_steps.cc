#include "parser/scan_steps.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "parser/char_class.h"
#include "parser/numbers.h"

namespace sipshield::parser::detail {
namespace {

// "sip/" and "/2.0" as little-endian 32-bit loads; kCaseBits folds the letters of "sip" only.
constexpr uint32_t kSipSlash = 0x2F706973;
constexpr uint32_t kSlashTwoZero = 0x302E322F;
constexpr uint32_t kCaseBits = 0x00202020;

uint32_t load32(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// Only SIP/2.0 is proxied (RFC 3261 §7.1); other versions are a BadVersion verdict. Two
// overlapping word compares instead of a memcmp call.
bool isSip20(const char* v, uint32_t length) {
  return length == 7 && (load32(v) | kCaseBits) == kSipSlash && load32(v + 3) == kSlashTwoZero;
}

// findBlank returns the first SP or HTAB in [i, eol), or eol. The line holds no control byte
// but HTAB before `eol` (the line walk checked), so the first byte below 0x21 is that blank:
// look 16, then 8 bytes at a time.
uint32_t findBlank(const char* p, uint32_t i, uint32_t eol) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' ');
  while (i + 16 <= eol) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // min(v, SP) == v exactly for the bytes up to SP (unsigned).
    const auto below = static_cast<uint32_t>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v)));
    if (below != 0) {
      return i + static_cast<uint32_t>(__builtin_ctz(below));
    }
    i += 16;
  }
#endif
  while (i + 8 <= eol) {
    uint64_t word;
    std::memcpy(&word, p + i, sizeof(word));
    const uint64_t below = (word - 0x2121212121212121ull) & ~word & 0x8080808080808080ull;
    if (below != 0) {
      // The lowest flagged byte is exact (borrows only disturb the bytes above it).
      return i + static_cast<uint32_t>(__builtin_ctzll(below)) / 8;
    }
    i += 8;
  }
  while (i < eol && p[i] != ' ' && p[i] != '\t') {
    ++i;
  }
  return i;
}

// Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1).
ScanError parseRequestLine(const char* p, uint32_t begin, uint32_t eol, uint32_t token_end,
                           SipMessage& out, uint32_t& at) {
  uint32_t i = token_end;
  if (i == begin || i >= eol || p[i] != ' ') {
    at = i;
    return i == begin ? ScanError::BadStartLine : ScanError::BadMethod;
  }
  out.kind = MessageKind::Request;
  out.method_token = {begin, i - begin};
  // The line's CRLF follows `eol`: 16 bytes from `begin` are readable on any request line of
  // 14 bytes or more (nearly all; "OPTIONS sip:a SIP/2.0" has 21).
  out.method = eol + 2 - begin >= 16 ? detail::classifyMethodPadded(p + begin, i - begin)
                                     : classifyMethod(out.method_token.view(p));
  uint32_t uri_begin = ++i;
  i = findBlank(p, i, eol);
  if (i == uri_begin || i >= eol || p[i] != ' ') {
    at = i;
    return ScanError::BadRequestUri;
  }
  out.request_uri = {uri_begin, i - uri_begin};
  uint32_t version_begin = i + 1;
  if (!isSip20(p + version_begin, eol - version_begin)) {
    at = version_begin;
    return ScanError::BadVersion;
  }
  return ScanError::None;
}

// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2). A missing
// reason phrase (no SP after the code) is tolerated: it carries no meaning for a proxy.
ScanError parseStatusLine(const char* p, uint32_t begin, uint32_t eol, SipMessage& out,
                          uint32_t& at) {
  if (eol - begin < 11 || !isSip20(p + begin, 7) || p[begin + 7] != ' ') {
    at = begin;
    return isSip20(p + begin, eol - begin < 7 ? eol - begin : 7) ? ScanError::BadStartLine
                                                                  : ScanError::BadVersion;
  }
  uint32_t code = begin + 8;
  if (!isDigit(p[code]) || !isDigit(p[code + 1]) || !isDigit(p[code + 2]) || p[code] < '1' ||
      p[code] > '6') {
    at = code;
    return ScanError::BadStatusCode;
  }
  uint32_t after = code + 3;
  if (after < eol && p[after] != ' ') {
    at = after;
    return ScanError::BadStatusCode;
  }
  out.kind = MessageKind::Response;
  out.status_code = static_cast<uint16_t>((p[code] - '0') * 100 + (p[code + 1] - '0') * 10 +
                                          (p[code + 2] - '0'));
  uint32_t reason = after < eol ? after + 1 : eol;
  out.reason_phrase = {reason, eol - reason};
  return ScanError::None;
}

// parseLongLength is parseDecimal(.., 0xFFFFFFFF, ..), out of line: finishMessage then saves
// no registers for the call it almost never makes.
__attribute__((noinline, cold)) bool parseLongLength(const char* p, uint32_t size, Span value,
                                                     uint64_t& length) {
  return parseDecimal(ByteView(p, size), value, 0xFFFFFFFFull, length);
}

// parseLength is parseDecimal(.., 0xFFFFFFFF, ..) for a Content-Length value, with the usual
// 1 to 9 digits (never above the bound) read inline; an empty value wraps to the long way.
bool parseLength(const char* p, uint32_t size, Span value, uint64_t& length) {
  if (value.length - 1 < 9) {
    uint64_t v = 0;
    for (uint32_t k = 0; k < value.length; ++k) {
      const char c = p[value.offset + k];
      if (!isDigit(c)) {
        return false;
      }
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    length = v;
    return true;
  }
  return parseLongLength(p, size, value, length);
}

}  // namespace

ScanError parseStartLine(const char* p, uint32_t begin, uint32_t eol, uint32_t token_end,
                         SipMessage& out, uint32_t& at) {
  out.start_line = {begin, eol - begin};
  // A response starts with SIP-Version; the "SIP" literal is case-insensitive (RFC 3261 §25).
  if (eol - begin >= 4 && (load32(p + begin) | kCaseBits) == kSipSlash) {
    return parseStatusLine(p, begin, eol, out, at);
  }
  return parseRequestLine(p, begin, eol, token_end, out, at);
}

ScanError extendFolded(const char* p, uint32_t begin, uint32_t eol, SipMessage& out) {
  if (out.header_count == 0) {
    return ScanError::FoldingWithoutHeader;
  }
  HeaderField& field = out.headers[out.header_count - 1];
  uint32_t value_end = eol;
  while (value_end > begin && isWsp(p[value_end - 1])) {
    --value_end;
  }
  if (value_end == begin) {
    return ScanError::None;  // a blank continuation adds nothing
  }
  if (field.value.empty()) {
    uint32_t first = begin;
    while (isWsp(p[first])) {
      ++first;
    }
    field.value = {first, value_end - first};
  } else {
    field.value.length = value_end - field.value.offset;
  }
  return ScanError::None;
}

bool sameValue(const char* p, const HeaderField& a, const HeaderField& b) {
  return a.value.length == b.value.length &&
         std::memcmp(p + a.value.offset, p + b.value.offset, a.value.length) == 0;
}

namespace {

ScanResult invalidScan(ScanError error, uint32_t at) {
  return ScanResult{ScanStatus::Invalid, error, at, 0};
}

// finishBody is finishMessage once the Content-Length value (`value`) read as `length`.
inline ScanResult finishBody(uint32_t size, uint64_t length, Span value, SipMessage& out,
                             const ScanLimits& limits) {
  if (out.body_offset - out.message_offset + length > limits.max_message_bytes) {
    return invalidScan(ScanError::MessageTooLarge, value.offset);
  }
  out.content_length = static_cast<int64_t>(length);
  if (length > size - out.body_offset) {
    return {ScanStatus::Incomplete, ScanError::BodyTruncated, size, 0};
  }
  out.body_length = static_cast<uint32_t>(length);
  return {ScanStatus::Complete, ScanError::None, 0, out.body_offset + out.body_length};
}

// finishWithLength is finishMessage for a Content-Length value of no or more than 9 digits.
// Out of line (and tail-called): the common path then saves no registers.
[[gnu::noinline]] ScanResult finishWithLength(const char* p, uint32_t size, Span value,
                                              SipMessage& out, const ScanLimits& limits) {
  uint64_t length = 0;
  if (!parseLength(p, size, value, length)) {
    return invalidScan(ScanError::BadContentLength, value.offset);
  }
  return finishBody(size, length, value, out, limits);
}

}  // namespace

ScanResult finishMessage(const char* p, uint32_t size, uint32_t headers_end, SipMessage& out,
                         const ScanLimits& limits) {
  out.headers_end = headers_end;
  out.body_offset = headers_end + 2;
  const int16_t cl_index = out.first_index[static_cast<int>(HeaderId::ContentLength)];
  if (cl_index < 0) {
    if (limits.framing == Framing::Stream) {
      return invalidScan(ScanError::MissingContentLength, out.headers_end);
    }
    // RFC 3261 §18.3: on a datagram transport the body runs to the end of the datagram.
    out.body_length = size - out.body_offset;
    return {ScanStatus::Complete, ScanError::None, 0, out.body_offset + out.body_length};
  }
  const Span value = out.headers[cl_index].value;
  // The usual 1 to 9 digits (never above the bound) inline; the rest out of line.
  if (__builtin_expect(value.length - 1 < 9, 1)) {
    uint64_t length = 0;
    for (uint32_t k = 0; k < value.length; ++k) {
      const auto digit =
          static_cast<uint32_t>(static_cast<unsigned char>(p[value.offset + k])) - '0';
      if (digit > 9) {
        return invalidScan(ScanError::BadContentLength, value.offset);
      }
      length = length * 10 + digit;
    }
    return finishBody(size, length, value, out, limits);
  }
  return finishWithLength(p, size, value, out, limits);
}

}  // namespace sipshield::parser::detail
