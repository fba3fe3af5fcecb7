// ViaCheck::Used (parser/validate.h), the check the pipeline runs per packet, against
// ViaCheck::Every: the same verdict and summary on every well-formed message, on both scan
// kernels' via-parm paths (scanAndValidate and validate); malformed via-parms below the ones a
// proxy uses are accepted and counted, malformed used ones are not; the count follows commas
// outside quoted strings, also where a value ends within 16 bytes of the buffer's end.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "parser/scan_kernel.h"
#include "parser/validate.h"
#include "tests/parser/test_util.h"
#include "tests/parser/via_compare.h"

namespace sipshield::parser {
namespace {

using testing::corpusPath;
using testing::kCorpusNames;
using testing::messagePath;
using testing::readFile;

struct Checked {
  ParsedMessage<kDefaultHeaderCapacity> parsed;
  SipSummary summary;
  ScanResult result;
};

// check scans `bytes` from an exact-size copy (ASan sees reads past the end) with `vias`.
void check(const std::string& bytes, ViaCheck vias, Checked& out) {
  std::vector<char> exact(bytes.begin(), bytes.end());
  out.result = scanAndValidate(ByteView(exact.data(), exact.size()), out.parsed.message,
                               out.summary, {}, vias);
}

// expectSameChecks: Used and Every agree on `bytes` (verdict, offsets, summary), for every scan
// kernel (the AVX2 one inlines its own via-parm path) and for validate() after a plain scan.
void expectSameChecks(const std::string& bytes, const std::string& context) {
  const ScanIsa before = activeScanIsa();
  for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
    if (!setScanIsa(isa)) {
      continue;
    }
    SCOPED_TRACE(context + " / " + std::string(scanIsaName(isa)));
    Checked every;
    Checked used;
    check(bytes, ViaCheck::Every, every);
    check(bytes, ViaCheck::Used, used);
    ASSERT_EQ(used.result.status, every.result.status);
    ASSERT_EQ(used.result.error, every.result.error);
    ASSERT_EQ(used.result.error_offset, every.result.error_offset);
    if (every.result.ok()) {
      EXPECT_EQ(used.summary.via_count, every.summary.via_count);
      expectSameViaEntry(used.summary.top_via, every.summary.top_via, context);
      if (!every.parsed.message.isRequest() && every.summary.via_count >= 2) {
        expectSameViaEntry(used.summary.second_via, every.summary.second_via, context);
      }
      EXPECT_EQ(used.summary.call_id.offset, every.summary.call_id.offset);
      EXPECT_EQ(used.summary.from_tag.offset, every.summary.from_tag.offset);
      EXPECT_EQ(used.summary.max_forwards, every.summary.max_forwards);
      // validate() after a scan gives the same as scanAndValidate.
      SipSummary alone;
      EXPECT_TRUE(validate(ByteView(bytes), used.parsed.message, alone, ViaCheck::Used).ok());
      EXPECT_EQ(alone.via_count, used.summary.via_count);
    }
  }
  setScanIsa(before);
}

// Every corpus and test-data message: the two checks agree.
TEST(ViaCheck, UsedAgreesWithEveryOnRealisticMessages) {
  for (const char* name : kCorpusNames) {
    const std::string bytes = readFile(corpusPath(name));
    ASSERT_FALSE(bytes.empty()) << name;
    expectSameChecks(bytes, name);
  }
  for (const char* name : {"extension_method.sip", "ipv6_invite.sip", "no_content_length.sip",
                           "response_no_reason.sip", "spaced_via_params.sip"}) {
    const std::string bytes = readFile(messagePath(name));
    ASSERT_FALSE(bytes.empty()) << name;
    expectSameChecks(bytes, name);
  }
}

// A message with the given Via lines (each the text after "Via: ").
std::string withVias(bool request, const std::vector<std::string>& vias) {
  std::string m = request ? "OPTIONS sip:bob@example.com SIP/2.0\r\n" : "SIP/2.0 200 OK\r\n";
  for (const std::string& via : vias) {
    m += "Via: " + via + "\r\n";
  }
  m += "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
       "Call-ID: c1@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  return m;
}

const std::string kTop = "SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK1;rport";
const std::string kSecond = "SIP/2.0/UDP 198.18.0.9;received=198.18.0.10;branch=z9hG4bK2";
const std::string kBad = "SIP/2.0/UDP bad host;branch=z9hG4bK3";  // a space in the host

// A malformed via-parm: Every rejects it wherever it is. Used rejects it, at Every's offset,
// where a proxy uses it (a request's top one, a response's top two), and accepts and counts it
// below them.
TEST(ViaCheck, UsedChecksOnlyTheViaParmsAProxyUses) {
  const struct {
    const char* description;
    bool request;
    std::vector<std::string> vias;
    uint16_t used_count;  // 0: Used rejects it too
  } rows[] = {
      {"request, second line bad", true, {kTop, kBad}, 2},
      {"request, second parm bad in the top line", true, {kTop + ", " + kBad}, 2},
      {"request, third of three bad", true, {kTop, kSecond, kBad + ", " + kSecond}, 4},
      {"request, empty second line", true, {kTop, ""}, 2},
      {"response, third bad", false, {kTop, kSecond, kBad}, 3},
      {"response, third bad in the second line", false, {kTop, kSecond + "," + kBad}, 3},
      {"request, top bad", true, {kBad, kTop}, 0},
      {"request, top line empty", true, {"", kTop}, 0},
      {"request, trailing comma after the top", true, {kTop + ","}, 0},
      {"response, top bad", false, {kBad, kSecond}, 0},
      {"response, second bad", false, {kTop, kBad}, 0},
      {"response, second bad in the top line", false, {kTop + ", " + kBad, kSecond}, 0},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.description);
    const std::string bytes = withVias(row.request, row.vias);
    Checked every;
    Checked used;
    check(bytes, ViaCheck::Every, every);
    check(bytes, ViaCheck::Used, used);
    EXPECT_EQ(every.result.error, ScanError::BadVia);
    if (row.used_count == 0) {
      EXPECT_EQ(used.result.error, ScanError::BadVia);
      EXPECT_EQ(used.result.error_offset, every.result.error_offset);
      continue;
    }
    ASSERT_TRUE(used.result.ok()) << scanErrorName(used.result.error);
    EXPECT_EQ(used.summary.via_count, row.used_count);
    EXPECT_EQ(ByteView(bytes).view(used.summary.top_via.branch), "z9hG4bK1");
    if (!row.request) {
      EXPECT_EQ(ByteView(bytes).view(used.summary.second_via.branch), "z9hG4bK2");
    }
  }
}

