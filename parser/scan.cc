#include <array>
#include <cstring>

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/numbers.h"
#include "parser/scan_kernel.h"
#include "parser/sip_message.h"

namespace sipshield::parser {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(ScanError::BadMaxForwards) + 1>
    kScanErrorNames = {{
#define SIPSHIELD_SCAN_ERROR_NAME(name, text) text,
        SIPSHIELD_SCAN_ERRORS(SIPSHIELD_SCAN_ERROR_NAME)
#undef SIPSHIELD_SCAN_ERROR_NAME
    }};

// Scanner walks one buffer line by line. Offsets are uint32_t: inputs above 4 GiB are
// rejected up front by the message size limit. One call of the active line kernel per line
// finds both the line end and the end of the token that starts it (method or header name).
class Scanner {
 public:
  Scanner(ByteView input, SipMessage& out, const ScanLimits& limits)
      : p_(input.data),
        size_(static_cast<uint32_t>(input.size)),
        out_(out),
        limits_(limits) {
    std::memset(first_index_, 0xFF, sizeof(first_index_));
    std::memset(occurrences_, 0, sizeof(occurrences_));
  }

  // run scans from `start` and copies the per-header index into the message, whatever the
  // outcome (as the scanner always did: partial on Invalid/Incomplete).
  ScanResult run(uint32_t start) {
    ScanResult result = walk(start);
    std::memcpy(out_.first_index, first_index_, sizeof(out_.first_index));
    std::memcpy(out_.occurrences, occurrences_, sizeof(out_.occurrences));
    return result;
  }

 private:
  ScanResult walk(uint32_t start);
  ScanResult incomplete(ScanError error, uint32_t at) const {
    return {ScanStatus::Incomplete, error, at, 0};
  }
  ScanResult invalid(ScanError error, uint32_t at) const {
    return {ScanStatus::Invalid, error, at, 0};
  }

  // findLineEnd sets `eol` to the offset of the CR of the CRLF ending the line that starts at
  // `from`, and `token_end` to the end of the token run starting at `from` (never past
  // `eol`). Returns None, or the error that stops the scan (`at` = where).
  ScanError findLineEnd(uint32_t from, uint32_t& eol, uint32_t& token_end,
                        bool& incomplete_input);
  ScanError parseStartLine(uint32_t begin, uint32_t eol, uint32_t token_end, uint32_t& at);
  ScanError parseRequestLine(uint32_t begin, uint32_t eol, uint32_t token_end, uint32_t& at);
  ScanError parseStatusLine(uint32_t begin, uint32_t eol, uint32_t& at);
  ScanError addHeader(uint32_t begin, uint32_t eol, uint32_t name_end, uint32_t& at);
  ScanError extendFolded(uint32_t begin, uint32_t eol);
  ScanError checkConflict(const HeaderField& field, uint32_t& at) const;

