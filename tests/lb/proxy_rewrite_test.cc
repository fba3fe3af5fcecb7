// Unit tests of the byte-level stateless-proxy rewrite (lb/message_editor, lb/proxy_rewrite):
// RFC 3261 §16.6 (Via, Max-Forwards, Record-Route), §16.4 (Route pop), §16.11 (response Via
// pop), §18.2.1 and RFC 3581 §4 (received, rport). Expected bytes are written out in full.

#include "lb/proxy_rewrite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "lb/message_editor.h"
#include "parser/validate.h"

namespace sipshield::lb {
namespace {

using parser::ByteView;
using parser::Span;

// Parsed keeps a message and its scan alive for a test row.
struct Parsed {
  std::string bytes;
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  parser::ScanResult result;

  explicit Parsed(std::string b) : bytes(std::move(b)) {
    result = parser::scanAndValidate(in(), parsed.message, summary);
  }
  [[nodiscard]] ByteView in() const { return ByteView(bytes); }
  [[nodiscard]] const parser::SipMessage& msg() const { return parsed.message; }
  [[nodiscard]] std::string text(Span s) const { return bytes.substr(s.offset, s.length); }
};

std::string edited(MessageEditor& editor, std::string_view input, size_t capacity = 4096) {
  std::string out(capacity, '\0');
  const size_t n = editor.write(ByteView(input), reinterpret_cast<uint8_t*>(out.data()), capacity);
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MessageEditor

TEST(MessageEditor, EditsApplyInOffsetOrder) {
  const std::string input = "0123456789";
  struct Edit {
    uint32_t offset;
    uint32_t remove;
    const char* text;
  };
  const struct {
    const char* desc;
    std::vector<Edit> edits;
    std::string expected;  // empty: write() must fail
  } rows[] = {
      {"no edit copies", {}, "0123456789"},
      {"insert at start", {{0, 0, "ab"}}, "ab0123456789"},
      {"insert at end", {{10, 0, "ab"}}, "0123456789ab"},
      {"replace in the middle", {{3, 2, "xyz"}}, "012xyz56789"},
      {"remove", {{3, 2, ""}}, "01256789"},
      {"edits added out of order", {{8, 1, "E"}, {1, 1, "B"}, {4, 0, "+"}}, "0B23+4567E9"},
      {"inserts at one offset keep their order", {{2, 0, "a"}, {2, 0, "b"}, {2, 0, "c"}},
       "01abc23456789"},
      {"replace then insert right after it", {{2, 3, "R"}, {5, 0, "I"}}, "01RI56789"},
      {"overlapping edits fail", {{2, 3, "x"}, {4, 1, "y"}}, ""},
      {"edit past the end fails", {{8, 3, "x"}}, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.desc);
    MessageEditor editor;
    for (const Edit& e : r.edits) {
      ASSERT_TRUE(editor.replace(e.offset, e.remove, e.text));
    }
    EXPECT_EQ(edited(editor, input), r.expected);
  }
}

// remove() (an edit whose text is an empty, null std::string_view) cuts bytes.
// BUG (fails under UBSan with halt_on_error=1, as scripts/test runs it): MessageEditor::write
// (lb/message_editor.cc:30, the `copy` lambda) calls memcpy(out + written, e.text.data(), 0)
// with e.text.data() == nullptr for every remove(), which is undefined behaviour ("null pointer
// passed as argument 2"). Every forwarded response (rewriteResponse) and Route pop hits it.
TEST(MessageEditor, RemoveSpan) {
  const std::string input = "0123456789";
  MessageEditor editor;
  ASSERT_TRUE(editor.remove(parser::Span{2, 3}));
  ASSERT_TRUE(editor.remove(parser::Span{8, 2}));
  EXPECT_EQ(edited(editor, input), "01567");
}

TEST(MessageEditor, CapacityAndTableLimits) {
  const std::string input = "0123456789";
  MessageEditor editor;
  ASSERT_TRUE(editor.insert(5, "abc"));
  EXPECT_EQ(edited(editor, input, 13), "01234abc56789") << "exactly fits";
  EXPECT_EQ(edited(editor, input, 12), "") << "one byte short";
  editor.clear();
  EXPECT_EQ(edited(editor, input), input) << "clear() forgets the edits";
  for (int i = 0; i < MessageEditor::kMaxEdits; ++i) {
    ASSERT_TRUE(editor.insert(static_cast<uint32_t>(i % 10), "x"));
  }
  EXPECT_FALSE(editor.insert(0, "y")) << "the table is full";
  EXPECT_EQ(edited(editor, input).size(), input.size() + MessageEditor::kMaxEdits);
}

// ---------------------------------------------------------------------------------------------
// headerLine, the Route set (leadingRoutes, routeCuts), topViaRemoval

TEST(ProxyRewrite, HeaderLineCoversContinuationLines) {
  Parsed p(
      "OPTIONS sip:a@192.0.2.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.9\r\n"
      "  ;branch=z9hG4bK1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:b@192.0.2.9>;tag=1\r\n"
      "To: <sip:a@192.0.2.1>\r\n"
      "Call-ID: c1\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(p.result.ok());
  EXPECT_EQ(p.text(headerLine(p.in(), *p.msg().first(parser::HeaderId::Via))),
            "Via: SIP/2.0/UDP 192.0.2.9\r\n  ;branch=z9hG4bK1\r\n");
  EXPECT_EQ(p.text(headerLine(p.in(), *p.msg().first(parser::HeaderId::CallId))),
            "Call-ID: c1\r\n");
  EXPECT_EQ(p.text(headerLine(p.in(), *p.msg().first(parser::HeaderId::ContentLength))),
            "Content-Length: 0\r\n");
}

std::string request(const std::string& route_lines) {
  return "BYE sip:a@198.51.100.7:5070 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n"
         "Max-Forwards: 70\r\n" + route_lines +
         "From: <sip:b@192.0.2.9>;tag=1\r\n"
         "To: <sip:a@198.51.100.7>;tag=2\r\n"
         "Call-ID: c1\r\n"
         "CSeq: 2 BYE\r\n"
         "Content-Length: 0\r\n\r\n";
}

// The cuts that pop the first `pop` Route elements, as the pipeline computes them.
std::vector<std::string> popCuts(const Parsed& p, size_t pop, std::vector<std::string>* uris) {
  RouteElement routes[4];
  const size_t listed = leadingRoutes(p.in(), p.msg(), routes);
  if (uris != nullptr) {
    for (size_t i = 0; i < listed; ++i) {
      uris->push_back(p.text(routes[i].uri));
    }
  }
  Span cuts[4];
  const size_t n = routeCuts(p.in(), p.msg(),
                             std::span<const RouteElement>(routes, std::min(pop, listed)), cuts);
  std::vector<std::string> texts;
  for (size_t i = 0; i < n; ++i) {
    texts.push_back(p.text(cuts[i]));
  }
  return texts;
}

TEST(RouteSet, LeadingRoutesAndTheirCuts) {
  const struct {
    const char* desc;
    std::string routes;
    size_t pop;
    std::vector<std::string> uris;  // every element leadingRoutes lists (up to 4)
    std::vector<std::string> cuts;
  } rows[] = {
      {"no Route", "", 1, {}, {}},
      {"one element: the whole line", "Route: <sip:192.0.2.10:5060;lr>\r\n", 1,
       {"sip:192.0.2.10:5060;lr"}, {"Route: <sip:192.0.2.10:5060;lr>\r\n"}},
      {"two elements: element, comma and space",
       "Route: <sip:192.0.2.10;lr>, <sip:198.51.100.7;lr>\r\n", 1,
       {"sip:192.0.2.10;lr", "sip:198.51.100.7;lr"}, {"<sip:192.0.2.10;lr>, "}},
      {"two elements without space", "Route: <sip:192.0.2.10;lr>,<sip:198.51.100.7;lr>\r\n", 1,
       {"sip:192.0.2.10;lr", "sip:198.51.100.7;lr"}, {"<sip:192.0.2.10;lr>,"}},
      {"display name and comma inside quotes",
       "Route: \"a, b\" <sip:192.0.2.10;lr>, <sip:198.51.100.7;lr>\r\n", 1,
       {"sip:192.0.2.10;lr", "sip:198.51.100.7;lr"}, {"\"a, b\" <sip:192.0.2.10;lr>, "}},
      {"two lines: only the first line",
       "Route: <sip:192.0.2.10;lr>\r\nRoute: <sip:x.example;lr>\r\n", 1,
       {"sip:192.0.2.10;lr", "sip:x.example;lr"}, {"Route: <sip:192.0.2.10;lr>\r\n"}},
      // Double record-routing (RFC 5658): both of our elements go.
      {"two of three joined elements",
       "Route: <sip:192.0.2.10;lr>, <sip:10.0.0.1;lr>, <sip:x;lr>\r\n", 2,
       {"sip:192.0.2.10;lr", "sip:10.0.0.1;lr", "sip:x;lr"},
       {"<sip:192.0.2.10;lr>, <sip:10.0.0.1;lr>, "}},
      {"both joined elements: the whole line",
       "Route: <sip:192.0.2.10;lr>, <sip:10.0.0.1;lr>\r\nRoute: <sip:x;lr>\r\n", 2,
       {"sip:192.0.2.10;lr", "sip:10.0.0.1;lr", "sip:x;lr"},
       {"Route: <sip:192.0.2.10;lr>, <sip:10.0.0.1;lr>\r\n"}},
      {"one per line: two whole lines",
       "Route: <sip:192.0.2.10;lr>\r\nRoute: <sip:10.0.0.1;lr>\r\nRoute: <sip:x;lr>\r\n", 2,
       {"sip:192.0.2.10;lr", "sip:10.0.0.1;lr", "sip:x;lr"},
       {"Route: <sip:192.0.2.10;lr>\r\n", "Route: <sip:10.0.0.1;lr>\r\n"}},
      {"a whole line, then the first element of the next",
       "Route: <sip:192.0.2.10;lr>\r\nRoute: <sip:10.0.0.1;lr>, <sip:x;lr>\r\n", 2,
       {"sip:192.0.2.10;lr", "sip:10.0.0.1;lr", "sip:x;lr"},
       {"Route: <sip:192.0.2.10;lr>\r\n", "<sip:10.0.0.1;lr>, "}},
      {"Route lines apart from each other",
       "Route: <sip:192.0.2.10;lr>\r\nSubject: s\r\nRoute: <sip:10.0.0.1;lr>\r\n", 2,
       {"sip:192.0.2.10;lr", "sip:10.0.0.1;lr"},
       {"Route: <sip:192.0.2.10;lr>\r\n", "Route: <sip:10.0.0.1;lr>\r\n"}},
      {"listing stops at a malformed element", "Route: <sip:192.0.2.10;lr>, <broken\r\n", 2,
       {"sip:192.0.2.10;lr"}, {"<sip:192.0.2.10;lr>, "}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.desc);
    Parsed p(request(r.routes));
    ASSERT_TRUE(p.result.ok()) << parser::scanErrorName(p.result.error);
    std::vector<std::string> uris;
    EXPECT_EQ(popCuts(p, r.pop, &uris), r.cuts);
    EXPECT_EQ(uris, r.uris);
  }
}

std::string response(const std::string& via_lines) {
  return "SIP/2.0 200 OK\r\n" + via_lines +
         "From: <sip:b@192.0.2.9>;tag=1\r\n"
         "To: <sip:a@198.51.100.7>;tag=2\r\n"
         "Call-ID: c1\r\n"
         "CSeq: 2 BYE\r\n"
         "Content-Length: 0\r\n\r\n";
}

TEST(ProxyRewrite, TopViaRemoval) {
  const std::string ours = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ss3aaaa";
  const struct {
    const char* desc;
    std::string vias;
    bool ok;
    std::string cut;
    std::string second_host;
    std::string second_branch;
  } rows[] = {
      {"own lines", "Via: " + ours + "\r\nVia: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\n",
       true, "Via: " + ours + "\r\n", "192.0.2.9", "z9hG4bK1"},
      {"joined with comma and space",
       "Via: " + ours + ", SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n", true, ours + ", ",
       "192.0.2.9", "z9hG4bK1"},
      {"joined without space", "Via: " + ours + ",SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n",
       true, ours + ",", "192.0.2.9", "z9hG4bK1"},
      {"joined over a folded line",
       "Via: " + ours + ",\r\n SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n", true,
       ours + ",\r\n ", "192.0.2.9", "z9hG4bK1"},
      {"compact own lines", "v: " + ours + "\r\nv: SIP/2.0/UDP [2001:db8::9];branch=z9hG4bK6\r\n",
       true, "v: " + ours + "\r\n", "[2001:db8::9]", "z9hG4bK6"},
      {"own line, then a joined line",
       "Via: " + ours + "\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1, SIP/2.0/UDP "
       "192.0.2.8;branch=z9hG4bK0\r\n",
       true, "Via: " + ours + "\r\n", "192.0.2.9", "z9hG4bK1"},
      {"one via-parm: nowhere to send", "Via: " + ours + "\r\n", false, "", "", ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.desc);
    Parsed p(response(r.vias));
    ASSERT_TRUE(p.result.ok()) << parser::scanErrorName(p.result.error);
    Span cut;
    ASSERT_EQ(topViaRemoval(p.in(), p.msg(), p.summary, cut), r.ok);
    const parser::ViaEntry& second = p.summary.second_via;
    if (!r.ok) {
      continue;
    }
    EXPECT_EQ(p.text(cut), r.cut);
    EXPECT_EQ(p.text(second.host), r.second_host);
    EXPECT_EQ(p.text(second.branch), r.second_branch);
    // rewriteResponse writes the response without exactly those bytes, and it still parses.
    MessageEditor editor;
    std::string out(4096, '\0');
    const size_t n = rewriteResponse(p.in(), cut, editor,
                                     reinterpret_cast<uint8_t*>(out.data()), out.size());
    out.resize(n);
    std::string expected = p.bytes;
    expected.erase(cut.offset, cut.length);
    EXPECT_EQ(out, expected);
    Parsed reparsed(out);
    EXPECT_TRUE(reparsed.result.ok()) << parser::scanErrorName(reparsed.result.error) << "\n"
                                      << out;
    EXPECT_EQ(reparsed.summary.via_count + 1, p.summary.via_count);
    EXPECT_EQ(rewriteResponse(p.in(), cut, editor, reinterpret_cast<uint8_t*>(out.data()),
                              expected.size() - 1),
              0u)
        << "does not fit";
  }
}

// ---------------------------------------------------------------------------------------------
// rewriteRequest

constexpr std::string_view kOurVia = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ss3x\r\n";
constexpr std::string_view kOurRr = "Record-Route: <sip:192.0.2.10:5060;lr>\r\n";

TEST(ProxyRewrite, RewriteRequest) {
  const std::string start = "INVITE sip:a@198.51.100.7 SIP/2.0\r\n";
  const std::string rest =
      "From: <sip:b@192.0.2.9>;tag=1\r\n"
      "To: <sip:a@198.51.100.7>\r\n"
      "Call-ID: c1\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Length: 4\r\n\r\nbody";
  auto msg = [&](const std::string& vias, const std::string& middle) {
    return start + vias + middle + rest;
  };
  struct Row {
    const char* desc;
    std::string input;
    std::string received;
    int32_t rport;
    bool record_route;
    bool pop_route;
    std::string expected;
  };
  const std::string via = "Via: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\n";
  const std::string via_rport = "Via: SIP/2.0/UDP 192.0.2.9:5062;rport;branch=z9hG4bK1\r\n";
  const Row rows[] = {
      {"only our Via and Max-Forwards", msg(via, "Max-Forwards: 70\r\n"), "", -1, false, false,
       msg(std::string(kOurVia) + via, "Max-Forwards: 69\r\n")},
      {"received appended to the top via-parm", msg(via, "Max-Forwards: 70\r\n"), "198.51.100.1",
       -1, false, false,
       msg(std::string(kOurVia) +
               "Via: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1;received=198.51.100.1\r\n",
           "Max-Forwards: 69\r\n")},
      {"valueless rport filled, received appended", msg(via_rport, "Max-Forwards: 70\r\n"),
       "198.51.100.1", 41000, false, false,
       msg(std::string(kOurVia) +
               "Via: SIP/2.0/UDP 192.0.2.9:5062;rport=41000;branch=z9hG4bK1"
               ";received=198.51.100.1\r\n",
           "Max-Forwards: 69\r\n")},
      {"rport as the last parameter",
       msg("Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1;rport\r\n", "Max-Forwards: 70\r\n"),
       "198.51.100.1", 7, false, false,
       msg(std::string(kOurVia) +
               "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1;rport=7;received=198.51.100.1\r\n",
           "Max-Forwards: 69\r\n")},
      {"rport with a value is left alone",
       msg("Via: SIP/2.0/UDP 192.0.2.9;rport=1234;branch=z9hG4bK1\r\n", "Max-Forwards: 70\r\n"),
       "", 41000, false, false,
       msg(std::string(kOurVia) + "Via: SIP/2.0/UDP 192.0.2.9;rport=1234;branch=z9hG4bK1\r\n",
           "Max-Forwards: 69\r\n")},
      {"existing received is replaced",
       msg("Via: SIP/2.0/UDP 192.0.2.9;received=10.9.9.9;branch=z9hG4bK1\r\n",
           "Max-Forwards: 70\r\n"),
       "198.51.100.1", -1, false, false,
       msg(std::string(kOurVia) +
               "Via: SIP/2.0/UDP 192.0.2.9;received=198.51.100.1;branch=z9hG4bK1\r\n",
           "Max-Forwards: 69\r\n")},
      {"received on the first of joined via-parms",
       msg("Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK0\r\n",
           "Max-Forwards: 70\r\n"),
       "2001:db8::1", -1, false, false,
       msg(std::string(kOurVia) +
               "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1;received=2001:db8::1, SIP/2.0/UDP "
               "192.0.2.8;branch=z9hG4bK0\r\n",
           "Max-Forwards: 69\r\n")},
      {"record-route after our Via", msg(via, "Max-Forwards: 70\r\n"), "", -1, true, false,
       msg(std::string(kOurVia) + std::string(kOurRr) + via, "Max-Forwards: 69\r\n")},
      {"Max-Forwards absent: 70 added after our Via and Record-Route", msg(via, ""), "", -1,
       true, false,
       msg(std::string(kOurVia) + std::string(kOurRr) + "Max-Forwards: 70\r\n" + via, "")},
      {"Max-Forwards 1 becomes 0", msg(via, "Max-Forwards: 1\r\n"), "", -1, false, false,
       msg(std::string(kOurVia) + via, "Max-Forwards: 0\r\n")},
      {"Max-Forwards 200 becomes 199", msg(via, "Max-Forwards: 200\r\n"), "", -1, false, false,
       msg(std::string(kOurVia) + via, "Max-Forwards: 199\r\n")},
      {"Max-Forwards 101 becomes 100", msg(via, "Max-Forwards: 101\r\n"), "", -1, false, false,
       msg(std::string(kOurVia) + via, "Max-Forwards: 100\r\n")},
      {"our Route line popped",
       msg(via, "Max-Forwards: 70\r\nRoute: <sip:192.0.2.10:5060;lr>\r\n"), "", -1, false, true,
       msg(std::string(kOurVia) + via, "Max-Forwards: 69\r\n")},
      {"our Route element popped",
       msg(via, "Max-Forwards: 70\r\nRoute: <sip:192.0.2.10:5060;lr>, <sip:192.0.2.11;lr>\r\n"),
       "", -1, false, true,
       msg(std::string(kOurVia) + via, "Max-Forwards: 69\r\nRoute: <sip:192.0.2.11;lr>\r\n")},
      // A repeated Max-Forwards passes the scan only with the same value: every line is
      // decremented, or the next hop would get two different values (found by pipeline_fuzz).
      {"repeated Max-Forwards all decremented",
       msg(via, "Max-Forwards: 70\r\nSubject: x\r\nMax-Forwards: 70\r\n"), "", -1, false,
       false, msg(std::string(kOurVia) + via, "Max-Forwards: 69\r\nSubject: x\r\nMax-Forwards: 69\r\n")},
      {"everything at once",
       msg(via_rport, "Max-Forwards: 10\r\nRoute: <sip:192.0.2.10:5060;lr>\r\n"), "203.0.113.5",
       5999, true, true,
       msg(std::string(kOurVia) + std::string(kOurRr) +
               "Via: SIP/2.0/UDP 192.0.2.9:5062;rport=5999;branch=z9hG4bK1"
               ";received=203.0.113.5\r\n",
           "Max-Forwards: 9\r\n")},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.desc);
    Parsed p(r.input);
    ASSERT_TRUE(p.result.ok()) << parser::scanErrorName(p.result.error);
    RequestEdits edits;
    edits.via_line = kOurVia;
    edits.record_route_line = r.record_route ? kOurRr : std::string_view();
    edits.received = r.received;
    edits.rport = r.rport;
    if (r.pop_route) {
      RouteElement top[1];
      ASSERT_EQ(leadingRoutes(p.in(), p.msg(), top), 1u);
      edits.route_cut_count = static_cast<uint8_t>(
          routeCuts(p.in(), p.msg(), std::span<const RouteElement>(top, 1), edits.route_cuts));
    }
    MessageEditor editor;
    std::string out(4096, '\0');
    const size_t n = rewriteRequest(p.in(), p.msg(), p.summary, edits, editor,
                                    reinterpret_cast<uint8_t*>(out.data()), out.size());
    out.resize(n);
    EXPECT_EQ(out, r.expected);
    Parsed reparsed(out);
    EXPECT_TRUE(reparsed.result.ok()) << parser::scanErrorName(reparsed.result.error);
    // The same edits into a buffer one byte too small fail whole, never truncate.
    std::string small(r.expected.size() - 1, '\0');
    EXPECT_EQ(rewriteRequest(p.in(), p.msg(), p.summary, edits, editor,
                             reinterpret_cast<uint8_t*>(small.data()), small.size()),
              0u);
  }
}

// A request whose edits do not fit the editor (a dozen repeated Max-Forwards lines) is
// refused whole, never forwarded with some lines decremented and others not.
TEST(ProxyRewrite, TooManyEditsRefusedWhole) {
  std::string request =
      "INVITE sip:a@198.51.100.7 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1\r\n";
  for (int i = 0; i < MessageEditor::kMaxEdits; ++i) {
    request += "Max-Forwards: 70\r\n";
  }
  request +=
      "From: <sip:b@192.0.2.9>;tag=1\r\nTo: <sip:a@198.51.100.7>\r\nCall-ID: c1\r\n"
      "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  Parsed p(request);
  ASSERT_TRUE(p.result.ok()) << parser::scanErrorName(p.result.error);
  RequestEdits edits;
  edits.via_line = kOurVia;
  MessageEditor editor;
  EXPECT_FALSE(prepareRequest(p.msg(), p.summary, edits, editor));
}

}  // namespace
}  // namespace sipshield::lb
