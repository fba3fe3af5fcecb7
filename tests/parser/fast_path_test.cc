// The scanner's fast paths against their references: the line and block kernels against the
// scalar kernel and the character tables, BlockCursor and HostRunEnds against byte loops,
// the header-name hash against a byte-wise compare, and the via-parm fast path against the
// general grammar.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "parser/block_cursor.h"
#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/via.h"
#include "tests/parser/test_util.h"
#include "tests/parser/via_compare.h"

namespace sipshield::parser {
namespace {

using testing::mutate;

bool isSpecialByte(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

constexpr ScanIsa kIsas[] = {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2};

// Every byte value at every position of a block gives the masks the tables define.
TEST(BlockKernels, MatchTheCharacterTables) {
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t position : {0, 1, 15, 16, 31, 32, 33, 47, 63}) {
      char block[kBlockSize];
      std::memset(block, 'a', sizeof(block));
      block[position] = static_cast<char>(byte);
      BlockMasks expected{0, 0};
      for (size_t i = 0; i < kBlockSize; ++i) {
        auto c = static_cast<unsigned char>(block[i]);
        expected.special |= static_cast<uint64_t>(isSpecialByte(c)) << i;
        expected.non_token |= static_cast<uint64_t>(!kTokenChar[c]) << i;
      }
      BlockMasks scalar = classifyBlockScalar(block);
      ASSERT_EQ(scalar.special, expected.special) << byte << " at " << position;
      ASSERT_EQ(scalar.non_token, expected.non_token) << byte << " at " << position;
      if (scanIsaSupported(ScanIsa::Sse42)) {
        BlockMasks sse = classifyBlockSse42(block);
        ASSERT_EQ(sse.special, expected.special) << byte << " at " << position;
        ASSERT_EQ(sse.non_token, expected.non_token) << byte << " at " << position;
      }
      if (scanIsaSupported(ScanIsa::Avx2)) {
        BlockMasks avx = classifyBlockAvx2(block);
        ASSERT_EQ(avx.special, expected.special) << byte << " at " << position;
        ASSERT_EQ(avx.non_token, expected.non_token) << byte << " at " << position;
      }
    }
  }
}

// The line walk finds every line end and name end a byte loop finds, for header lines of
// every length around the block size (so lines start and end at every block offset), on
// every kernel. Exact-size buffers under ASan catch reads past the end.
TEST(LineWalk, AgreesWithByteLoops) {
  for (size_t pad = 0; pad < 70; ++pad) {
    for (size_t length : {1, 2, 30, 62, 63, 64, 65, 66, 127, 128, 129, 300}) {
      std::string text = "INVITE sip:x SIP/2.0\r\n" + std::string(pad, 'P') + (pad ? ": p\r\n" : "");
      std::string name(length, 'N');
      text += name + ":v\r\nTo: " + std::string(length, 't') + "\r\n\r\n";
      for (ScanIsa isa : kIsas) {
        if (!setScanIsa(isa)) {
          continue;
        }
        std::vector<char> bytes(text.begin(), text.end());
        ParsedMessage<kDefaultHeaderCapacity> parsed;
        ScanResult r = scan(ByteView(bytes.data(), bytes.size()), parsed.message);
        ASSERT_EQ(r.status, ScanStatus::Complete) << pad << " " << length;
        ASSERT_EQ(r.consumed, text.size());
        const SipMessage& m = parsed.message;
        ASSERT_EQ(m.header_count, pad ? 3 : 2);
        const HeaderField& named = m.headers[m.header_count - 2];
        const HeaderField& to = m.headers[m.header_count - 1];
        EXPECT_EQ(named.name.view(bytes.data()), name) << scanIsaName(isa);
        EXPECT_EQ(named.value.view(bytes.data()), "v");
        EXPECT_EQ(to.id, HeaderId::To);
        EXPECT_EQ(to.value.length, length);
        EXPECT_EQ(m.headers_end, text.size() - 2);
      }
    }
  }
  setScanIsa(bestScanIsa());
}

// Called directly, a walk with nothing left to scan answers Incomplete instead of reading.
TEST(LineWalk, NothingToScanIsIncomplete) {
  for (WalkFn walk : {walkScalar, walkSse42, walkAvx2}) {
    if ((walk == walkSse42 && !scanIsaSupported(ScanIsa::Sse42)) ||
        (walk == walkAvx2 && !scanIsaSupported(ScanIsa::Avx2))) {
      continue;
    }
    ParsedMessage<kDefaultHeaderCapacity> parsed;
    const char bytes[2] = {'\r', '\n'};
    EXPECT_EQ(walk(nullptr, 0, 0, parsed.message, ScanLimits{}).status, ScanStatus::Incomplete);
    EXPECT_EQ(walk(bytes, 2, 2, parsed.message, ScanLimits{}).status, ScanStatus::Incomplete);
  }
}

// BlockCursor answers like a byte loop bounded by `limit`, for every kernel, whatever the
// block boundaries, and reads nothing past `readable` (exact-size buffers under ASan).
TEST(BlockCursor, AgreesWithByteLoops) {
  std::mt19937 rng(7);
  const char alphabet[] = "abcXYZ019-.!~;:=,<>\" \t\r\n@[]";
  for (int iteration = 0; iteration < 3000; ++iteration) {
    size_t size = rng() % 300;
    std::vector<char> bytes(size);
    for (char& c : bytes) {
      c = alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    const char* p = bytes.data();
    auto n = static_cast<uint32_t>(size);
    uint32_t begin = n == 0 ? 0 : static_cast<uint32_t>(rng() % (n + 1));
    uint32_t limit = begin + static_cast<uint32_t>(rng() % (n - begin + 1));
    uint32_t readable = limit + static_cast<uint32_t>(rng() % (n - limit + 1));
    for (ScanIsa isa : kIsas) {
      if (!setScanIsa(isa)) {
        continue;
      }
      BlockCursor cursor(p, begin, limit, readable);
      uint32_t pos = begin;
      while (pos < limit) {
        uint32_t want_token = pos;
        while (want_token < limit && isTokenChar(p[want_token])) {
          ++want_token;
        }
        uint32_t want_special = pos;
        while (want_special < limit &&
               !isSpecialByte(static_cast<unsigned char>(p[want_special]))) {
          ++want_special;
        }
        ASSERT_EQ(cursor.nextNonToken(pos), want_token) << iteration << " " << pos;
        ASSERT_EQ(cursor.nextSpecial(pos), want_special) << iteration << " " << pos;
        pos += 1 + static_cast<uint32_t>(rng() % 40);
      }
      ASSERT_EQ(cursor.nextNonToken(limit), limit);
    }
  }
  setScanIsa(bestScanIsa());
}

// The perfect hash finds every full and compact name in any letter case, and nothing else:
// a name one byte off is Other (or the header it then spells).
TEST(HeaderNames, HashAgreesWithByteCompare) {
  auto reference = [](std::string_view name) {
    for (size_t i = 0; i < detail::kHeaders.size(); ++i) {
      const detail::HeaderInfo& h = detail::kHeaders[i];
      auto equal = [&](std::string_view canonical) {
        if (canonical.size() != name.size()) {
          return false;
        }
        for (size_t k = 0; k < name.size(); ++k) {
          if ((static_cast<unsigned char>(name[k]) | 0x20) !=
              (static_cast<unsigned char>(canonical[k]) | 0x20)) {
            return false;
          }
        }
        return true;
      };
      char compact[1] = {h.compact};
      if (equal(h.name) || (h.compact != 0 && equal(std::string_view(compact, 1)))) {
        return static_cast<HeaderId>(i);
      }
    }
    return HeaderId::Other;
  };
  std::mt19937 rng(11);
  std::vector<std::string> names;
  for (const detail::HeaderInfo& h : detail::kHeaders) {
    names.emplace_back(h.name);
    if (h.compact != 0) {
      names.emplace_back(1, h.compact);
    }
  }
  const std::string tokens =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~";
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string name = names[rng() % names.size()];
    for (char& c : name) {
      if (rng() % 2 == 0 && std::isalpha(static_cast<unsigned char>(c))) {
        c = static_cast<char>(c ^ 0x20);
      }
    }
    switch (rng() % 4) {
      case 0:
        name[rng() % name.size()] = tokens[rng() % tokens.size()];
        break;
      case 1:
        name.insert(rng() % (name.size() + 1), 1, tokens[rng() % tokens.size()]);
        break;
      case 2:
        if (name.size() > 1) {
          name.erase(rng() % name.size(), 1);
        }
        break;
      default:
        break;
    }
    HeaderId want = reference(name);
    ASSERT_EQ(classifyHeaderName(name.data(), name.size()), want) << name;
    // The scanner's wide lookup reads 24 bytes from the name's start.
    std::string padded = name + std::string(detail::kMaxHeaderNameLength, ':');
    ASSERT_EQ(detail::lookupHeaderNameWide(padded.data(), name.size()), want) << name;
    if (scanIsaSupported(ScanIsa::Avx2)) {
      ASSERT_EQ(lookupHeaderNameAvx2(padded.data(), name.size()), want) << name;
    }
  }
}

// The AVX2 lookup reads no byte past name + 24: a name at the very end of a heap buffer (ASan
// checks the reads), of every length up to 24, in every known spelling and some unknown ones.
TEST(HeaderNameHash, Avx2LookupStaysInsideItsBytes) {
  if (!scanIsaSupported(ScanIsa::Avx2)) {
    GTEST_SKIP() << "no AVX2";
  }
  std::vector<std::string> names = {"x", "Via-", "Content-Lengthy", "Proxy-Authorization-X",
                                    "abcdefghijklmnopqrstuvwx"};
  for (const detail::HeaderInfo& h : detail::kHeaders) {
    names.emplace_back(h.name);
    if (h.compact != 0) {
      names.emplace_back(1, h.compact);
    }
  }
  for (const std::string& name : names) {
    for (size_t length = 1; length <= name.size() && length <= detail::kMaxHeaderNameLength;
         ++length) {
      // The name, then filler up to exactly 24 bytes: the allocation ends at name + 24.
      std::string text =
          name.substr(0, length) + std::string(detail::kMaxHeaderNameLength - length, ':');
      std::vector<char> heap(text.begin(), text.end());
      ASSERT_EQ(lookupHeaderNameAvx2(heap.data(), length),
                detail::lookupHeaderName(heap.data(), length))
          << text;
    }
  }
}

// The via-parm fast path gives exactly what the general grammar gives, on common shapes, on
// near misses (each a one-byte mutation) and inside longer buffers (comma lists).
TEST(ViaFastPath, MatchesGeneralGrammar) {
  const std::vector<std::string> seeds = {
      "SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK7e1c0a.3f9b2d44a0e1",
      "SIP/2.0/TCP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK5a2d91f.0",
      "SIP/2.0/UDP 192.168.14.37:5062;received=192.0.2.88;rport=41834;branch=z9hG4bK-524287-1",
      "SIP/2.0/UDP 127.0.1.1:5069;branch=z9hG4bK-2158733047;rport",
      "sip/2.0/udp h.example;RPORT;Branch=z9hG4bK2;ttl=3;maddr=m.example",
      "SIP/2.0/UDP [::1];received=2001:db8::9;rport=1",
      "SIP/2.0/UDP h;received=2001:db8::9;rport=1, SIP/2.0/TCP x:1;branch=b",
      "SIP/2.0/WSS x.invalid;alias;keep=30;branch=z9hG4bK6",
      "SIP/2.0/UDP h:5060 ;branch=1",
      "SIP/2.0/UDP h;ttl=300",
      "SIP/2.0/UDP h;rport=70000",
      "SIP/2.0/UDP h:99999",
      "SIP/2.0/UDP h:",
      "SIP/2.0/UDP h;branch=\"q\"",
      "SIP/2.0/UDP h;=1",
      "SIP/2.0/UDP h;a=;b",
      "SIP/2.0/UDP  h",
      "SIP/2.0/ UDP h",
      "SIP /2.0/UDP h",
      " SIP/2.0/UDP h ",
  };
  for (const std::string& seed : seeds) {
    expectSameVia(seed, 0, static_cast<uint32_t>(seed.size()));
  }
  std::mt19937 rng(3);
  const char alphabet[] = "aZ09-.:;=,[]\" \t\r\n/!";
  for (int iteration = 0; iteration < 30000; ++iteration) {
    std::string s = mutate(seeds[rng() % seeds.size()], rng, alphabet);
    auto n = static_cast<uint32_t>(s.size());
    uint32_t end = n == 0 ? 0 : n - static_cast<uint32_t>(rng() % (n < 8 ? n + 1 : 8));
    expectSameVia(s, 0, end);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}


// HostRunEnds lists what a byte loop finds: the non-host bytes in [begin, last], and every
// offset from begin + kReach on; for every start, last byte and readable end (steps crossing
// the end of an exact-size buffer included) and with skipTo in between. Answers past `last`
// are unspecified, so the comparison stops there.
TEST(HostRunEnds, AgreesWithByteLoops) {
  std::mt19937 rng(29);
  const std::string alphabet = "aZ09-.:;=,[]_!/ \r\x80";
  for (int iteration = 0; iteration < 4000; ++iteration) {
    size_t size = 1 + rng() % 300;
    std::vector<char> bytes(size);
    const bool long_runs = rng() % 2 == 0;  // runs crossing the 16-byte steps and windows
    for (char& c : bytes) {
      c = long_runs && rng() % 8 != 0 ? 'h' : alphabet[rng() % (alphabet.size())];
    }
    auto last = static_cast<uint32_t>(rng() % size);
    const uint32_t readable = last + 1 + static_cast<uint32_t>(rng() % (size - last));
    const uint32_t begin = static_cast<uint32_t>(rng() % (last + 1));
    HostRunEnds runs(bytes.data(), begin, last, readable);
    uint32_t want = begin;
    for (int k = 0; k < 80; ++k) {
      if (rng() % 8 == 0) {
        want += static_cast<uint32_t>(rng() % 40);
        runs.skipTo(want);
      }
      while (want <= last && want - begin < HostRunEnds::kReach && isHostChar(bytes[want])) {
        ++want;
      }
      if (want > last) {
        break;  // past `last`: unspecified
      }
      ASSERT_EQ(runs.next(), want)
          << "begin " << begin << " last " << last << " readable " << readable << " step " << k;
      ++want;
    }
  }
}

// The fast path reads the byte at `end` (a header value ends before CR or white space) and
// gives up when it could continue a token: the same via-parms followed by CRLF, by each
// separator and at the end of an exact-size buffer; every transport spelling, port and rport
// length; values across the 16-byte steps and past the 128 bytes the fast path classifies.
TEST(ViaFastPath, MatchesGeneralGrammarInsideLines) {
  const std::vector<std::string> seeds = {
      "SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK7e1c0a.3f9b2d44a0e1",
      "SIP/2.0/TCP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK5a2d91f.0",
      "SIP/2.0/UDP 192.168.14.37:5062;received=192.0.2.88;rport=41834;branch=z9hG4bK-5242",
      "SIP/2.0/UDP 127.0.1.1:5069;branch=z9hG4bK-2158733047;rport",
      "SIP/2.0/TLS 198.51.100.20:5061;branch=z9hG4bK-2a6.f1",
      "SIP/2.0/TCP [2001:db8:4a::17]:49152;branch=z9hG4bKnashds7;alias",
      "SIP/2.0/UDP 192.0.2.61:5060",
      "SIP/2.0/UDP h;received=2001:db8::9;rport=1;ttl=16;maddr=224.0.0.1",
      "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKlKw",
      "SIP/2.0/WSS x.invalid:443;rport;branch=z9hG4bK6",
      "SIP/2.0/SCTP h.example:5060;branch=b",
      "SIP/2.0/udp h.example:5060;branch=b",
      "sip/2.0/Tcp h.example:5060;BRANCH=B;RPORT=5060;Received=1.2.3.4",
      "SIP/2.0/UDP h:1;branch=b",
      "SIP/2.0/UDP h:65535;branch=b",
      "SIP/2.0/UDP h:65536;branch=b",
      "SIP/2.0/UDP h:050;branch=b",
      "SIP/2.0/UDP h:50a0;branch=b",
      "SIP/2.0/UDP h:5-60;branch=b",
      "SIP/2.0/UDP h:123456;branch=b",
      "SIP/2.0/UDP h;rport=123456",
      "SIP/2.0/UDP h;rport=6553a",
      "SIP/2.0/UDP h;rport=;branch=b",
      "SIP/2.0/UDP h;ttl=255;branch=b",
      "SIP/2.0/UDP h;ttl=256",
      "SIP/2.0/UDP h;branch=a:b:;x=::",
      "SIP/2.0/UDP h;branch=a_b",
      "SIP/2.0/UDP h;bra_nch=a",
      "SIP/2.0/UDP h;branch=a,SIP/2.0/TCP g:2;rport=3",
      "SIP/2.0/UDP h;branch=a, SIP/2.0/TCP g:2;rport=3",
      "SIP/2.0/UDP h;branch=a;",
      "SIP/2.0/UDP h;branch==a",
      "SIP/2.0/UDP h:5060;;branch=a",
      "SIP/2.0/UDP h_x:5060",
      "SIP/2.0/UDP [::1]x",
      "SIP/2.0/UDP [::1",
      "SIP/2.0/UDP ",
      "SIP/2.0/UD",
      "SIP/2.0/UDP h",
      "SIP/2.0/U h",
      "SIP/2.0/UDP 192.0.2.61:5060\r\n   ;branch=z9hG4bK74bf9.a1;rport",
      "SIP/2.0/UDP h;branch=a \t;rport ;received=1.2.3.4",
      "SIP/2.0/UDP h:5060 ; branch=a",
      "SIP/2.0/UDP h:5060 ;branch =a",
      "SIP/2.0/UDP h:5060  , SIP/2.0/UDP g",
      "SIP/2.0/UDP h:5060 x",
      "SIP/2.0/UDP h:5060 \r\n",
  };
  const std::vector<std::string> tails = {"", "\r\n", " \r\n", "\t", ";", ":", "=", ",", "x", "5"};
  for (const std::string& seed : seeds) {
    for (const std::string& tail : tails) {
      expectSameVia(seed + tail, 0, static_cast<uint32_t>(seed.size()));
      expectSameVia("Via: " + seed + tail, 5, static_cast<uint32_t>(seed.size() + 5));
    }
  }
  // Branch values of every length up to past the reach, ending at every step offset, with
  // and without a stray token character at the end, then a parameter after them.
  for (uint32_t n = 1; n < 180; ++n) {
    for (const char* last : {"", "_", ":"}) {
      std::string via =
          "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" + std::string(n, 'a') + last + ";rport=5060";
      expectSameVia(via + "\r\n", 0, static_cast<uint32_t>(via.size()));
      expectSameVia(via, 0, static_cast<uint32_t>(via.size()));
    }
  }
  std::mt19937 rng(31);
  const char alphabet[] = "aZ09-.:;=,[]\" \t\r\n/!_";
  for (int iteration = 0; iteration < 30000; ++iteration) {
    std::string s = mutate(seeds[rng() % seeds.size()], rng, alphabet);
    auto end = static_cast<uint32_t>(s.size());
    s += tails[rng() % tails.size()];
    expectSameVia(s, 0, end);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

}  // namespace
}  // namespace sipshield::parser