  const char* p_;
  uint32_t size_;
  SipMessage& out_;
  const ScanLimits& limits_;
  // The message's first_index/occurrences plus one slot for HeaderId::Other, so recording a
  // header needs no branch on whether it is known.
  int16_t first_index_[kKnownHeaderCount + 1];
  uint8_t occurrences_[kKnownHeaderCount + 1];
};

ScanError Scanner::findLineEnd(uint32_t from, uint32_t& eol, uint32_t& token_end,
                                bool& incomplete_input) {
  LineEnds ends = detail::g_find_line(p_ + from, size_ - from);
  uint32_t hit = from + static_cast<uint32_t>(ends.special);
  token_end = from + static_cast<uint32_t>(ends.non_token);
  incomplete_input = false;
  if (hit >= size_) {
    incomplete_input = true;
    eol = size_;
    return ScanError::Truncated;
  }
  eol = hit;
  if (__builtin_expect(p_[hit] == '\r', 1)) {
    if (hit + 1 >= size_) {
      incomplete_input = true;
      return ScanError::Truncated;
    }
    if (p_[hit + 1] == '\n') {
      return ScanError::None;
    }
    return ScanError::ControlCharacter;
  }
  return p_[hit] == '\n' ? ScanError::BareLineFeed : ScanError::ControlCharacter;
}

ScanError Scanner::parseStartLine(uint32_t begin, uint32_t eol, uint32_t token_end,
                                   uint32_t& at) {
  out_.start_line = {begin, eol - begin};
  // A response starts with SIP-Version; the "SIP" literal is case-insensitive (RFC 3261 §25).
  if (eol - begin >= 4 && (p_[begin] | 0x20) == 's' && (p_[begin + 1] | 0x20) == 'i' &&
      (p_[begin + 2] | 0x20) == 'p' && p_[begin + 3] == '/') {
    return parseStatusLine(begin, eol, at);
  }
  return parseRequestLine(begin, eol, token_end, at);
}

// Only SIP/2.0 is proxied (RFC 3261 §7.1); other versions are a BadVersion verdict.
bool isSip20(const char* v, uint32_t length) {
  return length == 7 && (v[0] | 0x20) == 's' && (v[1] | 0x20) == 'i' && (v[2] | 0x20) == 'p' &&
         std::memcmp(v + 3, "/2.0", 4) == 0;
}

// Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1).
ScanError Scanner::parseRequestLine(uint32_t begin, uint32_t eol, uint32_t token_end,
                                     uint32_t& at) {
  uint32_t i = token_end;
  if (i == begin || i >= eol || p_[i] != ' ') {
    at = i;
    return i == begin ? ScanError::BadStartLine : ScanError::BadMethod;
  }
  out_.kind = MessageKind::Request;
  out_.method_token = {begin, i - begin};
  out_.method = classifyMethod(out_.method_token.view(p_));
  uint32_t uri_begin = ++i;
  // The line holds no control byte but HTAB before `eol` (the line kernel checked), so the
  // first byte below 0x21 is the SP or HTAB that ends the URI: look 8 bytes at a time.
  while (i + 8 <= eol) {
    uint64_t word;
    std::memcpy(&word, p_ + i, sizeof(word));
    if (((word - 0x2121212121212121ull) & ~word & 0x8080808080808080ull) != 0) {
      break;
    }
    i += 8;
  }
  while (i < eol && p_[i] != ' ' && p_[i] != '\t') {
    ++i;
  }
  if (i == uri_begin || i >= eol || p_[i] != ' ') {
    at = i;
    return ScanError::BadRequestUri;
  }
  out_.request_uri = {uri_begin, i - uri_begin};
  uint32_t version_begin = i + 1;
  if (!isSip20(p_ + version_begin, eol - version_begin)) {
    at = version_begin;
    return ScanError::BadVersion;
  }
  return ScanError::None;
}

// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2). A missing
// reason phrase (no SP after the code) is tolerated: it carries no meaning for a proxy.
ScanError Scanner::parseStatusLine(uint32_t begin, uint32_t eol, uint32_t& at) {
  if (eol - begin < 11 || !isSip20(p_ + begin, 7) || p_[begin + 7] != ' ') {
    at = begin;
    return isSip20(p_ + begin, eol - begin < 7 ? eol - begin : 7) ? ScanError::BadStartLine
                                                                   : ScanError::BadVersion;
  }
  uint32_t code = begin + 8;
  if (!isDigit(p_[code]) || !isDigit(p_[code + 1]) || !isDigit(p_[code + 2]) ||
      p_[code] < '1' || p_[code] > '6') {
    at = code;
    return ScanError::BadStatusCode;
  }
  uint32_t after = code + 3;
  if (after < eol && p_[after] != ' ') {
    at = after;
    return ScanError::BadStatusCode;
  }
  out_.kind = MessageKind::Response;
  out_.status_code = static_cast<uint16_t>((p_[code] - '0') * 100 + (p_[code + 1] - '0') * 10 +
                                           (p_[code + 2] - '0'));
  uint32_t reason = after < eol ? after + 1 : eol;
  out_.reason_phrase = {reason, eol - reason};
  return ScanError::None;
}

// message-header = field-name HCOLON field-value CRLF; HCOLON = *(SP / HTAB) ":" SWS.
ScanError Scanner::addHeader(uint32_t begin, uint32_t eol, uint32_t name_end, uint32_t& at) {
  // name_end comes from the line kernel; the CR at `eol` is not a token character, so the
  // name never runs past the line.
  uint32_t i = name_end;
  while (__builtin_expect(i < eol && isWsp(p_[i]), 0)) {
    ++i;
  }
  if (__builtin_expect(name_end == begin, 0)) {
    at = begin;
    return ScanError::BadHeaderName;
  }
  if (__builtin_expect(i >= eol || p_[i] != ':', 0)) {
    at = i;
    // A non-token byte right inside the name is a bad name; anything else lacks its colon.
    return (i < eol && i == name_end) ? ScanError::BadHeaderName : ScanError::BadHeaderLine;
  }
  ++i;
  // Nearly always exactly one SP before the value and none after it.
  if (i < eol && p_[i] == ' ' && i + 1 < eol && !isWsp(p_[i + 1])) {
    ++i;
  } else {
    while (i < eol && isWsp(p_[i])) {
      ++i;
    }
  }
  uint32_t value_end = eol;
  if (__builtin_expect(static_cast<unsigned char>(p_[eol - 1]) <= ' ', 0)) {
    while (value_end > i && isWsp(p_[value_end - 1])) {
      --value_end;
    }
  }
  if (__builtin_expect(out_.header_count >= out_.header_capacity, 0)) {
    at = begin;
    return ScanError::TooManyHeaders;
  }
  HeaderField& field = out_.headers[out_.header_count];
  field.name = {begin, name_end - begin};
  field.value = {i, value_end - i};
  // Nearly every name has 24 readable bytes after its start (the rest of its line at least);
  // the last line of a short buffer takes the bounded lookup.
  field.id = __builtin_expect(size_ - begin >= detail::kMaxHeaderNameLength, 1)
                 ? detail::lookupHeaderNameWide(p_ + begin, name_end - begin)
                 : detail::lookupHeaderName(p_ + begin, name_end - begin);
  ++out_.header_count;
  return ScanError::None;
}

// A line starting with SP/HTAB continues the previous header's value (RFC 3261 §7.3.1).
ScanError Scanner::extendFolded(uint32_t begin, uint32_t eol) {
  if (out_.header_count == 0) {
    return ScanError::FoldingWithoutHeader;
  }
  HeaderField& field = out_.headers[out_.header_count - 1];
  uint32_t value_end = eol;
  while (value_end > begin && isWsp(p_[value_end - 1])) {
    --value_end;
  }
  if (value_end == begin) {
    return ScanError::None;  // a blank continuation adds nothing
  }
  if (field.value.empty()) {
    uint32_t first = begin;
    while (isWsp(p_[first])) {
      ++first;
    }
    field.value = {first, value_end - first};
  } else {
    field.value.length = value_end - field.value.offset;
  }
  return ScanError::None;
}

// RFC 3261 §7.3.1: a header that is not a comma-separated list appears once. Identical
// repeats are harmless and tolerated; different values are ambiguous and rejected.
ScanError Scanner::checkConflict(const HeaderField& field, uint32_t& at) const {
  const HeaderField& first = out_.headers[first_index_[static_cast<int>(field.id)]];
  if (first.value.length != field.value.length ||
      std::memcmp(p_ + first.value.offset, p_ + field.value.offset, field.value.length) != 0) {
    at = field.name.offset;
    return ScanError::ConflictingHeader;
  }
  return ScanError::None;
}

ScanResult Scanner::walk(uint32_t start) {
  uint32_t eol = 0;
  uint32_t token_end = 0;
  bool need_more = false;
  ScanError error = findLineEnd(start, eol, token_end, need_more);
  if (error != ScanError::None) {
    return need_more ? incomplete(error, size_) : invalid(error, eol);
  }
  uint32_t at = 0;
  error = parseStartLine(start, eol, token_end, at);
  if (error != ScanError::None) {
    return invalid(error, at);
  }

  uint32_t line = eol + 2;
  uint16_t last_known = 0xFFFF;  // header index whose folding is still open, for conflicts
  while (true) {
    if (line >= size_) {
      return incomplete(ScanError::Truncated, size_);
    }
    if (line - out_.message_offset > limits_.max_message_bytes) {
      return invalid(ScanError::MessageTooLarge, line);
    }
    char c = p_[line];
    if (c == '\r' || c == '\n') {
      if (c == '\n') {
        return invalid(ScanError::BareLineFeed, line);
      }
      if (line + 1 >= size_) {
        return incomplete(ScanError::Truncated, size_);
      }
      if (p_[line + 1] != '\n') {
        return invalid(ScanError::ControlCharacter, line);
      }
      break;
    }
    error = findLineEnd(line, eol, token_end, need_more);
    if (error != ScanError::None) {
      return need_more ? incomplete(error, size_) : invalid(error, eol);
    }
    if (isWsp(c)) {
      error = extendFolded(line, eol);
      if (error != ScanError::None) {
        return invalid(error, line);
      }
    } else {
      error = addHeader(line, eol, token_end, at);
      if (error != ScanError::None) {
        return invalid(error, at);
      }
    }
    // A header's value is final once the next line does not continue it. Record it then, so
    // conflict checks compare whole (possibly folded) values.
    uint32_t next = eol + 2;
    if (next >= size_) {
      return incomplete(ScanError::Truncated, size_);
    }
    if (!isWsp(p_[next])) {
      uint16_t index = static_cast<uint16_t>(out_.header_count - 1);
      if (out_.header_count > 0 && index != last_known) {
        last_known = index;
        const HeaderField& field = out_.headers[index];
        // HeaderId::Other has its own slot; it is never single-valued.
        int id = static_cast<int>(field.id);
        int16_t first = first_index_[id];
        if (__builtin_expect(first >= 0 && detail::kSingleValued[id], 0)) {
          error = checkConflict(field, at);
          if (error != ScanError::None) {
            return invalid(error, at);
          }
        }
        first_index_[id] = first < 0 ? static_cast<int16_t>(index) : first;
        occurrences_[id] = static_cast<uint8_t>(occurrences_[id] + (occurrences_[id] != 0xFF));
      }
    }
    line = next;
  }

  out_.headers_end = line;
  out_.body_offset = line + 2;
  uint32_t available = size_ - out_.body_offset;
  int16_t cl_index = first_index_[static_cast<int>(HeaderId::ContentLength)];
  if (const HeaderField* cl = cl_index < 0 ? nullptr : &out_.headers[cl_index]) {
    uint64_t length = 0;
    if (!parseDecimal(ByteView(p_, size_), cl->value, 0xFFFFFFFFull, length)) {
      return invalid(ScanError::BadContentLength, cl->value.offset);
    }
    if (out_.body_offset - out_.message_offset + length > limits_.max_message_bytes) {
      return invalid(ScanError::MessageTooLarge, cl->value.offset);
    }
    out_.content_length = static_cast<int64_t>(length);
    if (length > available) {
      return incomplete(ScanError::BodyTruncated, size_);
    }
    out_.body_length = static_cast<uint32_t>(length);
  } else if (limits_.framing == Framing::Stream) {
    return invalid(ScanError::MissingContentLength, out_.headers_end);
  } else {
    // RFC 3261 §18.3: on a datagram transport the body runs to the end of the datagram.
    out_.body_length = available;
  }
  uint32_t consumed = out_.body_offset + out_.body_length;
  return {ScanStatus::Complete, ScanError::None, 0, consumed};
}

}  // namespace

