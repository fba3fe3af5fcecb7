#include "parser/via.h"

#include "parser/lexer.h"

namespace sipshield::parser {
namespace {

// via-params values: token / host (received may be an IPv6 address) / quoted-string.
bool paramValue(Lexer& lx, Span& value) {
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
  while (lx.pos < lx.end && (isTokenChar(lx.p[lx.pos]) || lx.p[lx.pos] == ':')) {
    ++lx.pos;
  }
  value = {begin, lx.pos - begin};
  return !value.empty();
}

bool allDigits(const char* p, Span s, uint32_t max_value) {
  if (s.empty() || s.length > 5) {
    return false;
  }
  uint32_t v = 0;
  for (uint32_t i = 0; i < s.length; ++i) {
    char c = p[s.offset + i];
    if (!isDigit(c)) {
      return false;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v <= max_value;
}

}  // namespace

// via-parm = sent-protocol LWS sent-by *( SEMI via-params )   (RFC 3261 §25.1)
bool parseViaParm(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                  uint32_t* stop) {
  entry = ViaEntry{};
  Lexer lx{buffer.data, begin, end};
  lx.skipLws();
  uint32_t start = lx.pos;
  auto fail = [&] {
    *stop = lx.pos;
    return false;
  };
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
  if (lx.token().empty() || !lx.consume('/') || lx.token().empty() || !lx.consume('/')) {
    return fail();
  }
  entry.transport = lx.token();
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
    Span name = lx.token();
    if (name.empty()) {
      return fail();
    }
    Span value;
    bool has_value = lx.consume('=');
    if (has_value && !paramValue(lx, value)) {
      return fail();
    }
    const char* n = buffer.data + name.offset;
    if (equalsIgnoreCase(n, name.length, "branch")) {
      entry.branch = value;
    } else if (equalsIgnoreCase(n, name.length, "received")) {
      entry.received = value;
    } else if (equalsIgnoreCase(n, name.length, "rport")) {
      // RFC 3581: rport is a flag in requests and carries the source port in responses.
      entry.has_rport = true;
      if (has_value) {
        if (!allDigits(buffer.data, value, 65535)) {
          return fail();
        }
        uint16_t port = 0;
        Lexer digits{buffer.data, value.offset, value.end()};
        (void)digits.port(port);
        entry.rport = port;
      }
      entry.rport_param = {name.offset, lx.pos - name.offset};
    } else if (equalsIgnoreCase(n, name.length, "maddr")) {
      entry.maddr = value;
    } else if (equalsIgnoreCase(n, name.length, "ttl")) {
      if (!allDigits(buffer.data, value, 255)) {
        return fail();
      }
      entry.ttl = value;
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
    while (i < message_->header_count && message_->headers[i].id != HeaderId::Via) {
      ++i;
    }
    if (i >= message_->header_count) {
      header_index_ = message_->header_count;
      pos_ = end_ = 0;
      return false;
    }
    header_index_ = i;
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
