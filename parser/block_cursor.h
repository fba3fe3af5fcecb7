#pragma once

#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/scan_kernel.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {

// BlockCursor answers "where is the next special / non-token byte at or after `pos`" from the
// structural masks of the active kernel (scan_kernel.h), classifying 64 bytes per kernel call
// and caching the last block, so a walk over a header block or a header value touches each
// byte about once instead of once per byte class and per sub-parser step.
//
// Positions from `limit` on count as both special and non-token, so every answer is at most
// `limit`. It reads only [begin, readable) of `p` (readable >= limit, the end of the buffer
// when known): a block that would cross `readable` is copied into a local 64-byte buffer
// first. Not thread-safe (one per walk); allocates nothing.
class BlockCursor {
 public:
  // `p` is the buffer, [begin, limit) the bytes the walk looks at, [begin, readable) the bytes
  // it may read (a larger `readable` saves copying short tails). Classifies the first block.
  BlockCursor(const char* p, uint32_t begin, uint32_t limit, uint32_t readable)
      : p_(p), limit_(limit), readable_(readable > limit ? readable : limit) {
    load(begin);
  }
  BlockCursor(const char* p, uint32_t begin, uint32_t limit)
      : BlockCursor(p, begin, limit, limit) {}

  // nextSpecial returns the offset of the first special byte (control but HTAB, or DEL) at or
  // after `pos`, or `limit` when there is none.
  [[nodiscard]] uint32_t nextSpecial(uint32_t pos) { return next<&BlockMasks::special>(pos); }

  // nextNonToken returns the offset of the first byte at or after `pos` that is not an
  // RFC 3261 token character, or `limit` when all are.
  [[nodiscard]] uint32_t nextNonToken(uint32_t pos) {
    return next<&BlockMasks::non_token>(pos);
  }

  [[nodiscard]] uint32_t limit() const { return limit_; }

 private:
  template <uint64_t BlockMasks::*Mask>
  uint32_t next(uint32_t pos) {
    while (true) {
      if (__builtin_expect(pos >= limit_, 0)) {
        return limit_;
      }
      // Unsigned: a `pos` before the cached block also wraps to >= 64 and reloads.
      if (__builtin_expect(pos - base_ >= kBlockSize, 0)) {
        load(pos);
      }
      uint64_t bits = (masks_.*Mask) >> (pos - base_);
      if (__builtin_expect(bits != 0, 1)) {
        return pos + static_cast<uint32_t>(__builtin_ctzll(bits));
      }
      pos = base_ + static_cast<uint32_t>(kBlockSize);
    }
  }

  void load(uint32_t base) {
    base_ = base;
    if (base < readable_ && readable_ - base >= kBlockSize) {
      masks_ = detail::g_classify_block(p_ + base);
    } else {
      uint32_t valid = base < readable_ ? readable_ - base : 0;
      char tail[kBlockSize];
      std::memcpy(tail, kPadding, sizeof(tail));
      if (valid > 0) {
        std::memcpy(tail, p_ + base, valid);
      }
      masks_ = detail::g_classify_block(tail);
    }
    // Bytes from `limit` on stop every search there.
    uint32_t inside = base < limit_ ? limit_ - base : 0;
    if (inside < kBlockSize) {
      uint64_t beyond = ~0ull << inside;
      masks_.special |= beyond;
      masks_.non_token |= beyond;
    }
  }

  static constexpr char kPadding[kBlockSize] = {};  // any bytes: masked off

  const char* p_;
  uint32_t limit_;
  uint32_t readable_;
  uint32_t base_ = 0;
  BlockMasks masks_{0, 0};
};

// HostMasks classifies 64 bytes for the via-parm fast path: bit i of `non_host` is set when
// byte i is not a host character (alphanum, '-', '.'; isHostChar), bit i of `non_value` when
// it is neither a host character nor ':' (the characters of a common via-param value,
// including a bracketless IPv6 received=).
struct HostMasks {
  uint64_t non_host;
  uint64_t non_value;
};