std::string_view scanErrorName(ScanError error) {
  auto index = static_cast<size_t>(error);
  return index < kScanErrorNames.size() ? kScanErrorNames[index] : std::string_view("unknown");
}

ScanResult scan(ByteView input, SipMessage& out, const ScanLimits& limits) {
  out.header_count = 0;
  out.content_length = -1;
  out.body_length = 0;
  out.status_code = 0;
  out.method = Method::Other;
  out.method_token = {};
  out.request_uri = {};
  out.reason_phrase = {};
  std::memset(out.first_index, 0xFF, sizeof(out.first_index));
  std::memset(out.occurrences, 0, sizeof(out.occurrences));

  if (limits.framing == Framing::Datagram && input.size > limits.max_message_bytes) {
    return {ScanStatus::Invalid, ScanError::MessageTooLarge, limits.max_message_bytes, 0};
  }
  // Stream inputs may be longer than one message; never index past 4 GiB.
  if (input.size > 0xFFFFFFF0u) {
    input.size = 0xFFFFFFF0u;
  }
  // Leading CRLFs: keepalives on their own (RFC 5626 §3.5.1), ignored before a start line
  // (RFC 3261 §7.5).
  uint32_t start = 0;
  auto size = static_cast<uint32_t>(input.size);
  while (start + 1 < size && input.data[start] == '\r' && input.data[start + 1] == '\n') {
    start += 2;
  }
  if (start > 0 && start == size) {
    return {ScanStatus::Keepalive, ScanError::None, 0, start};
  }
  if (start + 1 == size && input.data[start] == '\r') {
    return {ScanStatus::Incomplete, ScanError::Truncated, size, 0};
  }
  if (start == size) {
    return {ScanStatus::Incomplete, ScanError::Truncated, size, 0};
  }
  out.message_offset = start;
  Scanner scanner(input, out, limits);
  return scanner.run(start);
}

}  // namespace sipshield::parser
