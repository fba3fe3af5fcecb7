#include <gtest/gtest.h>

#include "filters/sanity.h"
#include "filters/scanner.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::Msg;
using testing::request;
using testing::response;

// Sanity policy over scanner-valid messages: size, methods, Max-Forwards bounds, Via count.
TEST(Sanity, PolicyTable) {
  SanityConfig policy;
  policy.max_message_bytes = 600;
  policy.allowed_methods = methodBit(parser::Method::Invite) | methodBit(parser::Method::Ack) |
                           methodBit(parser::Method::Bye) | methodBit(parser::Method::Register);
  policy.min_max_forwards = 1;
  policy.max_max_forwards = 70;
  policy.max_via = 2;
  const std::string three_vias =
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n";
  struct Row {
    const char* desc;
    std::string message;
    uint32_t length;  // 0 = the message's own
    ShieldReason expected;
  };
  const Row rows[] = {
      {"plain INVITE", request("INVITE"), 0, ShieldReason::None},
      {"too large", request("INVITE"), 601, ShieldReason::TooLarge},
      {"OPTIONS not allowed", request("OPTIONS"), 0, ShieldReason::MethodNotAllowed},
      {"extension method not allowed", request("FOO"), 0, ShieldReason::MethodNotAllowed},
      {"Max-Forwards 71", request("INVITE", "", "", 71), 0, ShieldReason::MaxForwardsOutOfRange},
      {"Max-Forwards 0", request("INVITE", "", "", 0), 0, ShieldReason::MaxForwardsOutOfRange},
      {"no Max-Forwards, not required", request("INVITE", "", "", -1), 0, ShieldReason::None},
      {"three Vias", request("INVITE", three_vias), 0, ShieldReason::TooManyVias},
      // Via-parms below the top one are counted, not parsed (parser::ViaCheck::Used).
      {"three Vias, the lower ones unparsed and joined",
       request("INVITE", "Via: SIP/2.0/UDP not parsed;x=\"a,b\", SIP/2.0/UDP 192.0.2.2\r\n"), 0,
       ShieldReason::TooManyVias},
      {"two Vias, a quoted comma", request("INVITE", "Via: SIP/2.0/UDP h;x=\"a,b\"\r\n"), 0,
       ShieldReason::None},
      {"response skips method checks", response(), 0, ShieldReason::None},
  };
  for (const Row& r : rows) {
    Msg m(r.message);
    const uint32_t length = r.length != 0 ? r.length : static_cast<uint32_t>(m.bytes.size());
    EXPECT_EQ(checkSanity(policy, length, m.parsed.message, m.summary), r.expected) << r.desc;
  }
  policy.require_max_forwards = true;
  Msg without(request("INVITE", "", "", -1));
  EXPECT_EQ(checkSanity(policy, 300, without.parsed.message, without.summary),
            ShieldReason::MaxForwardsOutOfRange);
}

// Built-in scanner signatures match case-insensitively in User-Agent, From or To; operator
// patterns extend them; ordinary phones do not match.
TEST(Scanner, FingerprintTable) {
  ScannerConfig config;
  config.patterns.push_back({"EvilDialer", kFieldUserAgent});
  ASSERT_EQ(config.build(), "");
  struct Row {
    const char* desc;
    std::string extra;
    bool matches;
  };
  const Row rows[] = {
      {"SIPVicious default UA", "User-Agent: friendly-scanner\r\n", true},
      {"upper case", "User-Agent: FRIENDLY-SCANNER 1.0\r\n", true},
      {"sipcli", "User-Agent: sipcli/v1.8\r\n", true},
      {"VaxSIPUserAgent", "User-Agent: VaxSIPUserAgent/3.1\r\n", true},
      {"sip-scan", "User-Agent: sip-scan\r\n", true},
      {"second UA line", "User-Agent: Linphone\r\nUser-Agent: sipvicious\r\n", true},
      {"operator pattern", "User-Agent: evildialer 2\r\n", true},
      {"real phone", "User-Agent: Kestrel Softphone 4.2.1\r\n", false},
      {"no UA", "", false},
      {"sipcli in Subject only", "Subject: sipcli\r\n", false},
  };
  for (const Row& r : rows) {
    Msg m(request("OPTIONS", r.extra));
    EXPECT_EQ(matchScanner(config, m.in(), m.parsed.message) >= 0, r.matches) << r.desc;
  }
  // From/To: SIPVicious svwar puts its name in From.
  Msg from("OPTIONS sip:100@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-1\r\n"
           "From: \"sipvicious\" <sip:100@1.1.1.1>;tag=6331\r\nTo: <sip:100@example.com>\r\n"
           "Call-ID: 1@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
  EXPECT_GE(matchScanner(config, from.in(), from.parsed.message), 0);
}

// More than 64 patterns or an empty one is a config error.
TEST(Scanner, BuildErrors) {
  ScannerConfig config;
  config.patterns.push_back({"", kFieldUserAgent});
  EXPECT_NE(config.build(), "");
  config.patterns.assign(65, {"x", kFieldUserAgent});
  EXPECT_NE(config.build(), "");
}

}  // namespace
}  // namespace sipshield::filters