// classifyHost64 computes the HostMasks of the 64 bytes at `p` (all of them readable), with
// SSE2 (baseline x86-64): three unsigned range checks per 16 bytes instead of a table load
// and a branch per byte. Thread-safe.
inline HostMasks classifyHost64(const char* p) {
#if defined(__SSE2__)
  // x in [lo, lo + n) as an unsigned byte  <=>  (x + 0x80 - lo) as a signed byte < -128 + n.
  auto in_range = [](__m128i x, char lo, int n) {
    __m128i shifted = _mm_add_epi8(x, _mm_set1_epi8(static_cast<char>(0x80 - lo)));
    return _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + n)));
  };
  uint64_t value = 0;
  uint64_t colon = 0;
  for (int k = 0; k < 4; ++k) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    __m128i alpha = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);
    __m128i dash_dot = in_range(x, '-', 2);
    __m128i digit_colon = in_range(x, '0', 11);  // '0'..'9' and ':'
    __m128i any = _mm_or_si128(_mm_or_si128(alpha, dash_dot), digit_colon);
    value |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(any))) << (16 * k);
    __m128i is_colon = _mm_cmpeq_epi8(x, _mm_set1_epi8(':'));
    colon |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(is_colon)))
             << (16 * k);
  }
  return {~value | colon, ~value};
#else
  HostMasks m{0, 0};
  for (int i = 0; i < 64; ++i) {
    bool host = isHostChar(p[i]);
    m.non_host |= static_cast<uint64_t>(!host) << i;
    m.non_value |= static_cast<uint64_t>(!host && p[i] != ':') << i;
  }
  return m;
#endif
}

// HostCursor is BlockCursor for the host-character classes of HostMasks: "where is the next
// byte at or after `pos` that is not a host character (or not a value character)", one
// classification per 64 bytes, inline and without the kernel call. Same contract as
// BlockCursor: positions from `limit` on stop every search (answers are at most `limit`),
// and only [begin, readable) is read (a block crossing `readable` is copied first).
// Not thread-safe (one per walk); allocates nothing.
class HostCursor {
 public:
  HostCursor(const char* p, uint32_t begin, uint32_t limit, uint32_t readable)
      : p_(p), limit_(limit), readable_(readable > limit ? readable : limit) {
    load(begin);
  }

  // nextNonHost returns the offset of the first byte at or after `pos` that is not a host
  // character (isHostChar), or `limit` when there is none.
  [[nodiscard]] uint32_t nextNonHost(uint32_t pos) { return next<&HostMasks::non_host>(pos); }

  // nextNonValue is nextNonHost with ':' counted as a value character.
  [[nodiscard]] uint32_t nextNonValue(uint32_t pos) { return next<&HostMasks::non_value>(pos); }

 private:
  template <uint64_t HostMasks::*Mask>
  uint32_t next(uint32_t pos) {
    // The common case first: `pos` inside the cached block and a stop in it. No `limit`
    // test is needed here: callers never ask past `limit`, and at `limit` the bit is set.
    const uint32_t offset = pos - base_;
    if (__builtin_expect(offset < kBlockSize, 1)) {
      const uint64_t bits = (masks_.*Mask) >> offset;
      if (__builtin_expect(bits != 0, 1)) {
        return pos + static_cast<uint32_t>(__builtin_ctzll(bits));
      }
    }
    return nextSlow<Mask>(pos);
  }

  template <uint64_t HostMasks::*Mask>
  uint32_t nextSlow(uint32_t pos) {
    while (true) {
      if (pos >= limit_) {
        return limit_;
      }
      if (pos - base_ >= kBlockSize) {
        load(pos);
      }
      uint64_t bits = (masks_.*Mask) >> (pos - base_);
      if (bits != 0) {
        return pos + static_cast<uint32_t>(__builtin_ctzll(bits));
      }
      pos = base_ + static_cast<uint32_t>(kBlockSize);
    }
  }

  void load(uint32_t base) {
    base_ = base;
    if (__builtin_expect(base < readable_ && readable_ - base >= kBlockSize, 1)) {
      masks_ = classifyHost64(p_ + base);
    } else {
      loadTail(base);
    }
    uint32_t inside = base < limit_ ? limit_ - base : 0;
    if (inside < kBlockSize) {
      uint64_t beyond = ~0ull << inside;
      masks_.non_host |= beyond;
      masks_.non_value |= beyond;
    }
  }

  // loadTail classifies a block that crosses `readable` from a zero-padded copy; kept out of
  // line so the common path needs no 64-byte stack buffer.
  [[gnu::noinline]] void loadTail(uint32_t base) {
    uint32_t valid = base < readable_ ? readable_ - base : 0;
    char tail[kBlockSize] = {};
    if (valid > 0) {
      std::memcpy(tail, p_ + base, valid);
    }
    masks_ = classifyHost64(tail);
  }

  const char* p_;
  uint32_t limit_;
  uint32_t readable_;
  uint32_t base_ = 0;
  HostMasks masks_{0, 0};
};

}  // namespace sipshield::parser
