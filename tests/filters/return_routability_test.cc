// Return routability bound to backend-issued nonces (issue 4 "Spoof detection"): the Digest
// nonce parser, the keyed hash, the shared NonceTable, and the chain marking a source verified
// only when it answers a challenge a backend sent to that very address. Fake clock.

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "filters/digest_nonce.h"
#include "filters/nonce_table.h"
#include "filters/verified_set.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::addr;
using testing::ChainHarness;
using testing::Msg;
using testing::request;

// The nonce parser on challenge and credential values, hostile ones included.
TEST(DigestNonce, Table) {
  struct Row {
    const char* desc;
    const char* value;
    bool found;
    const char* nonce;
  };
  const Row rows[] = {
      {"challenge", "Digest realm=\"a\", nonce=\"n1\", algorithm=MD5", true, "n1"},
      {"credentials", "Digest username=\"u\", realm=\"a\", nonce=\"n2\", uri=\"sip:a\", "
                      "response=\"0\"", true, "n2"},
      {"nonce first", "Digest nonce=\"n3\"", true, "n3"},
      {"token value", "Digest realm=\"a\",nonce=n4,qop=auth", true, "n4"},
      {"spaces around =", "Digest realm=\"a\" , nonce = \"n5\"", true, "n5"},
      {"case-insensitive", "digest REALM=\"a\", NONCE=\"n6\"", true, "n6"},
      {"cnonce is not nonce", "Digest cnonce=\"c\", nc=00000001", false, ""},
      {"cnonce before nonce", "Digest cnonce=\"c\", nonce=\"n7\"", true, "n7"},
      {"comma inside quotes", "Digest realm=\"a,nonce=x\", nonce=\"n8\"", true, "n8"},
      {"escaped quote", "Digest realm=\"a\\\"b\", nonce=\"n\\\"9\"", true, "n\\\"9"},
      {"Basic scheme", "Basic realm=\"a\", nonce=\"x\"", false, ""},
      {"no nonce", "Digest realm=\"a\"", false, ""},
      {"empty nonce", "Digest realm=\"a\", nonce=\"\"", false, ""},
      {"unterminated", "Digest nonce=\"abc", false, ""},
      {"trailing backslash", "Digest nonce=\"abc\\", false, ""},
      {"empty", "", false, ""},
      {"scheme only", "Digest", false, ""},
      {"bare =", "Digest =, nonce=\"n10\"", true, "n10"},
  };
  for (const Row& r : rows) {
    std::string_view nonce;
    EXPECT_EQ(findDigestNonce(r.value, nonce), r.found) << r.desc;
    if (r.found) {
      EXPECT_EQ(nonce, r.nonce) << r.desc;
    }
  }
}

