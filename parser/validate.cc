#include "parser/validate.h"

#include <cstring>

#include "parser/lexer.h"
#include "parser/name_addr.h"
#include "parser/numbers.h"

namespace sipshield::parser {
namespace {

ScanResult invalid(ScanError error, uint32_t at) {
  return {ScanStatus::Invalid, error, at, 0};
}

struct Mandatory {
  HeaderId id;
  ScanError missing;
};

// RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are the minimum of a request;
// Max-Forwards is only recommended for a stateless shield to require (old UAs omit it), and
// responses carry the same set without it (§8.2.6.2).
constexpr Mandatory kMandatory[] = {
    {HeaderId::Via, ScanError::MissingVia},       {HeaderId::From, ScanError::MissingFrom},
    {HeaderId::To, ScanError::MissingTo},         {HeaderId::CallId, ScanError::MissingCallId},
    {HeaderId::CSeq, ScanError::MissingCSeq},
};

// callid = word [ "@" word ] (§25.1): one run of visible characters, so no LWS byte (SP, HTAB
// or a fold's CR/LF) inside. 16 bytes per step (findFirstOf), reading at most to the end of
// the buffer.
bool validCallId(ByteView buffer, Span id) {
  if (id.empty()) {
    return false;
  }
  return findFirstOf<' ', '\t', '\r', '\n'>(buffer.data, id.offset, id.end(),
                                             readableEnd(buffer.size)) == id.end();
}

// sameMethod is `a == b` for the request's method token and the CSeq's: classifyMethod maps
// a token to a known method only when it is that method's exact name, so two known methods
// decide without looking at the bytes; only two extension methods need the compare.
bool sameMethod(const char* p, Method method_a, Span a, Method method_b, Span b) {
  if (method_a != Method::Other || method_b != Method::Other) {
    return method_a == method_b;
  }
  return a.view(p) == b.view(p);
}

// checkVias parses every via-parm of every Via line in order (the walk ViaCursor does, inline:
// validate() needs no cursor object and no per-call bookkeeping), keeping the first in `top`
// and the second in `second` and counting them (saturating at 0xFFFF). Returns false with
// `*error_offset` at the fault.
bool checkVias(ByteView buffer, const SipMessage& message, ViaEntry& top, ViaEntry& second,
               uint16_t& count, uint32_t* error_offset) {
  const int via = static_cast<int>(HeaderId::Via);
  const uint8_t lines = message.occurrences[via];
  uint32_t lines_read = 0;
  uint32_t parms = 0;
  // Later via-parms are parsed into a scratch entry. A copy (a few vector moves) is cheaper than
  // a default-initialized entry, which compiles to `rep stos`; its content is overwritten.
  ViaEntry scratch = top;
  for (int i = message.first_index[via]; i >= 0;) {
    ++lines_read;
    uint32_t pos = message.headers[i].value.offset;
    const uint32_t end = message.headers[i].value.end();
    // Each line is parsed at least once: an empty Via line is a bad via-parm.
    do {
      uint32_t stop = 0;
      ViaEntry& entry = parms == 0 ? top : (parms == 1 ? second : scratch);
      if (!parseViaParm(buffer, pos, end, entry, &stop)) {
        *error_offset = stop;
        return false;
      }
      ++parms;
      Lexer lx{buffer.data, stop, end};
      if (lx.consume(',')) {
        pos = lx.pos;
        if (pos >= end) {  // a trailing comma promises another via-parm
          *error_offset = pos;
          return false;
        }
      } else {
        pos = end;
      }
    } while (pos < end);
    // Once every Via line was read there is no need to look through the rest of the headers.
    if (lines_read >= lines && lines != 0xFF) {
      break;
    }
    int next = i + 1;
    while (next < message.header_count && message.headers[next].id != HeaderId::Via) {
      ++next;
    }
    i = next < message.header_count ? next : -1;
  }
  if (parms == 0) {
    *error_offset = message.headers_end;
    return false;
  }
  count = static_cast<uint16_t>(parms > 0xFFFF ? 0xFFFF : parms);
  return true;
}

// maxForwards is parseDecimal(value, 255) for the 1..3 digits every Max-Forwards has, without
// the call; other lengths take parseDecimal.
bool maxForwards(ByteView buffer, Span value, int32_t& out) {
  if (value.length - 1 < 3) {
    const char* s = buffer.data + value.offset;
    uint32_t hops = 0;
    for (uint32_t i = 0; i < value.length; ++i) {
      auto digit = static_cast<uint32_t>(static_cast<unsigned char>(s[i])) - '0';
      if (digit > 9) {
        return false;
      }
      hops = hops * 10 + digit;
    }
    out = static_cast<int32_t>(hops);
    return hops <= 255;
  }
  uint64_t hops = 0;
  if (!parseDecimal(buffer, value, 255, hops)) {
    return false;
  }
  out = static_cast<int32_t>(hops);
  return true;
}

}  // namespace

ScanResult validate(ByteView buffer, const SipMessage& message, SipSummary& summary) {
  // No blanket reset: every field is assigned below before Complete is returned, and the
  // summary means nothing otherwise (zeroing it cost a tenth of validate()).
  summary.max_forwards = -1;
  const char* p = buffer.data;
  for (const Mandatory& m : kMandatory) {
    if (!message.has(m.id)) {
      return invalid(m.missing, message.headers_end);
    }
  }

  const HeaderField* call_id = message.first(HeaderId::CallId);
  summary.call_id = trimLws(buffer, call_id->value);
  if (!validCallId(buffer, summary.call_id)) {
    return invalid(ScanError::BadCallId, call_id->value.offset);
  }

  const HeaderField* cseq = message.first(HeaderId::CSeq);
  if (!parseCSeq(buffer, cseq->value, summary.cseq)) {
    return invalid(ScanError::BadCSeq, cseq->value.offset);
  }
  // §8.1.1.5: the CSeq method MUST match the request's method (ACK and CANCEL included).
  if (message.isRequest() && !sameMethod(p, summary.cseq.method, summary.cseq.method_token,
                                         message.method, message.method_token)) {
    return invalid(ScanError::CSeqMethodMismatch, summary.cseq.method_token.offset);
  }

  // Every via-parm is checked; the first two are kept.
  summary.via_count = 0;
  uint32_t via_error = 0;
  if (!checkVias(buffer, message, summary.top_via, summary.second_via, summary.via_count,
                 &via_error)) {
    return invalid(ScanError::BadVia, via_error);
  }

  NameAddr addr;
  const HeaderField* from = message.first(HeaderId::From);
  if (!parseNameAddr(buffer, from->value, addr)) {
    return invalid(ScanError::BadFrom, from->value.offset);
  }
  summary.from_tag = addr.tag;
  summary.from_uri = addr.uri;
  const HeaderField* to = message.first(HeaderId::To);
  if (!parseNameAddr(buffer, to->value, addr)) {
    return invalid(ScanError::BadTo, to->value.offset);
  }
  summary.to_tag = addr.tag;
  summary.to_uri = addr.uri;

  if (const HeaderField* mf = message.first(HeaderId::MaxForwards)) {
    if (!maxForwards(buffer, mf->value, summary.max_forwards)) {
      summary.max_forwards = -1;
      return invalid(ScanError::BadMaxForwards, mf->value.offset);
    }
  }
  return {ScanStatus::Complete, ScanError::None, 0, 0};
}

ScanResult scanAndValidate(ByteView input, SipMessage& message, SipSummary& summary,
                           const ScanLimits& limits) {
  ScanResult result = scan(input, message, limits);
  if (result.status != ScanStatus::Complete) {
    return result;
  }
  ScanResult checked = validate(input, message, summary);
  if (checked.status != ScanStatus::Complete) {
    return checked;
  }
  return result;
}

}  // namespace sipshield::parser
