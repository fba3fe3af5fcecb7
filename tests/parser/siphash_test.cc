#include "parser/siphash.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace sipshield::parser {
namespace {

uint64_t reference(const uint8_t* key, const std::vector<uint8_t>& message) {
  uint8_t out[8];
  crypto_shorthash_siphash24(out, message.data(), message.size(), key);
  uint64_t hash = 0;
  for (int i = 7; i >= 0; --i) {
    hash = (hash << 8) | out[i];
  }
  return hash;
}

// The paper's test vector (Aumasson & Bernstein, appendix A): key 00..0f, message 00..0e.
TEST(SipHash24, PaperVector) {
  uint8_t key[16];
  uint8_t message[15];
  for (uint8_t i = 0; i < 16; ++i) {
    key[i] = i;
  }
  for (uint8_t i = 0; i < 15; ++i) {
    message[i] = i;
  }
  SipHash24 hash(key);
  hash.update(message, sizeof(message));
  EXPECT_EQ(hash.finish(), 0xa129ca6149be45e5ull);
}

// Fed in up to four pieces cut anywhere (empty ones too), the hash is libsodium's hash of the
// whole: every pending-byte count meets every piece length.
TEST(SipHash24, PiecesMatchLibsodium) {
  ASSERT_GE(sodium_init(), 0);
  std::mt19937 random(20261207);
  uint8_t key[16];
  for (uint8_t& b : key) {
    b = static_cast<uint8_t>(random());
  }
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> message(random() % 80);
    for (uint8_t& b : message) {
      b = static_cast<uint8_t>(random());
    }
    size_t cuts[5] = {0, 0, 0, 0, message.size()};
    for (int i = 1; i < 4; ++i) {
      cuts[i] = message.empty() ? 0 : random() % (message.size() + 1);
    }
    std::sort(cuts + 1, cuts + 4);
    SipHash24 hash(key);
    for (int i = 0; i < 4; ++i) {
      hash.update(message.data() + cuts[i], cuts[i + 1] - cuts[i]);
    }
    ASSERT_EQ(hash.finish(), reference(key, message))
        << "length " << message.size() << " cuts " << cuts[1] << "," << cuts[2] << ","
        << cuts[3];
  }
}

}  // namespace
}  // namespace sipshield::parser
