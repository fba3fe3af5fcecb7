#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "parser/cseq.h"
#include "parser/method.h"
#include "parser/name_addr.h"
#include "parser/numbers.h"
#include "parser/uri.h"
#include "parser/via.h"
#include "tests/parser/test_util.h"

namespace sipshield::parser {
namespace {

using testing::corpusPath;
using testing::mutate;
using testing::readFile;
using testing::Scanned;

Span whole(const std::string& s) { return {0, static_cast<uint32_t>(s.size())}; }

struct ViaRow {
  const char* description;
  const char* input;
  bool ok;
  const char* transport;
  const char* host;
  uint16_t port;
  const char* branch;
  const char* received;
  bool has_rport;
  int32_t rport;
  const char* ttl;
  const char* maddr;
};

const ViaRow kVias[] = {
    {"plain", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", true, "UDP", "192.0.2.1", 5060,
     "z9hG4bK1", "", false, -1, "", ""},
    {"rport flag", "SIP/2.0/UDP h.example;rport;branch=z9hG4bK2", true, "UDP", "h.example", 0,
     "z9hG4bK2", "", true, -1, "", ""},
    {"rport value and received", "SIP/2.0/UDP 10.0.0.1:5062;received=192.0.2.88;rport=41834",
     true, "UDP", "10.0.0.1", 5062, "", "192.0.2.88", true, 41834, "", ""},
    {"IPv6 reference", "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK3", true, "TCP",
     "[2001:db8::1]", 5061, "z9hG4bK3", "", false, -1, "", ""},
    {"IPv6 received without brackets", "SIP/2.0/UDP [::1];received=2001:db8::9;rport=1", true,
     "UDP", "[::1]", 0, "", "2001:db8::9", true, 1, "", ""},
    {"spaces everywhere", "SIP / 2.0 / UDP  h : 7 ; branch = z9hG4bK4 ; ttl = 3 ; maddr=m.example",
     true, "UDP", "h", 7, "z9hG4bK4", "", false, -1, "3", "m.example"},
    {"case-insensitive names", "SIP/2.0/udp h;BRANCH=z9hG4bK5;RPort", true, "udp", "h", 0,
     "z9hG4bK5", "", true, -1, "", ""},
    {"unknown params kept", "SIP/2.0/WSS x.invalid;alias;keep=30;branch=z9hG4bK6", true, "WSS",
     "x.invalid", 0, "z9hG4bK6", "", false, -1, "", ""},
    {"no host", "SIP/2.0/UDP ;branch=1", false, "", "", 0, "", "", false, -1, "", ""},
    {"no space before host", "SIP/2.0/UDPh", false, "", "", 0, "", "", false, -1, "", ""},
    {"bad port", "SIP/2.0/UDP h:99999", false, "", "", 0, "", "", false, -1, "", ""},
    {"empty port", "SIP/2.0/UDP h:", false, "", "", 0, "", "", false, -1, "", ""},
    {"bad rport", "SIP/2.0/UDP h;rport=abc", false, "", "", 0, "", "", false, -1, "", ""},
    {"ttl over 255", "SIP/2.0/UDP h;ttl=300", false, "", "", 0, "", "", false, -1, "", ""},
    {"missing transport", "SIP/2.0 h", false, "", "", 0, "", "", false, -1, "", ""},
    {"garbage after host", "SIP/2.0/UDP h x", false, "", "", 0, "", "", false, -1, "", ""},
    {"empty param name", "SIP/2.0/UDP h;=1", false, "", "", 0, "", "", false, -1, "", ""},
};

class ViaTest : public ::testing::TestWithParam<ViaRow> {};

TEST_P(ViaTest, Parses) {
  const ViaRow& row = GetParam();
  std::string s = row.input;
  ViaEntry v;
  uint32_t stop = 0;
  bool ok = parseViaParm(ByteView(s), 0, static_cast<uint32_t>(s.size()), v, &stop);
  ASSERT_EQ(ok, row.ok) << row.description << " stop " << stop;
  if (!ok) {
    return;
  }
  const char* b = s.data();
  EXPECT_EQ(v.transport.view(b), row.transport) << row.description;
  EXPECT_EQ(v.host.view(b), row.host) << row.description;
  EXPECT_EQ(v.port, row.port) << row.description;
  EXPECT_EQ(v.branch.view(b), row.branch) << row.description;
  EXPECT_EQ(v.received.view(b), row.received) << row.description;
  EXPECT_EQ(v.has_rport, row.has_rport) << row.description;
  EXPECT_EQ(v.rport, row.rport) << row.description;
  EXPECT_EQ(v.ttl.view(b), row.ttl) << row.description;
  EXPECT_EQ(v.maddr.view(b), row.maddr) << row.description;
  EXPECT_EQ(v.whole.view(b), std::string_view(s).substr(0, v.whole.length));
  EXPECT_EQ(stop, s.size());
}

INSTANTIATE_TEST_SUITE_P(Via, ViaTest, ::testing::ValuesIn(kVias));

// Comma-joined via-parms and separate Via lines are walked in order (RFC 3261 §7.3.1).
TEST(ViaCursor, WalksCommaListsAcrossLines) {
  std::string bytes = readFile(corpusPath("16_486_multivia_line.sip"));
  Scanned s;
  ASSERT_TRUE(s.run(bytes).ok());
  ViaCursor cursor(ByteView(bytes), s.msg());
  ViaEntry v;
  std::vector<std::string> branches;
  std::vector<std::string> wholes;
  while (cursor.next(v)) {
    branches.emplace_back(v.branch.view(bytes.data()));
    wholes.emplace_back(v.whole.view(bytes.data()));
  }
  EXPECT_FALSE(cursor.failed());
  EXPECT_EQ(branches, (std::vector<std::string>{"z9hG4bK0d5e.77a1f3c2", "z9hG4bK5a2d91f.3",
                                                "z9hG4bK1402885917"}));
  EXPECT_EQ(wholes[0], "SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK0d5e.77a1f3c2");
  EXPECT_EQ(wholes[2],
            "SIP/2.0/UDP 10.20.30.51:5060;received=192.0.2.140;rport=61022;"
            "branch=z9hG4bK1402885917");

  std::string invite = readFile(corpusPath("01_invite_sdp.sip"));
  Scanned i;
  ASSERT_TRUE(i.run(invite).ok());
  ViaCursor lines(ByteView(invite), i.msg());
  int count = 0;
  while (lines.next(v)) {
    ++count;
    EXPECT_EQ(lines.headerIndex(), count - 1);
  }
  EXPECT_EQ(count, 3);
}

TEST(ViaCursor, FoldedVia) {
  std::string bytes = readFile(corpusPath("15_folded_subscribe.sip"));
  Scanned s;
  ASSERT_TRUE(s.run(bytes).ok());
  EXPECT_EQ(s.summary.top_via.branch.view(bytes.data()), "z9hG4bK74bf9.a1");
  EXPECT_TRUE(s.summary.top_via.has_rport);
}

struct NameAddrRow {
  const char* description;
  const char* input;
  bool ok;
  const char* display;
  const char* uri;
  const char* tag;
  bool angle;
};

const NameAddrRow kNameAddrs[] = {
    {"quoted display", "\"Marta Ilves\" <sip:marta@v.example>;tag=9fx", true, "Marta Ilves",
     "sip:marta@v.example", "9fx", true},
    {"quoted display no space", "\"sipvicious\"<sip:100@1.1.1.1>;tag=36", true, "sipvicious",
     "sip:100@1.1.1.1", "36", true},
    {"token display", "Bob Smith <sip:bob@b.example>", true, "Bob Smith", "sip:bob@b.example",
     "", true},
    {"no display", "<sip:+1415@h.example;user=phone>;tag=a;x=y", true, "",
     "sip:+1415@h.example;user=phone", "a", true},
    {"addr-spec with tag", "sip:ops@carrier.example;tag=t1", true, "", "sip:ops@carrier.example",
     "t1", false},
    {"escaped quote in display", "\"a \\\"b\\\"\" <sip:x@y>", true, "a \\\"b\\\"", "sip:x@y", "",
     true},
    {"TAG upper case", "<sip:x@y>;TAG=Q1", true, "", "sip:x@y", "Q1", true},
    {"unterminated quote", "\"abc <sip:x@y>", false, "", "", "", false},
    {"unterminated angle", "<sip:x@y;tag=1", false, "", "", "", false},
    {"empty uri", "<>", false, "", "", "", false},
    {"empty", "   ", false, "", "", "", false},
    {"junk after uri", "<sip:x@y> junk", false, "", "", "", false},
};

class NameAddrTest : public ::testing::TestWithParam<NameAddrRow> {};

TEST_P(NameAddrTest, Parses) {
  const NameAddrRow& row = GetParam();
  std::string s = row.input;
  NameAddr a;
  bool ok = parseNameAddr(ByteView(s), whole(s), a);
  ASSERT_EQ(ok, row.ok) << row.description;
  if (!ok) {
    return;
  }
  EXPECT_EQ(a.display_name.view(s.data()), row.display) << row.description;
  EXPECT_EQ(a.uri.view(s.data()), row.uri) << row.description;
  EXPECT_EQ(a.tag.view(s.data()), row.tag) << row.description;
  EXPECT_EQ(a.angle_brackets, row.angle) << row.description;
}

INSTANTIATE_TEST_SUITE_P(NameAddr, NameAddrTest, ::testing::ValuesIn(kNameAddrs));

bool sameSpan(Span a, Span b) { return a.offset == b.offset && a.length == b.length; }

// expectNameAddrLikeReference parses `value` placed after `before` and followed by `after` in
// one exact-size buffer (so ASan sees any read past its end), with parseNameAddr and the
// reference, and wants the same bool and the same fields, whatever the result. The bytes
// after the value are what the common-shape path may read but must never act on.
void expectNameAddrLikeReference(const std::string& before, const std::string& value,
                                 const std::string& after) {
  const std::string whole_text = before + value + after;
  std::vector<char> bytes(whole_text.begin(), whole_text.end());
  ByteView buffer(bytes.data(), bytes.size());
  const auto begin = static_cast<uint32_t>(before.size());
  const auto end = static_cast<uint32_t>(before.size() + value.size());
  NameAddr fast;
  NameAddr reference;
  const bool fast_ok = parseNameAddr(buffer, begin, end, fast);
  const bool reference_ok = detail::parseNameAddrGeneral(buffer, begin, end, reference);
  const std::string shown = value + " | followed by " + std::to_string(after.size());
  ASSERT_EQ(fast_ok, reference_ok) << shown;
  EXPECT_TRUE(sameSpan(fast.display_name, reference.display_name)) << shown;
  EXPECT_TRUE(sameSpan(fast.uri, reference.uri)) << shown;
  EXPECT_TRUE(sameSpan(fast.params, reference.params)) << shown;
  EXPECT_TRUE(sameSpan(fast.tag, reference.tag)) << shown;
  EXPECT_EQ(fast.angle_brackets, reference.angle_brackets) << shown;
}

// The common From/To shapes ("display" <uri>, <uri>, each with ;tag= first) and their near
// misses (LWS around separators, escapes, quoted, empty or odd tags, other parameters first,
// malformed values) give the reference's answer, with nothing, a CRLF, a next header or
// bytes that would mislead a search (">", ";", '"', ",", control bytes) after the value.
TEST(NameAddrCommonShapes, MatchReferenceWhateverFollows) {
  const std::vector<std::string> values = {
      "\"Marta Ilves\" <sip:marta@voice.kestrel.example>;tag=9fxced76sl",
      "\"sipvicious\"<sip:100@1.1.1.1>;tag=3635623362316465313363340131353834383738323935",
      "<sip:+14155550142@sip.harborline.example>",
      "<sip:2047@pbx.harborline.example>;tag=as71c2d0aa",
      "<sip:a@b>",
      "\"\" <sip:a@b>",
      "\"Desk\"  <sip:a@b>;tag=x",
      "\"Desk\"\r\n\t<sip:a@b>;tag=x",
      "\"Desk\"\t<sip:a@b>;tag=x",
      "\"a\\\"b\" <sip:a@b>;tag=1",
      "\"a\\\\\" <sip:a@b>;tag=1",
      "\"unterminated <sip:a@b>",
      "\"x\" sip:a@b",
      "\"x\"",
      "<sip:a@b>;tag=",
      "<sip:a@b>;tag=\"q\"",
      "<sip:a@b>;tag=\"q",
      "<sip:a@b>;TaG=x;foo=bar",
      "<sip:a@b>;tag=x,<sip:c@d>",
      "<sip:a@b>;tag=a b",
      std::string("<sip:a@b>;tag=a\x01") + "b",
      std::string("<sip:a@b>;tag=a\0b", 16),
      "<sip:a@b>;tag=a\tb",
      "<sip:a@b>;tag=x ",
      "<sip:a@b>;tag=x\r\n ",
      "<sip:a@b>;foo=1;tag=x",
      "<sip:a@b>;tagx=1",
      "<sip:a@b>;tag",
      "<sip:a@b>;ta",
      "<sip:a@b>;",
      "<sip:a@b> ;tag=x",
      "<sip:a@b> ",
      "<sip:a@b>x",
      "<sip:a@b>>",
      "<sip:a@b;lr>;tag=" + std::string(40, 't'),
      "<" + std::string(47, 'u') + ">;tag=" + std::string(33, 't') + ";x",
      "<>",
      "<",
      "\"",
      " <sip:a@b>",
      "sip:a@b;tag=1",
      "sip:a@b",
      "sip:a@b,c;tag=1",
      "sip:a@b ;tag=x",
      "sip:a@b;foo;tag=x",
      ";tag=x",
      "Bob <sip:b@c>;tag=2",
      "Bob Smith \t<sip:b@c>",
      "Doe, John <sip:j@x>",
      "Bob",
      "<sip:a@b>;tag",
      "<sip:a@b>;TAG = x",
      "<sip:a@b>;x=\"a;tag=b\";tag=c",
      "<sip:a@b>;epid=1a2b;tag=c3",
  };
  const std::vector<std::string> afters = {
      "",
      "\r",
      "\r\n",
      "\r\nTo: <sip:x@y>;tag=z\r\n\r\n",
      "=x\"tag;\r\nCall-ID: 1\r\n\r\n",
      std::string(">>>>;;;;\"\"\"\",,,,\t\t  \x01\x01;tag=zz>\\\\", 32),
  };
  for (const std::string& value : values) {
    for (const std::string& after : afters) {
      for (const std::string& before : {std::string(), std::string("From: ")}) {
        expectNameAddrLikeReference(before, value, after);
        if (::testing::Test::HasFatalFailure()) {
          return;
        }
      }
    }
    // Every length of what follows around the 16 bytes a step may read past the value.
    for (size_t length = 0; length <= 20; ++length) {
      expectNameAddrLikeReference("", value, afters.back().substr(0, length));
      expectNameAddrLikeReference("", value, std::string(length, '>'));
      if (::testing::Test::HasFatalFailure()) {
        return;
      }
    }
  }
  const std::vector<std::string> seeds = {
      values[0],
      values[1],
      values[2],
      values[3],
      "Bob Smith <sip:bob@biloxi.example.com>;tag=a6c85cf",
      "sip:alice@atlanta.example.com;tag=1928301774",
      "<sip:alice@atlanta.example.com>;epid=1a2b;tag=1928301774",
      "\"A\\\"B\" <sip:alice@atlanta.example.com>;tag=19",
  };
  std::mt19937 rng(41);
  for (int iteration = 0; iteration < 60000; ++iteration) {
    std::string value = mutate(seeds[rng() % seeds.size()], rng, "aZ0<>;=,\"\\ \t\r\n@:\x01");
    if (rng() % 4 == 0) {  // long values cross the 16-byte steps at every offset
      value.insert(rng() % (value.size() + 1), std::string(rng() % 40, 'x'));
    }
    std::string after = afters[rng() % afters.size()];
    after.resize(rng() % (after.size() + 1));
    expectNameAddrLikeReference("", value, after);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

// expectCSeqLikeReference parses `value` followed by `after` in an exact-size buffer with
// parseCSeq and the general grammar: the same bool and fields, and on false `out` untouched.
void expectCSeqLikeReference(const std::string& value, const std::string& after) {
  const std::string whole_text = value + after;
  std::vector<char> bytes(whole_text.begin(), whole_text.end());
  ByteView buffer(bytes.data(), bytes.size());
  const Span span{0, static_cast<uint32_t>(value.size())};
  CSeq fast{12345, Method::Info, {7, 9}};
  CSeq reference = fast;
  const bool fast_ok = parseCSeq(buffer, span, fast);
  const bool reference_ok = detail::parseCSeqGeneral(buffer, span, reference);
  ASSERT_EQ(fast_ok, reference_ok) << value << " | followed by " << after.size();
  EXPECT_EQ(fast.number, reference.number) << value;
  EXPECT_EQ(fast.method, reference.method) << value;
  EXPECT_TRUE(sameSpan(fast.method_token, reference.method_token)) << value;
}

// Every known method (the fast path matches them by table) and near misses, after numbers of
// every length the fast path takes (1..8 digits) or leaves to the grammar, with separators
// and trailing bytes that must not count; values both at the end of the buffer (read through
// a padded copy) and followed by more bytes.
TEST(CSeqFastPath, KnownMethodsAndNumbersMatchGrammar) {
  std::vector<std::string> methods;
  for (int m = 0; m < static_cast<int>(Method::Other); ++m) {
    const std::string name(methodName(static_cast<Method>(m)));
    methods.push_back(name);
    methods.push_back(name.substr(0, name.size() - 1));
    methods.push_back(name + "S");
    std::string lower = name;
    lower[0] = static_cast<char>(lower[0] | 0x20);
    methods.push_back(lower);
    std::string last_changed = name;
    last_changed.back() = '-';
    methods.push_back(last_changed);
  }
  for (const char* other : {"FOO", "X", "A.B", "SUBSCRIBEXYZABCD", "SUBSCRIBEXYZABCDE", "B(E",
                            "INVITE\x01", "@", "`", ""}) {
    methods.emplace_back(other);
  }
  const char* numbers[] = {"0",          "7",        "20",          "999",
                           "1234567",    "12345678", "123456789",   "2147483647",
                           "2147483648", "0000001",  "00000000001", ""};
  const char* separators[] = {" ", "  ", "\t", ""};
  const std::string afters[] = {"", "\r\n", "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                                " INVITE \x01\xff"};
  for (const std::string& method : methods) {
    for (const char* number : numbers) {
      for (const char* separator : separators) {
        for (const std::string& after : afters) {
          expectCSeqLikeReference(number + std::string(separator) + method, after);
          expectCSeqLikeReference(number + std::string(separator) + method + " ", after);
          if (::testing::Test::HasFatalFailure()) {
            return;
          }
        }
      }
    }
  }
}

// The word-at-a-time conversion gives every 1..8-digit number (leading zeros included).
TEST(CSeqFastPath, ConvertsEveryNumberLength) {
  std::mt19937 rng(43);
  const std::string tail = " ACK\r\nCall-ID: x\r\n\r\n";
  for (int iteration = 0; iteration < 200000; ++iteration) {
    const int digits = 1 + static_cast<int>(rng() % 8);
    std::string number;
    uint32_t want = 0;
    for (int i = 0; i < digits; ++i) {
      const auto digit = static_cast<uint32_t>(rng() % 10);
      number.push_back(static_cast<char>('0' + digit));
      want = want * 10 + digit;
    }
    const std::string text = number + tail;
    CSeq c;
    ASSERT_TRUE(parseCSeq(ByteView(text), Span{0, static_cast<uint32_t>(number.size() + 4)}, c))
        << number;
    ASSERT_EQ(c.number, want) << number;
    ASSERT_EQ(c.method, Method::Ack) << number;
  }
}

TEST(ListElements, CommasInsideQuotesAndAnglesDoNotSplit) {
  std::string s = "\"Doe, John\" <sip:j@x;a=1,2>, <sip:k@y> ,sip:z@w";
  uint32_t pos = 0;
  Span e;
  std::vector<std::string> elements;
  while (nextListElement(ByteView(s), static_cast<uint32_t>(s.size()), &pos, e)) {
    elements.emplace_back(e.view(s.data()));
  }
  EXPECT_EQ(elements,
            (std::vector<std::string>{"\"Doe, John\" <sip:j@x;a=1,2>", "<sip:k@y>", "sip:z@w"}));
}

struct UriRow {
  const char* input;
  bool ok;
  const char* scheme;
  const char* user;
  const char* host;
  uint16_t port;
  const char* params;
  const char* headers;
};

const UriRow kUris[] = {
    {"sip:4155550142@203.0.113.45:5060", true, "sip", "4155550142", "203.0.113.45", 5060, "", ""},
    {"sips:alice:secret@example.com;transport=tls?subject=x", true, "sips", "alice",
     "example.com", 0, ";transport=tls", "subject=x"},
    {"sip:[2001:db8::20]:5060;transport=udp", true, "sip", "", "[2001:db8::20]", 5060,
     ";transport=udp", ""},
    {"sip:203.0.113.41;lr;ftag=9fx", true, "sip", "", "203.0.113.41", 0, ";lr;ftag=9fx", ""},
    {"SIP:Bob@EXAMPLE.com", true, "SIP", "Bob", "EXAMPLE.com", 0, "", ""},
    {"tel:+14155550142", true, "tel", "", "", 0, "", ""},
    {"sip:", false, "", "", "", 0, "", ""},
    {"sip:a@", false, "", "", "", 0, "", ""},
    {"sip:h:99999", false, "", "", "", 0, "", ""},
    {"nocolon", false, "", "", "", 0, "", ""},
    {"sip:[::1", false, "", "", "", 0, "", ""},
};

TEST(Uri, Table) {
  for (const UriRow& row : kUris) {
    std::string s = row.input;
    SipUri u;
    bool ok = parseUri(ByteView(s), whole(s), u);
    ASSERT_EQ(ok, row.ok) << row.input;
    if (!ok) {
      continue;
    }
    EXPECT_EQ(u.scheme.view(s.data()), row.scheme) << row.input;
    EXPECT_EQ(u.user.view(s.data()), row.user) << row.input;
    EXPECT_EQ(u.host.view(s.data()), row.host) << row.input;
    EXPECT_EQ(u.port, row.port) << row.input;
    EXPECT_EQ(u.params.view(s.data()), row.params) << row.input;
    EXPECT_EQ(u.headers.view(s.data()), row.headers) << row.input;
  }
}

TEST(CSeq, Table) {
  struct Row {
    const char* input;
    bool ok;
    uint32_t number;
    Method method;
  } rows[] = {
      {"20 INVITE", true, 20, Method::Invite},
      {"  101   SUBSCRIBE ", true, 101, Method::Subscribe},
      {"2147483647 BYE", true, 2147483647u, Method::Bye},
      {"1 FOO", true, 1, Method::Other},
      {"2147483648 BYE", false, 0, Method::Other},
      {"99999999999999999999 BYE", false, 0, Method::Other},
      {"BYE", false, 0, Method::Other},
      {"12BYE", false, 0, Method::Other},
      {"1 BYE extra", false, 0, Method::Other},
      {"-1 BYE", false, 0, Method::Other},
  };
  for (const Row& row : rows) {
    std::string s = row.input;
    CSeq c;
    ASSERT_EQ(parseCSeq(ByteView(s), whole(s), c), row.ok) << row.input;
    if (row.ok) {
      EXPECT_EQ(c.number, row.number) << row.input;
      EXPECT_EQ(c.method, row.method) << row.input;
    }
  }
}

TEST(Numbers, DecimalIsOverflowSafe) {
  struct Row {
    const char* input;
    uint64_t max;
    bool ok;
    uint64_t value;
  } rows[] = {
      {"0", 10, true, 0},
      {"70", 255, true, 70},
      {"255", 255, true, 255},
      {"256", 255, false, 0},
      {"18446744073709551615", UINT64_MAX, true, UINT64_MAX},
      {"18446744073709551616", UINT64_MAX, false, 0},
      {"000000000000000000000000012", 100, true, 12},
      {"5", 0, false, 0},
      {"", 10, false, 0},
      {"1 ", 10, false, 0},
      {"+1", 10, false, 0},
  };
  for (const Row& row : rows) {
    std::string s = row.input;
    uint64_t v = 0;
    ASSERT_EQ(parseDecimal(ByteView(s), whole(s), row.max, v), row.ok) << row.input;
    if (row.ok) {
      EXPECT_EQ(v, row.value) << row.input;
    }
  }
}

TEST(Params, FindParam) {
  std::string s = ";lr;ftag=9fx; TRANSPORT = tcp;q=\"a;b\"";
  Span v;
  ASSERT_TRUE(findParam(ByteView(s), whole(s), "lr", v));
  EXPECT_TRUE(v.empty());
  ASSERT_TRUE(findParam(ByteView(s), whole(s), "transport", v));
  EXPECT_EQ(v.view(s.data()), "tcp");
  ASSERT_TRUE(findParam(ByteView(s), whole(s), "q", v));
  EXPECT_EQ(v.view(s.data()), "a;b");
  EXPECT_FALSE(findParam(ByteView(s), whole(s), "tag", v));
}

}  // namespace
}  // namespace sipshield::parser
