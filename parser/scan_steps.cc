#include "parser/scan_steps.h"

#include <cstring>

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
  out.method = classifyMethod(out.method_token.view(p));
  uint32_t uri_begin = ++i;
  // The line holds no control byte but HTAB before `eol` (the line walk checked), so the
  // first byte below 0x21 is the SP or HTAB that ends the URI: look 8 bytes at a time.
  while (i + 8 <= eol) {
    uint64_t word;
    std::memcpy(&word, p + i, sizeof(word));
    const uint64_t below = (word - 0x2121212121212121ull) & ~word & 0x8080808080808080ull;
    if (below != 0) {
      // The lowest flagged byte is exact (borrows only disturb the bytes above it).
      i += static_cast<uint32_t>(__builtin_ctzll(below)) / 8;
      break;
    }
    i += 8;
  }
  while (i < eol && p[i] != ' ' && p[i] != '\t') {
    ++i;
  }
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

ScanResult finishMessage(const char* p, uint32_t size, uint32_t headers_end, SipMessage& out,
                         const ScanLimits& limits) {
  auto invalid = [](ScanError error, uint32_t at) {
    return ScanResult{ScanStatus::Invalid, error, at, 0};
  };
  out.headers_end = headers_end;
  out.body_offset = headers_end + 2;
  uint32_t available = size - out.body_offset;
  if (const HeaderField* cl = out.first(HeaderId::ContentLength)) {
    uint64_t length = 0;
    if (!parseDecimal(ByteView(p, size), cl->value, 0xFFFFFFFFull, length)) {
      return invalid(ScanError::BadContentLength, cl->value.offset);
    }
    if (out.body_offset - out.message_offset + length > limits.max_message_bytes) {
      return invalid(ScanError::MessageTooLarge, cl->value.offset);
    }
    out.content_length = static_cast<int64_t>(length);
    if (length > available) {
      return {ScanStatus::Incomplete, ScanError::BodyTruncated, size, 0};
    }
    out.body_length = static_cast<uint32_t>(length);
  } else if (limits.framing == Framing::Stream) {
    return invalid(ScanError::MissingContentLength, out.headers_end);
  } else {
    // RFC 3261 §18.3: on a datagram transport the body runs to the end of the datagram.
    out.body_length = available;
  }
  return {ScanStatus::Complete, ScanError::None, 0, out.body_offset + out.body_length};
}

}  // namespace sipshield::parser::detail
