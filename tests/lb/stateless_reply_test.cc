// Unit tests of buildStatelessReply (RFC 3261 §8.2.6.2 response construction, §16.3 step 3
// 483, §21.5.4 503 with Retry-After §20.33).

#include "lb/stateless_reply.h"

#include <gtest/gtest.h>

#include <string>

#include "parser/validate.h"

namespace sipshield::lb {
namespace {

using parser::ByteView;

struct Parsed {
  std::string bytes;
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  parser::ScanResult result;

  explicit Parsed(std::string b) : bytes(std::move(b)) {
    result = parser::scanAndValidate(ByteView(bytes), parsed.message, summary);
  }
  [[nodiscard]] std::string text(parser::Span s) const { return bytes.substr(s.offset, s.length); }
};

std::string reply(const Parsed& request, const ReplySpec& spec, size_t capacity = 4096) {
  std::string out(capacity, '\0');
  const size_t n = buildStatelessReply(ByteView(request.bytes), request.parsed.message,
                                       request.summary, spec,
                                       reinterpret_cast<uint8_t*>(out.data()), capacity);
  out.resize(n);
  return out;
}

// tagOf returns the To-tag of a reply and replaces it by "TAG" in `reply`.
std::string takeTag(std::string& reply) {
  const size_t at = reply.find(";tag=ss");
  if (at == std::string::npos) {
    return "";
  }
  const std::string tag = reply.substr(at + 5, 18);
  reply.replace(at + 5, 18, "TAG");
  return tag;
}

const ReplySpec k483{483, "Too Many Hops", 0, 42};
const ReplySpec k503{503, "Service Unavailable", 5, 42};

TEST(StatelessReply, CopiesViaFromToCallIdCSeq) {
  const struct {
    const char* desc;
    std::string request;
    ReplySpec spec;
    std::string expected;  // To-tag written as "TAG" when we add one
    bool adds_tag;
  } rows[] = {
      {"INVITE, 483: every Via line in order, To gets a tag",
       "INVITE sip:a@198.51.100.7 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9:5062;rport;branch=z9hG4bK1, "
       "SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK0\r\n"
       "Max-Forwards: 0\r\n"
       "Via: SIP/2.0/TCP 192.0.2.7\r\n ;branch=z9hG4bKf\r\n"
       "From: \"B\" <sip:b@192.0.2.9>;tag=1\r\n"
       "To: <sip:a@198.51.100.7>\r\n"
       "Contact: <sip:b@192.0.2.9>\r\n"
       "Call-ID: c1@192.0.2.9\r\n"
       "CSeq: 7 INVITE\r\n"
       "Content-Type: application/sdp\r\n"
       "Content-Length: 4\r\n\r\nabcd",
       k483,
       "SIP/2.0 483 Too Many Hops\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9:5062;rport;branch=z9hG4bK1, "
       "SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK0\r\n"
       "Via: SIP/2.0/TCP 192.0.2.7\r\n ;branch=z9hG4bKf\r\n"
       "From: \"B\" <sip:b@192.0.2.9>;tag=1\r\n"
       "To: <sip:a@198.51.100.7>;tag=TAG\r\n"
       "Call-ID: c1@192.0.2.9\r\n"
       "CSeq: 7 INVITE\r\n"
       "Server: sipshield\r\nContent-Length: 0\r\n\r\n",
       true},
      {"503 with Retry-After; an existing To-tag is kept",
       "BYE sip:a@198.51.100.7 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n"
       "From: <sip:b@192.0.2.9>;tag=1\r\n"
       "To: <sip:a@198.51.100.7>;tag=callee\r\n"
       "Call-ID: c2\r\n"
       "CSeq: 8 BYE\r\n"
       "Content-Length: 0\r\n\r\n",
       k503,
       "SIP/2.0 503 Service Unavailable\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n"
       "From: <sip:b@192.0.2.9>;tag=1\r\n"
       "To: <sip:a@198.51.100.7>;tag=callee\r\n"
       "Call-ID: c2\r\n"
       "CSeq: 8 BYE\r\n"
       "Retry-After: 5\r\n"
       "Server: sipshield\r\nContent-Length: 0\r\n\r\n",
       false},
      {"compact forms: copied as written, To spelled out",
       "MESSAGE sip:a@198.51.100.7 SIP/2.0\r\n"
       "v: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bK3\r\n"
       "f: sip:b@192.0.2.9;tag=1\r\n"
       "t: sip:a@198.51.100.7\r\n"
       "i: c3\r\n"
       "CSeq: 1 MESSAGE\r\n"
       "l: 0\r\n\r\n",
       k483,
       "SIP/2.0 483 Too Many Hops\r\n"
       "v: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bK3\r\n"
       "f: sip:b@192.0.2.9;tag=1\r\n"
       "To: sip:a@198.51.100.7;tag=TAG\r\n"
       "i: c3\r\n"
       "CSeq: 1 MESSAGE\r\n"
       "Server: sipshield\r\nContent-Length: 0\r\n\r\n",
       true},
      {"RFC 2543 request without From-tag still gets a To-tag",
       "OPTIONS sip:a@198.51.100.7 SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK4\r\n"
       "From: <sip:b@192.0.2.9>\r\n"
       "To: <sip:a@198.51.100.7>\r\n"
       "Call-ID: c4\r\n"
       "CSeq: 1 OPTIONS\r\n\r\n",
       k503,
       "SIP/2.0 503 Service Unavailable\r\n"
       "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK4\r\n"
       "From: <sip:b@192.0.2.9>\r\n"
       "To: <sip:a@198.51.100.7>;tag=TAG\r\n"
       "Call-ID: c4\r\n"
       "CSeq: 1 OPTIONS\r\n"
       "Retry-After: 5\r\n"
       "Server: sipshield\r\nContent-Length: 0\r\n\r\n",
       true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.desc);
    Parsed request(r.request);
    ASSERT_TRUE(request.result.ok()) << parser::scanErrorName(request.result.error);
    std::string out = reply(request, r.spec);
    Parsed parsed(out);
    ASSERT_TRUE(parsed.result.ok()) << parser::scanErrorName(parsed.result.error) << "\n" << out;
    EXPECT_EQ(parsed.parsed.message.status_code, r.spec.status);
    EXPECT_FALSE(parsed.summary.to_tag.empty());
    const std::string tag = takeTag(out);
    EXPECT_EQ(out, r.expected);
    if (r.adds_tag) {
      ASSERT_EQ(tag.size(), 18u);
      EXPECT_EQ(tag.substr(0, 2), "ss");
      EXPECT_EQ(tag.find_first_not_of("0123456789abcdef", 2), std::string::npos) << tag;
    }
  }
}

// The To-tag is a function of Call-ID, From-tag and seed: a retransmission gets the same reply.
TEST(StatelessReply, ToTagIsDeterministic) {
  const std::string base =
      "INVITE sip:a@198.51.100.7 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n"
      "From: <sip:b@192.0.2.9>;tag=FROMTAG\r\n"
      "To: <sip:a@198.51.100.7>\r\n"
      "Call-ID: CALLID\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  auto tagFor = [&](const std::string& from_tag, const std::string& call_id, uint64_t seed) {
    std::string m = base;
    m.replace(m.find("FROMTAG"), 7, from_tag);
    m.replace(m.find("CALLID"), 6, call_id);
    Parsed request(m);
    EXPECT_TRUE(request.result.ok());
    ReplySpec spec = k483;
    spec.tag_seed = seed;
    std::string out = reply(request, spec);
    return takeTag(out);
  };
  const std::string tag = tagFor("f1", "call-1", 42);
  EXPECT_EQ(tagFor("f1", "call-1", 42), tag);
  EXPECT_NE(tagFor("f2", "call-1", 42), tag);
  EXPECT_NE(tagFor("f1", "call-2", 42), tag);
  EXPECT_NE(tagFor("f1", "call-1", 43), tag);
}

TEST(StatelessReply, CapacityIsAllOrNothing) {
  Parsed request(
      "OPTIONS sip:a@198.51.100.7 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK4\r\n"
      "From: <sip:b@192.0.2.9>;tag=1\r\n"
      "To: <sip:a@198.51.100.7>\r\n"
      "Call-ID: c4\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(request.result.ok());
  const std::string full = reply(request, k503);
  ASSERT_FALSE(full.empty());
  EXPECT_EQ(reply(request, k503, full.size()), full);
  for (size_t capacity : {size_t{0}, size_t{10}, full.size() / 2, full.size() - 1}) {
    EXPECT_EQ(reply(request, k503, capacity), "") << capacity;
  }
}

}  // namespace
}  // namespace sipshield::lb
