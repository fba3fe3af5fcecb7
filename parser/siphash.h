#pragma once

// SipHash-2-4 (Aumasson & Bernstein, 2012) fed in pieces, a word at a time, without copying
// them into one buffer. It lives in parser/ because that is the one folder both filters/ (the
// Digest nonce table) and lb/ (the Via branch MAC) may use (DESIGN.md); nothing in the
// scanner uses it. Standard library only, header-only so the rounds inline into the caller.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sipshield::parser {

class SipHash24 {
 public:
  // The 128-bit key as two little-endian 64-bit words (k0 = key bytes 0..7).
  SipHash24(uint64_t k0, uint64_t k1)
      : v0_(k0 ^ 0x736f6d6570736575ull),
        v1_(k1 ^ 0x646f72616e646f6dull),
        v2_(k0 ^ 0x6c7967656e657261ull),
        v3_(k1 ^ 0x7465646279746573ull) {}
  // The key as its 16 bytes, as libsodium's crypto_shorthash takes it.
  explicit SipHash24(const uint8_t* key) : SipHash24(load64(key), load64(key + 8)) {}

  // update appends `size` bytes. Full words go straight to the compression; the bytes that do
  // not fill one wait in `pending_` (its low `fill_` bytes) for the next piece.
  void update(const uint8_t* data, size_t size) {
    total_ += size;
    if (fill_ == 0) {
      for (; size >= 8; data += 8, size -= 8) {
        compress(load64(data));
      }
      pending_ = loadShort(data, size);
      fill_ = static_cast<unsigned>(size);
      return;
    }
    // Words straddle the pieces: each input word completes the pending one, and its high
    // bytes start the next.
    const unsigned shift = 8 * fill_;  // 8..56
    for (; size >= 8; data += 8, size -= 8) {
      const uint64_t word = load64(data);
      compress(pending_ | (word << shift));
      pending_ = word >> (64 - shift);
    }
    const uint64_t rest = loadShort(data, size);
    if (fill_ + size >= 8) {
      compress(pending_ | (rest << shift));
      pending_ = rest >> (64 - shift);
      fill_ = fill_ + static_cast<unsigned>(size) - 8;
    } else {
      pending_ |= rest << shift;
      fill_ += static_cast<unsigned>(size);
    }
  }
  void update(const char* data, size_t size) {
    update(reinterpret_cast<const uint8_t*>(data), size);
  }

  // finish returns the 64-bit hash (libsodium's 8 output bytes as a little-endian word).
  [[nodiscard]] uint64_t finish() {
    compress(pending_ | (total_ << 56));
    v2_ ^= 0xff;
    round();
    round();
    round();
    round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  static uint64_t load64(const uint8_t* p) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    if constexpr (std::endian::native == std::endian::big) {
      word = __builtin_bswap64(word);
    }
    return word;
  }
  // loadShort reads `size` < 8 bytes as the low bytes of a little-endian word: two overlapping
  // 4-byte loads, or three single bytes, instead of a loop or a memcpy call of variable size.
  static uint64_t loadShort(const uint8_t* p, size_t size) {
    if (size >= 4) {
      uint32_t low;
      uint32_t high;
      std::memcpy(&low, p, 4);
      std::memcpy(&high, p + size - 4, 4);
      if constexpr (std::endian::native == std::endian::big) {
        low = __builtin_bswap32(low);
        high = __builtin_bswap32(high);
      }
      return low | (static_cast<uint64_t>(high) << (8 * (size - 4)));
    }
    if (size == 0) {
      return 0;
    }
    return p[0] | (static_cast<uint64_t>(p[size / 2]) << (8 * (size / 2))) |
           (static_cast<uint64_t>(p[size - 1]) << (8 * (size - 1)));
  }

  void round() {
    v0_ += v1_;
    v1_ = std::rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = std::rotl(v0_, 32);
    v2_ += v3_;
    v3_ = std::rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = std::rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = std::rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = std::rotl(v2_, 32);
  }
  void compress(uint64_t word) {
    v3_ ^= word;
    round();
    round();
    v0_ ^= word;
  }

  uint64_t v0_;
  uint64_t v1_;
  uint64_t v2_;
  uint64_t v3_;
  uint64_t pending_ = 0;
  unsigned fill_ = 0;  // bytes in pending_, 0..7
  uint64_t total_ = 0;
};

}  // namespace sipshield::parser
