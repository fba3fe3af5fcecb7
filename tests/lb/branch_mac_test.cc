#include "lb/branch_mac.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace sipshield::lb {
namespace {

std::vector<uint8_t> secret(char fill, size_t n = 32) { return std::vector<uint8_t>(n, fill); }

BranchSigner makeSigner(char fill = 'k', uint8_t id = 1) {
  auto s = BranchSigner::create(secret(fill), id);
  EXPECT_TRUE(s.ok()) << s.status().toString();
  return std::move(s).value();
}

std::string branchFor(const BranchSigner& s, std::string_view client, std::string_view cid) {
  char buf[64];
  const size_t n = s.makeBranch(client, cid, buf);
  EXPECT_EQ(n, kBranchLength);
  return std::string(buf, n);
}

constexpr std::string_view kClientBranch = "z9hG4bK74bf9";
constexpr std::string_view kCallId = "3848276298220188511@atlanta.example.com";

TEST(BranchMac, RejectsBadKeys) {
  const struct {
    const char* desc;
    std::vector<uint8_t> cur;
    uint8_t cur_id;
    std::vector<uint8_t> prev;
    uint8_t prev_id;
  } rows[] = {
      {"short secret", secret('a', 15), 0, {}, 0},
      {"key id too large", secret('a'), 16, {}, 0},
      {"short previous", secret('a'), 0, secret('b', 8), 1},
      {"same ids", secret('a'), 3, secret('b'), 3},
  };
  for (const auto& r : rows) {
    auto s = BranchSigner::create(r.cur, r.cur_id, r.prev, r.prev_id);
    ASSERT_FALSE(s.ok()) << r.desc;
    EXPECT_EQ(s.status().code(), StatusCode::InvalidArgument) << r.desc;
  }
  EXPECT_TRUE(BranchSigner::create(secret('a', 200), 0).ok()) << "long secrets are hashed";
}

TEST(BranchMac, FormatAndRoundTrip) {
  const BranchSigner s = makeSigner();
  const std::string b = branchFor(s, kClientBranch, kCallId);
  EXPECT_EQ(b.size(), 27u);
  EXPECT_EQ(b.substr(0, 11), "z9hG4bK-s21");
  for (char c : b.substr(11)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << b;
  }
  EXPECT_EQ(s.verifyBranch(b, kClientBranch, kCallId), BranchVerdict::Valid);
  // Same inputs, same branch (retransmission, CANCEL, non-2xx ACK); empty client branch works.
  EXPECT_EQ(branchFor(s, kClientBranch, kCallId), b);
  const std::string empty = branchFor(s, "", kCallId);
  EXPECT_EQ(s.verifyBranch(empty, "", kCallId), BranchVerdict::Valid);
  // A too-small buffer is refused without writing.
  char small[26] = {};
  EXPECT_EQ(s.makeBranch(kClientBranch, kCallId, small), 0u);
  EXPECT_EQ(small[0], 0);
  // A long Call-ID has no length limit.
  const std::string long_cid(5000, 'x');
  EXPECT_EQ(s.verifyBranch(branchFor(s, kClientBranch, long_cid), kClientBranch, long_cid),
            BranchVerdict::Valid);
}

// Forged or modified branches, or a branch replayed with other transaction fields, fail.
TEST(BranchMac, RejectsForgedOrModified) {
  const BranchSigner s = makeSigner();
  const std::string good = branchFor(s, kClientBranch, kCallId);
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  std::string upper = good;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'f') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  std::string other_key_id = good;
  other_key_id[10] = '7';
  const struct {
    const char* desc;
    std::string branch;
    std::string_view client;
    std::string_view cid;
    BranchVerdict want;
  } rows[] = {
      {"last hex digit changed", flipped, kClientBranch, kCallId, BranchVerdict::BadMac},
      {"other Call-ID", good, kClientBranch, "other@host", BranchVerdict::BadMac},
      {"other client branch", good, "z9hG4bK74bfA", kCallId, BranchVerdict::BadMac},
      {"fields swapped", good, kCallId, kClientBranch, BranchVerdict::BadMac},
      {"made by another secret", branchFor(makeSigner('z'), kClientBranch, kCallId),
       kClientBranch, kCallId, BranchVerdict::BadMac},
      {"unknown key id", other_key_id, kClientBranch, kCallId, BranchVerdict::UnknownKey},
      {"client's own branch", std::string(kClientBranch), kClientBranch, kCallId,
       BranchVerdict::NotOurs},
      {"truncated", good.substr(0, 26), kClientBranch, kCallId, BranchVerdict::NotOurs},
      {"extended", good + "0", kClientBranch, kCallId, BranchVerdict::NotOurs},
      {"upper-case hex", upper, kClientBranch, kCallId, BranchVerdict::NotOurs},
      {"non-hex char", good.substr(0, 26) + "g", kClientBranch, kCallId,
       BranchVerdict::NotOurs},
      {"empty", "", kClientBranch, kCallId, BranchVerdict::NotOurs},
      {"all zero MAC", "z9hG4bK-s210000000000000000", kClientBranch, kCallId,
       BranchVerdict::BadMac},
      {"all zero MAC, three-hash format", "z9hG4bK-ss10000000000000000", kClientBranch,
       kCallId, BranchVerdict::BadMac},
      {"OnePass MAC under the three-hash marker", "z9hG4bK-ss" + good.substr(10),
       kClientBranch, kCallId, BranchVerdict::BadMac},
      {"unknown format character", "z9hG4bK-s3" + good.substr(10), kClientBranch, kCallId,
       BranchVerdict::NotOurs},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(s.verifyBranch(r.branch, r.client, r.cid), r.want) << r.desc;
    EXPECT_FALSE(branchVerdictOk(s.verifyBranch(r.branch, r.client, r.cid))) << r.desc;
  }
  // Every byte next to a hex range, at every MAC position, is not ours.
  for (size_t position = 11; position < kBranchLength; ++position) {
    for (char c : {'/', ':', '`', 'g', 'A', 'F', ' ', '\0', '\x80', '\xff'}) {
      std::string bad = good;
      bad[position] = c;
      EXPECT_EQ(s.verifyBranch(bad, kClientBranch, kCallId), BranchVerdict::NotOurs)
          << "byte " << static_cast<int>(static_cast<unsigned char>(c)) << " at " << position;
    }
  }
}

