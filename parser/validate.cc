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

// hasByteBelow0x21 says whether any of the 8 bytes in `word` is below 0x21 (SP and every
// control byte). Exact as a yes/no answer: the borrow trick only errs in bytes above a true
// hit, and bytes >= 0x80 are excluded by the ~word term.
inline bool hasByteBelow0x21(uint64_t word) {
  return ((word - 0x2121212121212121ull) & ~word & 0x8080808080808080ull) != 0;
}

// callid = word [ "@" word ] (§25.1): one run of visible characters. LWS bytes (SP, HTAB and
// a fold's CR/LF) are all below 0x21, so 8 bytes at a time are checked for any such byte
// first; only a word that has one is looked at byte by byte.
bool validCallId(const char* p, Span id) {
  if (id.empty()) {
    return false;
  }
  const char* s = p + id.offset;
  uint32_t n = id.length;
  uint32_t i = 0;
  auto clean = [s](uint32_t from, uint32_t to) {
    for (uint32_t k = from; k < to; ++k) {
      if (isLws(s[k])) {
        return false;
      }
    }
    return true;
  };
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, s + i, sizeof(word));
    if (__builtin_expect(hasByteBelow0x21(word), 0) && !clean(i, i + 8)) {
      return false;
    }
  }
  return clean(i, n);
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
  if (!validCallId(p, summary.call_id)) {
    return invalid(ScanError::BadCallId, call_id->value.offset);
  }

  const HeaderField* cseq = message.first(HeaderId::CSeq);
  if (!parseCSeq(buffer, cseq->value, summary.cseq)) {
    return invalid(ScanError::BadCSeq, cseq->value.offset);
  }
  // §8.1.1.5: the CSeq method MUST match the request's method (ACK and CANCEL included).
  if (message.isRequest() &&
      summary.cseq.method_token.view(p) != message.method_token.view(p)) {
    return invalid(ScanError::CSeqMethodMismatch, summary.cseq.method_token.offset);
  }

  // Every via-parm is checked; the first is kept.
  ViaCursor vias(buffer, message);
  summary.via_count = 0;
  if (vias.next(summary.top_via)) {
    summary.via_count = 1;
    ViaEntry entry;
    while (vias.next(entry)) {
      if (summary.via_count != 0xFFFF) {
        ++summary.via_count;
      }
    }
  }
  if (vias.failed() || summary.via_count == 0) {
    return invalid(ScanError::BadVia, vias.failed() ? vias.errorOffset() : message.headers_end);
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
    uint64_t hops = 0;
    if (!parseDecimal(buffer, mf->value, 255, hops)) {
      return invalid(ScanError::BadMaxForwards, mf->value.offset);
    }
    summary.max_forwards = static_cast<int32_t>(hops);
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