// Our SipHash-2-4 agrees with libsodium's crypto_shorthash_siphash24 at every length around
// the 8-byte block boundaries.
TEST(NonceTable, SipHashMatchesLibsodium) {
  ASSERT_GE(sodium_init(), 0);
  uint8_t key_bytes[16];
  for (int i = 0; i < 16; ++i) {
    key_bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  SipHashKey key;
  std::memcpy(&key.k0, key_bytes, 8);  // little-endian, as the reference reads its key
  std::memcpy(&key.k1, key_bytes + 8, 8);
  Address a = addr("2001:db8::17");
  for (size_t length = 0; length < 40; ++length) {
    std::string text;
    for (size_t i = 0; i < length; ++i) {
      text += static_cast<char>('a' + i % 26);
    }
    std::vector<uint8_t> message;
    message.push_back(a.v6);
    message.insert(message.end(), a.bytes, a.bytes + 16);
    message.insert(message.end(), text.begin(), text.end());
    uint8_t out[8];
    crypto_shorthash_siphash24(out, message.data(), message.size(), key_bytes);
    uint64_t expected = 0;
    std::memcpy(&expected, out, 8);
    EXPECT_EQ(sipHash24(key, a, text), expected) << "length " << length;
  }
}

constexpr SipHashKey kKey{0x0123456789abcdefull, 0xfedcba9876543210ull};

// A recorded (address, nonce) matches until it expires; any other address or nonce does not.
TEST(NonceTable, MatchesOnlyWhatWasRecorded) {
  NonceTable table(1024, kKey);
  const Address client = addr("198.51.100.7");
  table.record(client, "nonce-1", 5000);
  struct Row {
    const char* desc;
    const char* address;
    const char* nonce;
    uint64_t now_ms;
    bool matches;
  };
  const Row rows[] = {
      {"recorded", "198.51.100.7", "nonce-1", 4999, true},
      {"forged nonce", "198.51.100.7", "nonce-2", 1000, false},
      {"prefix of nonce", "198.51.100.7", "nonce-", 1000, false},
      {"other address", "198.51.100.8", "nonce-1", 1000, false},
      {"v6 address", "::ffff:198.51.100.7", "nonce-1", 1000, false},
      {"expired", "198.51.100.7", "nonce-1", 5000, false},
      {"empty nonce", "198.51.100.7", "", 1000, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(table.matches(addr(r.address), r.nonce, r.now_ms), r.matches) << r.desc;
  }
  // A retransmitted 401 extends the entry, never shortens it.
  table.record(client, "nonce-1", 3000);
  EXPECT_TRUE(table.matches(client, "nonce-1", 4000));
  table.record(client, "nonce-1", 9000);
  EXPECT_TRUE(table.matches(client, "nonce-1", 8000));
}

// The table is bounded: far more challenges than entries age the oldest out, memory fixed.
TEST(NonceTable, BoundedOverwriteOldestFirst) {
  NonceTable table(64, kKey);
  const size_t bytes = table.memoryBytes();
  EXPECT_EQ(table.capacity(), 64u);
  const Address client = addr("192.0.2.1");
  table.record(client, "early", 1000);  // expires first: the first victim of its set
  for (int i = 0; i < 10000; ++i) {
    table.record(addr("203.0.113.9"), "n" + std::to_string(i), 100000 + i);
  }
  EXPECT_FALSE(table.matches(client, "early", 10));
  EXPECT_EQ(table.memoryBytes(), bytes);
  // The newest entries are still there.
  int found = 0;
  for (int i = 9990; i < 10000; ++i) {
    found += table.matches(addr("203.0.113.9"), "n" + std::to_string(i), 0) ? 1 : 0;
  }
  EXPECT_GE(found, 5);
}

// Workers record and look up at once (lock-free): nothing recorded is lost when sets do not
// overflow, and nothing unrecorded matches.
TEST(NonceTable, ConcurrentRecordAndMatch) {
  NonceTable table(1u << 16, kKey);
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      table.record(addr("198.51.100.1"), "w" + std::to_string(i), 1'000'000);
    }
  });
  int forged_hits = 0;
  for (int i = 0; i < 20000; ++i) {
    forged_hits += table.matches(addr("198.51.100.1"), "x" + std::to_string(i), 0) ? 1 : 0;
  }
  writer.join();
  EXPECT_EQ(forged_hits, 0);
  int found = 0;
  for (int i = 0; i < 2000; ++i) {
    found += table.matches(addr("198.51.100.1"), "w" + std::to_string(i), 0) ? 1 : 0;
  }
  EXPECT_GE(found, 1990);  // a set of 4 may overflow rarely at 2000 of 65536
}

std::string challenge(int status, std::string_view header, std::string_view nonce) {
  return "SIP/2.0 " + std::to_string(status) +
         " Unauthorized\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-test-1\r\n"
         "From: <sip:alice@example.com>;tag=abc\r\nTo: <sip:bob@example.com>;tag=xyz\r\n"
         "Call-ID: call-1@test\r\nCSeq: 1 REGISTER\r\n" + std::string(header) +
         ": Digest realm=\"example.com\", nonce=\"" + std::string(nonce) +
         "\", algorithm=MD5\r\nContent-Length: 0\r\n\r\n";
}

std::string answer(std::string_view header, std::string_view nonce, std::string_view method =
                   "REGISTER") {
  return request(method, std::string(header) +
                             ": Digest username=\"alice\", realm=\"example.com\", nonce=\"" +
                             std::string(nonce) +
                             "\", uri=\"sip:example.com\", response=\"00ff\"\r\n");
}