// Rotation: the new signer makes branches with the new key and still accepts the old ones;
// the signer after the next rotation no longer accepts the oldest.
TEST(BranchMac, KeyRotation) {
  const auto s_a = secret('a');
  const auto s_b = secret('b');
  const auto s_c = secret('c');
  const BranchSigner gen1 = *BranchSigner::create(s_a, 1);
  const BranchSigner gen2 = *BranchSigner::create(s_b, 2, s_a, 1);
  const BranchSigner gen3 = *BranchSigner::create(s_c, 3, s_b, 2);
  const std::string old_branch = branchFor(gen1, kClientBranch, kCallId);
  const std::string new_branch = branchFor(gen2, kClientBranch, kCallId);
  EXPECT_NE(old_branch, new_branch);
  EXPECT_EQ(new_branch[10], '2');
  EXPECT_EQ(gen2.currentKeyId(), 2);
  EXPECT_EQ(gen2.verifyBranch(new_branch, kClientBranch, kCallId), BranchVerdict::Valid);
  EXPECT_EQ(gen2.verifyBranch(old_branch, kClientBranch, kCallId),
            BranchVerdict::ValidPreviousKey);
  EXPECT_EQ(gen2.verifyBranch(old_branch, kClientBranch, "x@y"), BranchVerdict::BadMac);
  EXPECT_EQ(gen3.verifyBranch(new_branch, kClientBranch, kCallId),
            BranchVerdict::ValidPreviousKey);
  EXPECT_EQ(gen3.verifyBranch(old_branch, kClientBranch, kCallId), BranchVerdict::UnknownKey);
  // Same secret and id: independent instances agree (several sipshield instances).
  const BranchSigner twin = *BranchSigner::create(s_b, 2);
  EXPECT_EQ(branchFor(twin, kClientBranch, kCallId), new_branch);
}

// Distinct inputs give distinct branches (no trivial collisions over a small sample).
TEST(BranchMac, DistinctInputsDistinctBranches) {
  const BranchSigner s = makeSigner();
  std::vector<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string client = "z9hG4bK";
    client += std::to_string(i);
    seen.push_back(branchFor(s, client, kCallId));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
}

// A branch a signer must make exactly, from these fields.
struct KnownBranch {
  const char* desc;
  std::string_view client_branch;
  std::string_view call_id;
  std::string_view branch;
};

// expectKnownBranches: `maker` makes each branch exactly, and both signers verify it.
void expectKnownBranches(const BranchSigner& maker, const BranchSigner& other,
                         std::span<const KnownBranch> rows) {
  for (const KnownBranch& r : rows) {
    EXPECT_EQ(branchFor(maker, r.client_branch, r.call_id), r.branch) << r.desc;
    EXPECT_EQ(maker.verifyBranch(r.branch, r.client_branch, r.call_id), BranchVerdict::Valid)
        << r.desc;
    EXPECT_EQ(other.verifyBranch(r.branch, r.client_branch, r.call_id), BranchVerdict::Valid)
        << r.desc;
  }
}

