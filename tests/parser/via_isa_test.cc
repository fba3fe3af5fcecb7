// The via-parm fast path against the general grammar under every scan kernel: parseViaParm
// classifies in AVX2 steps (parser/via_avx2.cc) when the scanner's kernel is AVX2 and the CPU
// has BMI1/BMI2, in SSE2 steps otherwise, so each kernel choice runs a different fast path.
// The via-parms are followed by the rest of a header block (the fast path's usual case: it
// classifies up to 32 bytes past the via-parm's end when they are readable) and by short or no
// tails (a copy of the last bytes of the buffer).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "parser/scan_kernel.h"
#include "parser/via.h"
#include "tests/parser/test_util.h"
#include "tests/parser/via_compare.h"

namespace sipshield::parser {
namespace {

using testing::mutate;

constexpr ScanIsa kIsas[] = {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2};

const std::vector<std::string>& viaSeeds() {
  static const std::vector<std::string> seeds = {
      "SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK7e1c0a.3f9b2d44a0e1",
      "SIP/2.0/TCP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK5a2d91f.0",
      "SIP/2.0/UDP 192.168.14.37:5062;received=192.0.2.88;rport=41834;branch=z9hG4bK-524287-1"
      "---a8d3c0e9f1b6774d",
      "SIP/2.0/UDP 127.0.1.1:5069;branch=z9hG4bK-2158733047;rport",
      "sip/2.0/udp h.example;RPORT;Branch=z9hG4bK2;TTL=3;MADDR=m.example;Received=1.2.3.4",
      "SIP/2.0/TCP [2001:db8:4a::17]:49152;branch=z9hG4bKnashds7;alias",
      "SIP/2.0/UDP h;received=2001:db8::9;rport=1, SIP/2.0/TCP x:1;branch=b",
      "SIP/2.0/WSS x.invalid;alias;keep=30;branch=z9hG4bK6",
      "SIP/2.0/UDP 192.0.2.61:5060\r\n   ;branch=z9hG4bK74bf9.a1;rport",
      "SIP/2.0/UDP h;branch=a \t;rport ;received=1.2.3.4",
      "SIP/2.0/UDP h;ttl=300;ttl=25;maddr=1.2.3.4;received;branch;maddr;ttl",
      "SIP/2.0/UDP h;rport=70000;rport=65535;rport=0;rport=000001",
      "SIP/2.0/UDP h;xbranch=1;branchx=2;xreceived=3;receivedx=4;xrport=5;rportx;xttl=1;ttlx=2",
      "SIP/2.0/UDP h;=1;a=;b;;c",
      "SIP/2.0/UCP h:5060;branch=b",
      "SIP/2.0/TDP h:5060;branch=b",
      "SIP/2.0/TLS 198.51.100.20:5061;branch=z9hG4bK-2a6.f1",
      "SIP/2.0/UDP h/x:5060;branch=a/b",
      "  SIP/2.0/UDP 10.20.30.51:5060;received=192.0.2.140;rport=61022;branch=z9hG4bK1402885917",
  };
  return seeds;
}

const std::vector<std::string>& viaTails() {
  static const std::vector<std::string> tails = {
      "",   "\r\n", ";",  ":",  "=", ",", "x", " \r\n",
      "\r\nMax-Forwards: 70\r\nCall-ID: a84b4c76e66710@pc33.example.com\r\n\r\n"};
  return tails;
}

// Every seed with every tail, long branch values across the 16- and 32-byte steps and the 128-byte
// reach, and one-byte mutations, under each kernel the CPU has.
TEST(ViaFastPath, MatchesGeneralGrammarUnderEveryKernel) {
  for (ScanIsa isa : kIsas) {
    if (!setScanIsa(isa)) {
      continue;
    }
    SCOPED_TRACE(std::string(scanIsaName(isa)));
    for (const std::string& seed : viaSeeds()) {
      for (const std::string& tail : viaTails()) {
        expectSameVia(seed + tail, 0, static_cast<uint32_t>(seed.size()));
        expectSameVia("v: " + seed + tail, 3, static_cast<uint32_t>(seed.size() + 3));
      }
    }
    for (uint32_t n = 1; n < 160; ++n) {
      for (const char* last : {"", "_", ":", ";rport", ";ttl=9"}) {
        const std::string via =
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" + std::string(n, 'a') + last;
        for (const std::string& tail : viaTails()) {
          expectSameVia(via + tail, 0, static_cast<uint32_t>(via.size()));
        }
      }
    }
    std::mt19937 rng(41);
    const std::string alphabet = "aZ09-.:;=,[]\" \t\r\n/!_tTlLrR";
    for (int iteration = 0; iteration < 20000; ++iteration) {
      const std::string s = mutate(viaSeeds()[rng() % viaSeeds().size()], rng, alphabet);
      const std::string& tail = viaTails()[rng() % viaTails().size()];
      expectSameVia(s + tail, 0, static_cast<uint32_t>(s.size()));
      if (::testing::Test::HasFatalFailure()) {
        break;
      }
    }
  }
  setScanIsa(bestScanIsa());
}

}  // namespace
}  // namespace sipshield::parser