// Commas inside quoted strings (a generic-param's quoted value, with an escaped quote) do not
// start via-parms; both checks count the same.
TEST(ViaCheck, CountsCommasOutsideQuotedStringsOnly) {
  const std::string quoted = "SIP/2.0/UDP 198.18.0.5;x=\"a,b\\\",c\";branch=z9hG4bK5";
  for (bool request : {true, false}) {
    const std::string bytes =
        withVias(request, {kTop, kSecond + ", " + quoted, quoted + "," + kSecond});
    Checked every;
    Checked used;
    check(bytes, ViaCheck::Every, every);
    check(bytes, ViaCheck::Used, used);
    ASSERT_TRUE(every.result.ok()) << scanErrorName(every.result.error);
    ASSERT_TRUE(used.result.ok()) << scanErrorName(used.result.error);
    EXPECT_EQ(every.summary.via_count, 5);
    EXPECT_EQ(used.summary.via_count, 5);
  }
}

// Unused via-parms are counted to the buffer's last byte: a request whose last header is a
// Via line of unparsed via-parms ending in a short one (its ',' in the line's last bytes, past
// what a 16-byte step may read).
TEST(ViaCheck, CountsUnusedViaParmsUpToTheBuffersEnd) {
  for (uint32_t n = 0; n < 40; ++n) {
    const std::string bytes =
        "OPTIONS sip:bob@example.com SIP/2.0\r\nFrom: <sip:a@example.com>;tag=1\r\n"
        "To: <sip:b@example.com>\r\nCall-ID: c@example.com\r\nCSeq: 1 OPTIONS\r\n"
        "Via: " + kTop + "\r\nVia: " + std::string(n, 'b') + ",x,y\r\n\r\n";
    Checked used;
    check(bytes, ViaCheck::Used, used);
    ASSERT_TRUE(used.result.ok()) << n << ": " << scanErrorName(used.result.error);
    EXPECT_EQ(used.summary.via_count, 4) << n;
  }
}

// Via lines of every length, with commas at every place (also in a line's last 16 bytes, past
// the 16-byte steps), the last line ending within 16 bytes of the buffer's end (the Via lines
// last, then the empty line): Used counts what Every parses.
TEST(ViaCheck, CountsLikeEveryForAllLengthsAndPlaces) {
  std::mt19937 rng(163);
  int compared = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> vias;
    const int lines = 1 + static_cast<int>(rng() % 4);
    for (int l = 0; l < lines; ++l) {
      std::string line;
      const int parms = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < parms; ++k) {
        if (k > 0) {
          line += rng() % 2 == 0 ? "," : " , ";
        }
        if (k > 0 && rng() % 3 == 0) {
          // A short via-parm (13 to 15 bytes): its ',' lies in the line's last 16 bytes.
          line += "SIP/2.0/UDP h" + std::string(rng() % 3, 'h');
          continue;
        }
        line += "SIP/2.0/UDP h" + std::to_string(rng() % 1000) + ".example.com";
        line += ";branch=z9hG4bK" + std::string(rng() % 40, 'a');
        if (rng() % 3 == 0) {
          line += ";x=\"q,r\"";
        }
      }
      vias.push_back(line);
    }
    const bool request = rng() % 2 == 0;
    // The Via lines last, so that the last one ends near the buffer's end.
    std::string bytes = request ? "OPTIONS sip:bob@example.com SIP/2.0\r\n" : "SIP/2.0 200 OK\r\n";
    bytes += "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
             "Call-ID: c@example.com\r\nCSeq: 1 OPTIONS\r\n";
    for (const std::string& via : vias) {
      bytes += "Via: " + via + "\r\n";
    }
    bytes += "\r\n";
    expectSameChecks(bytes, "round " + std::to_string(round));
    ++compared;
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
  EXPECT_EQ(compared, 3000);
}

}  // namespace
}  // namespace sipshield::parser
