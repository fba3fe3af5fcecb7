// validate()'s fast paths against their references: the host-class bits against isHostChar,
// findFirstOf against a byte loop, parseNameAddr and parseCSeq against their general
// grammars, parseViaParm against the general grammar on the shapes the new fast path takes
// (IPv6 reference, rport/ttl values, block crossings), and validate() against a reference
// built from ViaCursor and the general parsers (the pre-fast-path code).
// Inputs are exact-size buffers so ASan catches any read past the end.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "parser/block_cursor.h"
#include "parser/char_class.h"
#include "parser/cseq.h"
#include "parser/lexer.h"
#include "parser/name_addr.h"
#include "parser/numbers.h"
#include "parser/validate.h"
#include "parser/via.h"
#include "tests/parser/test_util.h"
#include "tests/parser/via_compare.h"

namespace sipshield::parser {
namespace {

using testing::mutate;

bool same(Span a, Span b) { return a.offset == b.offset && a.length == b.length; }

// Every byte value at every position of a 16-byte step gives the bits isHostChar defines.
TEST(HostBits, MatchTheCharacterTable) {
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t position = 0; position < 16; ++position) {
      char step[16];
      std::memset(step, 'a', sizeof(step));
      step[position] = static_cast<char>(byte);
      const uint32_t bits = detail::hostBits16(step);
      for (size_t i = 0; i < 16; ++i) {
        ASSERT_EQ((bits >> i) & 1, isHostChar(step[i]) ? 1u : 0u) << byte << " at " << i;
      }
    }
  }
}

TEST(FindFirstOf, AgreesWithByteLoop) {
  std::mt19937 rng(23);
  const std::string alphabet = "ab<>;,\"\\ \t\r\n";
  for (int iteration = 0; iteration < 20000; ++iteration) {
    size_t size = rng() % 80;
    std::vector<char> bytes(size);
    for (char& c : bytes) {
      c = alphabet[rng() % alphabet.size()];
    }
    auto end = static_cast<uint32_t>(rng() % (size + 1));
    uint32_t pos = end == 0 ? 0 : static_cast<uint32_t>(rng() % (end + 1));
    uint32_t readable = end + static_cast<uint32_t>(rng() % (size - end + 1));
    uint32_t want = pos;
    while (want < end && bytes[want] != '>' && bytes[want] != ';' && bytes[want] != '\r') {
      ++want;
    }
    ASSERT_EQ((findFirstOf<'>', ';', '\r'>(bytes.data(), pos, end, readable)), want);
    want = pos;
    while (want < end && bytes[want] != '"') {
      ++want;
    }
    ASSERT_EQ(findFirstOf<'"'>(bytes.data(), pos, end, readable), want);
  }
}

void expectSameNameAddr(const std::string& s) {
  std::vector<char> bytes(s.begin(), s.end());  // exact size for ASan
  ByteView buffer(bytes.data(), bytes.size());
  auto end = static_cast<uint32_t>(bytes.size());
  NameAddr fast;
  NameAddr general;
  bool fast_ok = parseNameAddr(buffer, 0, end, fast);
  bool general_ok = detail::parseNameAddrGeneral(buffer, 0, end, general);
  ASSERT_EQ(fast_ok, general_ok) << s;
  if (!fast_ok) {
    return;
  }
  EXPECT_TRUE(same(fast.display_name, general.display_name)) << s;
  EXPECT_TRUE(same(fast.uri, general.uri)) << s;
  EXPECT_TRUE(same(fast.params, general.params)) << s;
  EXPECT_TRUE(same(fast.tag, general.tag)) << s;
  EXPECT_EQ(fast.angle_brackets, general.angle_brackets) << s;
}

