#include "parser/via.h"

#include <array>
#include <bit>
#include <cstring>

#include "parser/block_cursor.h"
#include "parser/lexer.h"
#include "parser/scan_kernel.h"
#include "parser/via_fast_path.h"

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

}  // namespace

namespace {

// The host runs in SSE2 steps (x86-64's baseline).
struct Sse2Steps {
  static detail::HostWindows stepsAt(const char* p, uint32_t begin, uint32_t last,
                                     size_t readable) {
    return detail::nonHostStepsAt(p, begin, last, readable);
  }
};

}  // namespace

namespace detail {

// g_via_avx2: the CPU can run the AVX2 steps (read once at start; a parseViaParm from another
// file's static initialiser that runs before this sees false and takes the SSE2 steps, which
// give the same result).
extern const bool g_via_avx2 = viaAvx2Usable();

// parseViaParmSse2 is parseViaParm with the SSE2 classification.
[[gnu::noinline]] bool parseViaParmSse2(ByteView buffer, uint32_t begin, uint32_t end,
                                        ViaEntry& entry, uint32_t* stop) {
  return parseViaParmFast<Sse2Steps>(buffer, begin, end, entry, stop);
}

}  // namespace detail

// via-parm = sent-protocol LWS sent-by *( SEMI via-params )   (RFC 3261 §25.1)
// The classification follows the scanner's kernel (chosen once at start, scan_kernel.h): AVX2
// steps (parser/via_avx2.cc) with the AVX2 kernel, SSE2 steps otherwise. A tail call either way.
bool parseViaParm(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                  uint32_t* stop) {
  if (detail::viaParmAvx2Active()) {
    return detail::parseViaParmAvx2(buffer, begin, end, entry, stop);
  }
  return detail::parseViaParmSse2(buffer, begin, end, entry, stop);
}

namespace detail {

// noinline: parseViaParm tail-calls it on its rare paths; keeping it out keeps its registers.
[[gnu::noinline]] bool parseViaParmGeneral(ByteView buffer, uint32_t begin, uint32_t end,
                                           ViaEntry& entry, uint32_t* stop) {
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