// Known branches stay the same: a branch is checked on the response, possibly by another
// instance or after an upgrade, so any change to how a format's MAC is computed must keep them.
// These are ThreeHash branches (the format before OnePass): a signer making either format
// still verifies them.
TEST(BranchMac, KnownThreeHashBranches) {
  const KnownBranch rows[] = {
      {"RFC 3261 shapes", kClientBranch, kCallId, "z9hG4bK-ss1ca12d700d64c6cd3"},
      {"both empty", "", "", "z9hG4bK-ss14fe0e93b4529ae20"},
      {"one byte", "", "a", "z9hG4bK-ss1e0014fb8d3674eb7"},
      {"seven bytes each", "z9hG4bK", "1234567", "z9hG4bK-ss184bd04b627bd7192"},
      {"bench INVITE", "z9hG4bK-524287-1---a8d3c0e9f1b6774d", "bench-00000001@198.18.0.2",
       "z9hG4bK-ss168a188641d515ae9"},
      {"long Call-ID", "z9hG4bK776asdhds",
       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!",
       "z9hG4bK-ss104d752c7708737c6"},
  };
  const BranchSigner three_hash =
      *BranchSigner::create(secret('k'), 1, {}, 0, BranchFormat::ThreeHash);
  expectKnownBranches(three_hash, makeSigner(), rows);
}

// The OnePass MAC is, independently recomputed: SipHash-2-4 (libsodium) under the first 16
// bytes of keyed BLAKE2b("sipshield via-branch mac v2"), over le32(client branch length),
// the client branch and the Call-ID copied into one buffer.
std::string onePassOracle(char fill, uint8_t id, std::string_view client, std::string_view cid) {
  const std::vector<uint8_t> key_secret = secret(fill);
  static constexpr char kLabel[] = "sipshield via-branch mac v2";
  uint8_t key[16];
  EXPECT_EQ(crypto_generichash(key, sizeof(key), reinterpret_cast<const uint8_t*>(kLabel),
                               sizeof(kLabel) - 1, key_secret.data(), key_secret.size()),
            0);
  std::vector<uint8_t> input;
  const auto length = static_cast<uint32_t>(client.size());
  for (int i = 0; i < 4; ++i) {
    input.push_back(static_cast<uint8_t>(length >> (8 * i)));
  }
  input.insert(input.end(), client.begin(), client.end());
  input.insert(input.end(), cid.begin(), cid.end());
  uint8_t mac[8];
  crypto_shorthash(mac, input.data(), input.size(), key);
  std::string branch = "z9hG4bK-s2";
  branch += "0123456789abcdef"[id];
  for (uint8_t b : mac) {
    branch += "0123456789abcdef"[b >> 4];
    branch += "0123456789abcdef"[b & 0xF];
  }
  return branch;
}

TEST(BranchMac, OnePassMatchesOracle) {
  const BranchSigner s = makeSigner();
  std::string client;
  std::string cid;
  // Every pair of lengths around the 8-byte word boundaries, then long fields.
  for (size_t client_length = 0; client_length < 20; ++client_length) {
    for (size_t cid_length = 0; cid_length < 20; ++cid_length) {
      client.assign(client_length, static_cast<char>('a' + client_length));
      cid.assign(cid_length, static_cast<char>('A' + cid_length));
      ASSERT_EQ(branchFor(s, client, cid), onePassOracle('k', 1, client, cid))
          << client_length << "," << cid_length;
    }
  }
  const std::string long_cid(5000, 'x');
  EXPECT_EQ(branchFor(s, kClientBranch, long_cid), onePassOracle('k', 1, kClientBranch, long_cid));
}

// The same, frozen: OnePass branches must not change either.
TEST(BranchMac, KnownOnePassBranches) {
  const KnownBranch rows[] = {
      {"RFC 3261 shapes", kClientBranch, kCallId, "z9hG4bK-s21a8c0ba1f529ffc28"},
      {"both empty", "", "", "z9hG4bK-s2101f3bd0eaa52c259"},
      {"bench INVITE", "z9hG4bK-524287-1---a8d3c0e9f1b6774d", "bench-00000001@198.18.0.2",
       "z9hG4bK-s212969c8b6bdf85424"},
  };
  const BranchSigner three_hash =
      *BranchSigner::create(secret('k'), 1, {}, 0, BranchFormat::ThreeHash);
  expectKnownBranches(makeSigner(), three_hash, rows);
}

}  // namespace
}  // namespace sipshield::lb