TEST(NameAddrFastPath, MatchesGeneralGrammar) {
  const std::vector<std::string> seeds = {
      "\"Marta Ilves\" <sip:marta@voice.kestrel.example>;tag=9fxced76sl",
      "<sip:+14155550142@sip.harborline.example>;tag=314159-hpbx",
      "<sip:+14155550142@sip.harborline.example>",
      "\"sipvicious\"<sip:100@1.1.1.1>;tag=3635623362316465313363340131353834383738323935",
      "Desk <sip:2047@pbx.harborline.example> ;TAG=abc ;x=y",
      "sip:bob@example.com;tag=xyz",
      "sip:bob@example.com ;tag=\"quoted\"",
      "\"esc \\\" aped\" <sip:a@b>;tag=1",
      "\"unterminated <sip:a@b>",
      "<sip:a@b>;foo=bar;tag=t1,<sip:c@d>",
      "<>",
      "  <sip:a@b>  ",
      "\"a\"\r\n <sip:a@b>;tag=x\r\n y",
      "<sip:a@b>;tag=",
      "<sip:a@b;lr>;tag=abc;",
  };
  for (const std::string& seed : seeds) {
    expectSameNameAddr(seed);
  }
  std::mt19937 rng(5);
  for (int iteration = 0; iteration < 40000; ++iteration) {
    std::string s = mutate(seeds[rng() % seeds.size()], rng, "aZ0<>;=,\"\\ \t\r\n@:");
    // Long values cross the 16-byte steps at every offset.
    if (rng() % 4 == 0) {
      s.insert(rng() % (s.size() + 1), std::string(rng() % 40, 'x'));
    }
    expectSameNameAddr(s);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

void expectSameCSeq(const std::string& s) {
  std::vector<char> bytes(s.begin(), s.end());
  ByteView buffer(bytes.data(), bytes.size());
  Span value{0, static_cast<uint32_t>(bytes.size())};
  CSeq fast;
  CSeq general;
  bool fast_ok = parseCSeq(buffer, value, fast);
  bool general_ok = detail::parseCSeqGeneral(buffer, value, general);
  ASSERT_EQ(fast_ok, general_ok) << s;
  if (!fast_ok) {
    return;
  }
  EXPECT_EQ(fast.number, general.number) << s;
  EXPECT_EQ(fast.method, general.method) << s;
  EXPECT_TRUE(same(fast.method_token, general.method_token)) << s;
}

TEST(CSeqFastPath, MatchesGeneralGrammar) {
  const std::vector<std::string> seeds = {
      "20 INVITE",  "1 REGISTER",  "14022 OPTIONS",   "99999999 ACK", "999999999 BYE",
      "2147483647 X", "2147483648 X", "0 FOO-BAR.baz", " 7  BYE ",    "7\tBYE",
      "7 BYE x",     "7 B(E",       "12",             "12 ",          "",
      "00000000001 A",
  };
  for (const std::string& seed : seeds) {
    expectSameCSeq(seed);
  }
  std::mt19937 rng(9);
  for (int iteration = 0; iteration < 30000; ++iteration) {
    expectSameCSeq(mutate(seeds[rng() % seeds.size()], rng, "09aZ \t\r\n(-!"));
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

// The shapes the host-class fast path added: IPv6 references, rport/ttl values read without
// the Lexer, parameter values crossing the 64-byte block, and token characters outside the
// host class (which must fall back, not be cut short).
TEST(ViaFastPath, HostClassShapesMatchGeneralGrammar) {
  const std::vector<std::string> seeds = {
      "SIP/2.0/TCP [2001:db8:4a::17]:49152;branch=z9hG4bKnashds7;alias",
      "SIP/2.0/UDP [::1]",
      "SIP/2.0/UDP []:5060",
      "SIP/2.0/UDP [1:2:3:4:5:6:7:8]:65535;rport=65535;ttl=255",
      "SIP/2.0/UDP 192.168.14.37:5062;received=192.0.2.88;rport=41834;branch=z9hG4bK-524287-1-"
      "--a8d3c0e9f1b6774d",
      "SIP/2.0/UDP h;rport=00000;ttl=000",
      "SIP/2.0/UDP h;rport=655350",
      "SIP/2.0/UDP h;ttl=256;rport",
      "SIP/2.0/UDP h;branch=z9hG4bK_under;rport",
      "SIP/2.0/UDP h_x:5060;branch=1",
      "SIP/2.0/U!DP h:5060",
      "SIP/2.0/UDP h:0;maddr=239.1.1.1;received=::ffff:1.2.3.4",
      "SIP/2.0/UDP h:5060;branch=" + std::string(150, 'b') + ";rport=1",
      "SIP/2.0/UDP " + std::string(70, 'h') + ":5060;branch=z",
      "SIP/2.0/UDP h;b=1,SIP/2.0/TCP x;branch=2",
  };
  for (const std::string& seed : seeds) {
    expectSameVia(seed, 0, static_cast<uint32_t>(seed.size()));
  }
  std::mt19937 rng(29);
  for (int iteration = 0; iteration < 40000; ++iteration) {
    std::string s = mutate(seeds[rng() % seeds.size()], rng, "aZ09-.:;=,[]\" \t\r\n/!_");
    auto n = static_cast<uint32_t>(s.size());
    uint32_t end = n == 0 ? 0 : n - static_cast<uint32_t>(rng() % (n < 8 ? n + 1 : 8));
    expectSameVia(s, 0, end);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

// referenceValidate is validate() as it was before its fast paths: ViaCursor, the general
// name-addr and CSeq grammars, string compares and parseDecimal.
ScanResult referenceValidate(ByteView buffer, const SipMessage& message, SipSummary& summary) {
  auto invalid = [](ScanError error, uint32_t at) {
    return ScanResult{ScanStatus::Invalid, error, at, 0};
  };
  summary.max_forwards = -1;
  const char* p = buffer.data;
  const std::pair<HeaderId, ScanError> mandatory[] = {
      {HeaderId::Via, ScanError::MissingVia},       {HeaderId::From, ScanError::MissingFrom},
      {HeaderId::To, ScanError::MissingTo},         {HeaderId::CallId, ScanError::MissingCallId},
      {HeaderId::CSeq, ScanError::MissingCSeq},
  };
  for (const auto& [id, missing] : mandatory) {
    if (!message.has(id)) {
      return invalid(missing, message.headers_end);
    }
  }
  const HeaderField* call_id = message.first(HeaderId::CallId);
  summary.call_id = trimLws(buffer, call_id->value);
  bool call_id_ok = !summary.call_id.empty();
  for (uint32_t i = summary.call_id.offset; i < summary.call_id.end(); ++i) {
    call_id_ok = call_id_ok && !isLws(p[i]);
  }
  if (!call_id_ok) {
    return invalid(ScanError::BadCallId, call_id->value.offset);
  }
  const HeaderField* cseq = message.first(HeaderId::CSeq);
  if (!detail::parseCSeqGeneral(buffer, cseq->value, summary.cseq)) {
    return invalid(ScanError::BadCSeq, cseq->value.offset);
  }
  if (message.isRequest() &&
      summary.cseq.method_token.view(p) != message.method_token.view(p)) {
    return invalid(ScanError::CSeqMethodMismatch, summary.cseq.method_token.offset);
  }
  ViaCursor vias(buffer, message);
  summary.via_count = 0;
  if (vias.next(summary.top_via)) {
    summary.via_count = 1;
    ViaEntry entry;
    while (vias.next(summary.via_count == 1 ? summary.second_via : entry)) {
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
  if (!detail::parseNameAddrGeneral(buffer, from->value.offset, from->value.end(), addr)) {
    return invalid(ScanError::BadFrom, from->value.offset);
  }
  summary.from_tag = addr.tag;
  summary.from_uri = addr.uri;
  const HeaderField* to = message.first(HeaderId::To);
  if (!detail::parseNameAddrGeneral(buffer, to->value.offset, to->value.end(), addr)) {
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

void expectSameValidate(const std::string& s) {
  std::vector<char> bytes(s.begin(), s.end());
  ByteView buffer(bytes.data(), bytes.size());
  ParsedMessage<kDefaultHeaderCapacity> parsed;
  ScanResult scanned = scan(buffer, parsed.message);
  if (scanned.status != ScanStatus::Complete) {
    return;
  }
  SipSummary fast;
  SipSummary reference;
  ScanResult got = validate(buffer, parsed.message, fast);
  ScanResult want = referenceValidate(buffer, parsed.message, reference);
  ASSERT_EQ(got.status, want.status) << s;
  ASSERT_EQ(got.error, want.error) << s;
  ASSERT_EQ(got.error_offset, want.error_offset) << s;
  if (got.status != ScanStatus::Complete) {
    return;
  }
  EXPECT_TRUE(same(fast.call_id, reference.call_id)) << s;
  EXPECT_EQ(fast.cseq.number, reference.cseq.number) << s;
  EXPECT_EQ(fast.cseq.method, reference.cseq.method) << s;
  EXPECT_TRUE(same(fast.cseq.method_token, reference.cseq.method_token)) << s;
  EXPECT_TRUE(same(fast.top_via.whole, reference.top_via.whole)) << s;
  EXPECT_TRUE(same(fast.top_via.host, reference.top_via.host)) << s;
  EXPECT_TRUE(same(fast.top_via.branch, reference.top_via.branch)) << s;
  EXPECT_EQ(fast.top_via.port, reference.top_via.port) << s;
  EXPECT_EQ(fast.top_via.rport, reference.top_via.rport) << s;
  EXPECT_EQ(fast.via_count, reference.via_count) << s;
  if (reference.via_count >= 2) {
    EXPECT_TRUE(same(fast.second_via.whole, reference.second_via.whole)) << s;
    EXPECT_TRUE(same(fast.second_via.host, reference.second_via.host)) << s;
    EXPECT_TRUE(same(fast.second_via.branch, reference.second_via.branch)) << s;
    EXPECT_TRUE(same(fast.second_via.received, reference.second_via.received)) << s;
    EXPECT_EQ(fast.second_via.port, reference.second_via.port) << s;
    EXPECT_EQ(fast.second_via.rport, reference.second_via.rport) << s;
  }
  EXPECT_TRUE(same(fast.from_tag, reference.from_tag)) << s;
  EXPECT_TRUE(same(fast.to_tag, reference.to_tag)) << s;
  EXPECT_TRUE(same(fast.from_uri, reference.from_uri)) << s;
  EXPECT_TRUE(same(fast.to_uri, reference.to_uri)) << s;
  EXPECT_EQ(fast.max_forwards, reference.max_forwards) << s;
}

// validate() on every corpus message and on random mutations of their header blocks gives
// the reference's verdict, offset and summary.
TEST(ValidateFastPath, MatchesReferenceOnCorpusMutations) {
  std::vector<std::string> seeds;
  for (const char* name : testing::kCorpusNames) {
    seeds.push_back(testing::readFile(testing::corpusPath(name)));
    ASSERT_FALSE(seeds.back().empty()) << name;
  }
  int complete = 0;
  for (const std::string& seed : seeds) {
    expectSameValidate(seed);
    testing::Scanned scanned;
    complete += scanned.run(seed).status == ScanStatus::Complete ? 1 : 0;
  }
  EXPECT_EQ(complete, static_cast<int>(seeds.size()));
  std::mt19937 rng(31);
  const std::string alphabet = "aZ09-.:;=,<>[]\"\\ \t@/!_";
  for (int iteration = 0; iteration < 30000; ++iteration) {
    std::string s = seeds[rng() % seeds.size()];
    size_t head = s.find("\r\n\r\n");
    std::string header_block = mutate(s.substr(0, head), rng, alphabet);
    expectSameValidate(header_block + s.substr(head));
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

}  // namespace
}  // namespace sipshield::parser