// The chain: only an answer from the challenged address with the challenged nonce, while the
// entry lives, marks the source verified (table-driven; a fresh chain per row).
TEST(ReturnRoutability, ChainVerifiesOnlyAnsweredChallenges) {
  struct Row {
    const char* desc;
    int status;                  // of the relayed challenge (0: none relayed)
    const char* challenge_header;
    const char* challenge_to;    // address the challenge was relayed to
    const char* challenge_nonce;
    const char* answer_header;
    const char* answer_nonce;
    const char* answer_from;
    uint64_t delay_ms;           // between the challenge and the answer
    bool verified;
  };
  const Row rows[] = {
      {"401 answered", 401, "WWW-Authenticate", "192.0.2.10", "N-1", "Authorization", "N-1",
       "192.0.2.10", 10, true},
      {"407 answered", 407, "Proxy-Authenticate", "192.0.2.10", "N-1", "Proxy-Authorization",
       "N-1", "192.0.2.10", 10, true},
      {"no challenge relayed", 0, "", "", "", "Authorization", "N-1", "192.0.2.10", 10, false},
      {"forged nonce", 401, "WWW-Authenticate", "192.0.2.10", "N-1", "Authorization",
       "N-forged", "192.0.2.10", 10, false},
      {"relayed to another address", 401, "WWW-Authenticate", "192.0.2.10", "N-1",
       "Authorization", "N-1", "192.0.2.11", 10, false},
      {"expired", 401, "WWW-Authenticate", "192.0.2.10", "N-1", "Authorization", "N-1",
       "192.0.2.10", 900'000, false},
      {"just before expiry", 401, "WWW-Authenticate", "192.0.2.10", "N-1", "Authorization",
       "N-1", "192.0.2.10", 899'999, true},
      {"challenge in a 200 is ignored", 200, "WWW-Authenticate", "192.0.2.10", "N-1",
       "Authorization", "N-1", "192.0.2.10", 10, false},
      {"IPv6 client", 401, "WWW-Authenticate", "2001:db8::5", "N-6", "Authorization", "N-6",
       "2001:db8::5", 10, true},
  };
  for (const Row& r : rows) {
    ChainHarness h;
    h.install();
    if (r.status != 0) {
      Msg c(challenge(r.status, r.challenge_header, r.challenge_nonce));
      h.chain->observeBackendResponse(c.in(), c.parsed.message, addr(r.challenge_to), h.now);
    }
    h.now += r.delay_ms;
    Msg a(answer(r.answer_header, r.answer_nonce));
    EXPECT_TRUE(h.full(r.answer_from, a).pass()) << r.desc;
    EXPECT_EQ(h.chain->verified().contains(addr(r.answer_from), h.now), r.verified) << r.desc;
  }
}

// Chains sharing one SharedShieldState: the worker that relayed the 401 is not the one the
// answer reaches, and the answer still verifies; by_authorization = false turns it off.
TEST(ReturnRoutability, SharedAcrossWorkers) {
  ChainHarness relay;
  ChainHarness answerer;
  auto shared = std::make_shared<SharedShieldState>(ChainHarness::small(), kKey);
  relay.chain->shareState(shared);
  answerer.chain->shareState(shared);
  relay.install();
  answerer.install();
  Msg c(challenge(401, "WWW-Authenticate", "cross"));
  relay.chain->observeBackendResponse(c.in(), c.parsed.message, addr("192.0.2.20"), relay.now);
  Msg a(answer("Authorization", "cross", "INVITE"));
  EXPECT_TRUE(answerer.full("192.0.2.20", a).pass());
  EXPECT_TRUE(answerer.chain->verified().contains(addr("192.0.2.20"), answerer.now));
  EXPECT_FALSE(relay.chain->verified().contains(addr("192.0.2.20"), relay.now));

  ChainHarness off;
  off.rules->verify.by_authorization = false;
  off.install();
  off.chain->observeBackendResponse(c.in(), c.parsed.message, addr("192.0.2.20"), off.now);
  EXPECT_TRUE(off.full("192.0.2.20", a).pass());
  EXPECT_FALSE(off.chain->verified().contains(addr("192.0.2.20"), off.now));
}

}  // namespace
}  // namespace sipshield::filters
