// validate() and scanAndValidate() against the code they replaced: headValidate below is
// validate() as it was before the inlined sub-parser fast paths (parser/validate_impl.h,
// parser/validate_avx2.cc), verbatim but for its name. Every verdict, offset and SipSummary
// field (for Invalid verdicts too: the fields written before the fault) must be the same,
// under every scan kernel (the AVX2 kernel takes the instantiation with the via-parm fast path
// inlined, the others parseViaParm by call). Also: classifyMethod against a plain string
// compare, the padded request-line lookup against classifyMethod, and Content-Length framing
// (finishMessage) on a table of values. Inputs are exact-size buffers so ASan catches any read
// past the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "parser/cseq.h"
#include "parser/lexer.h"
#include "parser/method.h"
#include "parser/name_addr.h"
#include "parser/numbers.h"
#include "parser/scan_kernel.h"
#include "parser/validate.h"
#include "parser/via.h"
#include "tests/parser/test_util.h"
#include "tests/parser/via_compare.h"

namespace sipshield::parser {
namespace {

using testing::mutate;

constexpr ScanIsa kIsas[] = {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2};

// ---- validate() as it was (reference) ----
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

ScanResult headValidate(ByteView buffer, const SipMessage& message, SipSummary& summary) {
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


// ---- comparison ----

bool same(Span a, Span b) { return a.offset == b.offset && a.length == b.length; }

// prefill gives every summary field a value neither validate writes by accident.
void prefill(SipSummary& s) {
  const Span junk{0xABCD, 0x1234};
  ViaEntry via;
  via.whole = via.protocol = via.transport = via.host = via.branch = via.received = junk;
  via.maddr = via.ttl = via.rport_param = via.params = junk;
  via.port = 4321;
  via.has_rport = true;
  via.rport = 777;
  s.call_id = junk;
  s.cseq.number = 999;
  s.cseq.method = Method::Info;
  s.cseq.method_token = junk;
  s.top_via = via;
  s.second_via = via;
  s.via_count = 0x5A5A;
  s.from_tag = s.to_tag = s.from_uri = s.to_uri = junk;
  s.max_forwards = 12345;
}

void expectSameSummary(const SipSummary& a, const SipSummary& b, const std::string& s) {
  EXPECT_TRUE(same(a.call_id, b.call_id)) << s;
  EXPECT_EQ(a.cseq.number, b.cseq.number) << s;
  EXPECT_EQ(a.cseq.method, b.cseq.method) << s;
  EXPECT_TRUE(same(a.cseq.method_token, b.cseq.method_token)) << s;
  expectSameViaEntry(a.top_via, b.top_via, s);
  expectSameViaEntry(a.second_via, b.second_via, s);
  EXPECT_EQ(a.via_count, b.via_count) << s;
  EXPECT_TRUE(same(a.from_tag, b.from_tag)) << s;
  EXPECT_TRUE(same(a.to_tag, b.to_tag)) << s;
  EXPECT_TRUE(same(a.from_uri, b.from_uri)) << s;
  EXPECT_TRUE(same(a.to_uri, b.to_uri)) << s;
  EXPECT_EQ(a.max_forwards, b.max_forwards) << s;
}

void expectSameResult(const ScanResult& a, const ScanResult& b, const std::string& s) {
  ASSERT_EQ(a.status, b.status) << s;
  ASSERT_EQ(a.error, b.error) << s;
  ASSERT_EQ(a.error_offset, b.error_offset) << s;
  ASSERT_EQ(a.consumed, b.consumed) << s;
}

// expectSameAsHead runs scanAndValidate and scan + validate on `s` and compares them with
// scan + headValidate: verdicts, offsets and every summary field.
template <uint16_t kCapacity = kDefaultHeaderCapacity>
void expectSameAsHead(const std::string& s) {
  std::vector<char> bytes(s.begin(), s.end());  // exact size for ASan
  ByteView buffer(bytes.data(), bytes.size());
  ParsedMessage<kCapacity> fused;
  SipSummary fused_summary;
  prefill(fused_summary);
  const ScanResult fused_result = scanAndValidate(buffer, fused.message, fused_summary);

  ParsedMessage<kCapacity> parsed;
  const ScanResult scanned = scan(buffer, parsed.message);
  SipSummary head_summary;
  prefill(head_summary);
  ScanResult want = scanned;
  if (scanned.status == ScanStatus::Complete) {
    const ScanResult checked = headValidate(buffer, parsed.message, head_summary);
    if (checked.status != ScanStatus::Complete) {
      want = checked;
    }
    SipSummary split_summary;
    prefill(split_summary);
    const ScanResult split = validate(buffer, parsed.message, split_summary);
    expectSameResult(split, checked, s);
    expectSameSummary(split_summary, head_summary, s);
  }
  expectSameResult(fused_result, want, s);
  expectSameSummary(fused_summary, head_summary, s);
  // The scan half of scanAndValidate is scan().
  EXPECT_EQ(fused.message.header_count, parsed.message.header_count) << s;
  EXPECT_EQ(fused.message.method, parsed.message.method) << s;
  EXPECT_TRUE(same(fused.message.method_token, parsed.message.method_token)) << s;
  EXPECT_TRUE(same(fused.message.request_uri, parsed.message.request_uri)) << s;
  EXPECT_EQ(fused.message.status_code, parsed.message.status_code) << s;
  EXPECT_EQ(fused.message.content_length, parsed.message.content_length) << s;
  EXPECT_EQ(fused.message.body_offset, parsed.message.body_offset) << s;
  EXPECT_EQ(fused.message.body_length, parsed.message.body_length) << s;
}

// A request with the given Via lines, Call-ID, From, To and extra header lines.
std::string request(const std::vector<std::string>& vias, const std::string& call_id,
                    const std::string& from, const std::string& to,
                    const std::string& cseq = "1 INVITE", const std::string& extra = "",
                    const std::string& method = "INVITE") {
  std::string m = method + " sip:bob@example.com SIP/2.0\r\n";
  for (const std::string& v : vias) {
    m += "Via: " + v + "\r\n";
  }
  m += "From: " + from + "\r\nTo: " + to + "\r\nCall-ID: " + call_id + "\r\nCSeq: " + cseq +
       "\r\n" + extra + "\r\n";
  return m;
}

std::vector<std::string> shapedMessages() {
  const std::string v1 = "SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK7e1c0a";
  const std::string v2 = "SIP/2.0/TCP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK5";
  const std::string v3 = "SIP/2.0/UDP 192.168.14.37:5062;rport=41834;branch=z9hG4bK-524287";
  const std::string from = "\"A\" <sip:a@example.com>;tag=1";
  const std::string to = "<sip:b@example.com>";
  std::vector<std::string> out = {
      // 1..5 via-parms, in lines and comma lists.
      request({v1}, "c1@h", from, to),
      request({v1, v2}, "c1@h", from, to),
      request({v1, v2, v3}, "c1@h", from, to),
      request({v1 + "," + v2, v3}, "c1@h", from, to),
      request({v1 + " , " + v2 + ",\r\n " + v3}, "c1@h", from, to),
      request({v1, v2 + "," + v3, v1, v2}, "c1@h", from, to),
      request({v1}, "c1@h", from, to, "1 INVITE", "Max-Forwards: 70\r\nVia: " + v2 + "\r\n"),
      request({v1, v2}, "c1@h", from, to, "1 INVITE", "Contact: <sip:c@d>\r\nVia: " + v3 + "\r\n"),
      // Bad via-parms in each position; empty lines; trailing commas.
      request({"SIP/2.0/UDP"}, "c1@h", from, to),
      request({v1, "SIP/2.0/UDP h:99999"}, "c1@h", from, to),
      request({v1, v2, "x"}, "c1@h", from, to),
      request({v1 + ","}, "c1@h", from, to),
      request({v1, v2 + ","}, "c1@h", from, to),
      request({v1, v2, v3 + ", "}, "c1@h", from, to),
      request({v1, ""}, "c1@h", from, to),
      request({v1, v2, ""}, "c1@h", from, to),
      request({v1, v2, v3, ""}, "c1@h", from, to),
      request({v1 + ",,", v2}, "c1@h", from, to),
      // Call-ID shapes: LWS inside, folded, empty, long, control bytes.
      request({v1}, "a b", from, to),
      request({v1}, "a\tb", from, to),
      request({v1}, "abc\r\n def", from, to),
      request({v1}, std::string(70, 'c') + "@h", from, to),
      request({v1}, "x\x01y", from, to),
      request({v1}, "", from, to),
      // CSeq shapes and method matching.
      request({v1}, "c1@h", from, to, "1 ACK"),
      request({v1}, "c1@h", from, to, "1 FOO", "", "FOO"),
      request({v1}, "c1@h", from, to, "1 FOO", "", "BAR"),
      request({v1}, "c1@h", from, to, "123456789 INVITE"),
      request({v1}, "c1@h", from, to, "2147483648 INVITE"),
      request({v1}, "c1@h", from, to, " 7  INVITE "),
      request({v1}, "c1@h", from, to, "7 invite"),
      // From/To shapes: bare addr-spec, token display name, quoted tag, bad.
      request({v1}, "c1@h", "sip:a@b;tag=x", "Bob <sip:b@c>;foo=1;tag=y"),
      request({v1}, "c1@h", "<sip:a@b>;tag=\"q\"", to),
      request({v1}, "c1@h", "\"a\\\"b\" <sip:a@b>;tag=1", to),
      request({v1}, "c1@h", "<sip:a@b", to),
      request({v1}, "c1@h", from, "<>"),
      request({v1}, "c1@h", from, "\"x\"\r\n <sip:b@c>"),
      // Max-Forwards shapes.
      request({v1}, "c1@h", from, to, "1 INVITE", "Max-Forwards: 255\r\n"),
      request({v1}, "c1@h", from, to, "1 INVITE", "Max-Forwards: 256\r\n"),
      request({v1}, "c1@h", from, to, "1 INVITE", "Max-Forwards: 0070\r\n"),
      request({v1}, "c1@h", from, to, "1 INVITE", "Max-Forwards: 7x\r\n"),
      // Missing headers, in every combination order matters for the verdict.
      "INVITE sip:b@c SIP/2.0\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 "
      "INVITE\r\n\r\n",
      "INVITE sip:b@c SIP/2.0\r\nVia: " + v1 + "\r\nCall-ID: x\r\n\r\n",
      "INVITE sip:b@c SIP/2.0\r\nVia: " + v1 + "\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\n\r\n",
      "SIP/2.0 200 OK\r\nVia: " + v1 + "\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCSeq: 1 "
      "INVITE\r\n\r\n",
      // Values at the very end of the buffer (no 15/16/24 bytes after them).
      "SIP/2.0 200 OK\r\nVia: " + v1 + "\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCSeq: 1 "
      "INVITE\r\nCall-ID: x@y\r\n\r\n",
      "SIP/2.0 200 OK\r\nVia: " + v1 + "\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nFrom: "
      "<sip:a@b>\r\nTo: <sip:b@c>\r\n\r\n",
      "SIP/2.0 200 OK\r\nCall-ID: x@y\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCSeq: 1 "
      "INVITE\r\nVia: " + v1 + "\r\n\r\n",
      "SIP/2.0 200 OK\r\nCall-ID: x@y\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nVia: " + v1 +
          "\r\nCSeq: 1 INVITE\r\n\r\n",
      // Short request lines (the method lookup without 16 readable bytes).
      "ACK a SIP/2.0\r\nVia: " + v1 + "\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCall-ID: x\r\n"
      "CSeq: 1 ACK\r\n\r\n",
      "BYE a SIP/2.0\r\nVia: " + v1 + "\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCall-ID: x\r\n"
      "CSeq: 1 BYE\r\n\r\n",
  };
  // Every method, its near misses, and Content-Length values.
  for (const char* m : {"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
                        "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
                        "INVITX", "IJVITE", "invite", "SUBSCRIBF", "ACKK", "AC", "A",
                        "REGISTEr", "XXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXX"}) {
    out.push_back(request({v1}, "c1@h", from, to, std::string("1 ") + m, "", m));
  }
  for (const char* cl : {"0", "00000000", "7", "12", "123456789", "1234567890", "4294967295",
                         "4294967296", "99999999999999999999", "12a", "", "-1"}) {
    out.push_back(request({v1}, "c1@h", from, to, "1 INVITE",
                          std::string("Content-Length: ") + cl + "\r\n") +
                  "0123456789");
  }
  return out;
}

// Every corpus message, the shaped messages above, and random edits of their header blocks,
// under every scan kernel the CPU has.
TEST(ValidateInline, MatchesHeadValidateUnderEveryKernel) {
  std::vector<std::string> seeds;
  for (const char* name : testing::kCorpusNames) {
    seeds.push_back(testing::readFile(testing::corpusPath(name)));
    ASSERT_FALSE(seeds.back().empty()) << name;
  }
  for (const std::string& m : shapedMessages()) {
    seeds.push_back(m);
  }
  for (ScanIsa isa : kIsas) {
    if (!setScanIsa(isa)) {
      continue;
    }
    SCOPED_TRACE(std::string(scanIsaName(isa)));
    for (const std::string& seed : seeds) {
      expectSameAsHead(seed);
      // Every truncation of the header block's end region and of the whole message.
      for (size_t cut = 0; cut < seed.size(); cut += (cut + 40 < seed.size() ? 7 : 1)) {
        expectSameAsHead(seed.substr(0, cut));
      }
      if (::testing::Test::HasFatalFailure()) {
        return;
      }
    }
    std::mt19937 rng(97);
    const std::string alphabet = "aZ09-.:;=,<>[]\"\\ \t@/!_\r\n";
    for (int iteration = 0; iteration < 20000; ++iteration) {
      const std::string& s = seeds[rng() % seeds.size()];
      const size_t head = s.find("\r\n\r\n");
      const size_t cut = head == std::string::npos ? s.size() : head;
      std::string edited = mutate(s.substr(0, cut), rng, alphabet) + s.substr(cut);
      if (rng() % 8 == 0) {
        edited.resize(rng() % (edited.size() + 1));
      }
      expectSameAsHead(edited);
      if (::testing::Test::HasFatalFailure()) {
        return;
      }
    }
  }
  setScanIsa(bestScanIsa());
}

// More than 255 Via lines (SipMessage::occurrences saturates at 0xFF, so the walk must look
// through all headers), Via lines among other headers, and a bad via-parm past the 255th line.
TEST(ValidateInline, ManyViaLinesMatchHeadValidate) {
  for (ScanIsa isa : kIsas) {
    if (!setScanIsa(isa)) {
      continue;
    }
    SCOPED_TRACE(std::string(scanIsaName(isa)));
    for (int lines : {254, 255, 256, 300}) {
      for (int bad : {-1, 0, 1, 254, 255, lines - 1}) {
        std::string m = "OPTIONS sip:a@b SIP/2.0\r\n";
        for (int i = 0; i < lines; ++i) {
          m += i == bad ? "Via: SIP/2.0/UDP h:0x\r\n" : "Via: SIP/2.0/UDP h" + std::to_string(i) +
                                                           (i % 3 == 0 ? ",SIP/2.0/TCP x" : "") +
                                                           "\r\n";
          if (i % 50 == 7) {
            m += "Subject: s\r\n";
          }
        }
        m += "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: c@h\r\nCSeq: 2 OPTIONS\r\n\r\n";
        expectSameAsHead<512>(m);
        if (bad < 0) {
          ParsedMessage<512> parsed;
          SipSummary summary;
          ASSERT_TRUE(scanAndValidate(ByteView(m), parsed.message, summary).ok()) << lines;
          EXPECT_EQ(summary.via_count, lines + (lines + 2) / 3) << lines;
        }
        if (::testing::Test::HasFatalFailure()) {
          return;
        }
      }
    }
  }
  setScanIsa(bestScanIsa());
}

// referenceFraming is finishMessage's Content-Length framing as it was (parseDecimal up to
// 0xFFFFFFFF, then the size limit and the bytes available) for a datagram whose header block
// ends at `headers_end` (its empty line's CRLF) and whose Content-Length value is `value`.
ScanResult referenceFraming(ByteView buffer, Span value, uint32_t headers_end,
                            int64_t& content_length, uint32_t& body_length) {
  const uint32_t body_offset = headers_end + 2;
  const auto size = static_cast<uint32_t>(buffer.size);
  uint64_t length = 0;
  if (!parseDecimal(buffer, value, 0xFFFFFFFFull, length)) {
    return {ScanStatus::Invalid, ScanError::BadContentLength, value.offset, 0};
  }
  if (body_offset + length > ScanLimits{}.max_message_bytes) {
    return {ScanStatus::Invalid, ScanError::MessageTooLarge, value.offset, 0};
  }
  content_length = static_cast<int64_t>(length);
  if (length > size - body_offset) {
    return {ScanStatus::Incomplete, ScanError::BodyTruncated, size, 0};
  }
  body_length = static_cast<uint32_t>(length);
  return {ScanStatus::Complete, ScanError::None, 0, body_offset + body_length};
}

// Content-Length values of every length up to 12 from digits and their neighbours ('/', ':'),
// with bodies shorter, equal and longer, under every scan kernel: the verdict and framing of
// the reference.
TEST(ValidateInline, ContentLengthFramingMatchesReference) {
  std::vector<std::string> values = {"0", "00000000", "000000000", "0000000000", "4294967295",
                                     "4294967296", "65535", "65536", "99999999"};
  std::mt19937 rng(3);
  for (int i = 0; i < 3000; ++i) {
    std::string v(1 + rng() % 12, '0');
    for (char& c : v) {
      c = "0123456789/:01"[rng() % 14];
    }
    if (rng() % 4 != 0) {
      v.resize(std::min<size_t>(v.size(), 1 + rng() % 3));  // mostly short: bodies fit
    }
    values.push_back(v);
  }
  for (ScanIsa isa : kIsas) {
    if (!setScanIsa(isa)) {
      continue;
    }
    SCOPED_TRACE(std::string(scanIsaName(isa)));
    for (const std::string& v : values) {
      for (size_t body : {size_t{0}, size_t{5}, size_t{150}}) {
        const std::string head = "OPTIONS sip:a@b SIP/2.0\r\nl: " + v + "\r\n";
        const std::string m = head + "\r\n" + std::string(body, 'b');
        std::vector<char> bytes(m.begin(), m.end());
        ByteView buffer(bytes.data(), bytes.size());
        ParsedMessage<kDefaultHeaderCapacity> parsed;
        const ScanResult got = scan(buffer, parsed.message);
        const Span value{static_cast<uint32_t>(head.size() - 2 - v.size()),
                         static_cast<uint32_t>(v.size())};
        int64_t content_length = -1;
        uint32_t body_length = 0;
        const ScanResult want = referenceFraming(buffer, value,
                                                 static_cast<uint32_t>(head.size()),
                                                 content_length, body_length);
        expectSameResult(got, want, m);
        if (want.status == ScanStatus::Complete) {
          EXPECT_EQ(parsed.message.content_length, content_length) << m;
          EXPECT_EQ(parsed.message.body_length, body_length) << m;
        }
      }
    }
  }
  setScanIsa(bestScanIsa());
}

// classifyMethod is the known method a token spells exactly (case-sensitive), Other for
// anything else; the padded lookup of request lines agrees with it.
TEST(ValidateInline, ClassifyMethodMatchesStringCompare) {
  auto reference = [](std::string_view token) {
    for (int m = 0; m < static_cast<int>(Method::Other); ++m) {
      if (methodName(static_cast<Method>(m)) == token) {
        return static_cast<Method>(m);
      }
    }
    return Method::Other;
  };
  std::vector<std::string> tokens = {"", "I", "IN", "ACK", "BYE", "INFO"};
  for (int m = 0; m < static_cast<int>(Method::Other); ++m) {
    const std::string name(methodName(static_cast<Method>(m)));
    tokens.push_back(name);
    tokens.push_back(name + "S");
    tokens.push_back(name.substr(0, name.size() - 1));
    for (size_t i = 0; i < name.size(); ++i) {
      for (char c : {'\0', 'A', 'a', ' ', '\xFF', static_cast<char>(name[i] ^ 0x20),
                     static_cast<char>(name[i] + 1), static_cast<char>(name[i] ^ 0x40)}) {
        std::string t = name;
        t[i] = c;
        tokens.push_back(t);
      }
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string t(rng() % 17, 'A');
    for (char& c : t) {
      c = "ABCDEGIKNOPRSTUVY"[rng() % 17];
    }
    tokens.push_back(t);
  }
  for (const std::string& t : tokens) {
    std::vector<char> exact(t.begin(), t.end());  // exact size for ASan
    const Method want = reference(t);
    ASSERT_EQ(classifyMethod(std::string_view(exact.data(), exact.size())), want) << t;
    std::string padded = t + std::string(16, '\x7F');
    ASSERT_EQ(detail::classifyMethodPadded(padded.data(), t.size()), want) << t;
  }
}

}  // namespace
}  // namespace sipshield::parser
