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

namespace detail {

// hostBits16 has bit i set when byte i of the 16 bytes at `p` (all readable) is a host
// character (isHostChar). SSE2: two range checks and one compare, each range mapped onto the
// top of the signed bytes so one signed compare against a constant decides it.
inline uint32_t hostBits16(const char* p) {
#if defined(__SSE2__)
  // x in [lo, lo + n) as an unsigned byte  <=>  (x + 128 - lo - n) as a signed byte > 127 - n.
  auto in_range = [](__m128i x, int lo, int n) {
    __m128i shifted = _mm_add_epi8(x, _mm_set1_epi8(static_cast<char>(128 - lo - n)));
    return _mm_cmpgt_epi8(shifted, _mm_set1_epi8(static_cast<char>(127 - n)));
  };
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i alpha = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);
  const __m128i dash_to_nine = in_range(x, '-', 13);  // "-./0123456789"
  const __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('/'));
  return static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_andnot_si128(slash, _mm_or_si128(alpha, dash_to_nine))));
#else
  uint32_t bits = 0;
  for (int i = 0; i < 16; ++i) {
    bits |= static_cast<uint32_t>(isHostChar(p[i])) << i;
  }
  return bits;
#endif
}

// HostWindows are two 64-bit windows of non-host bits: bit i of `low` describes byte i, bit i
// of `high` byte 64 + i.
struct HostWindows {
  uint64_t low;
  uint64_t high;
};

// nonHostSteps has a bit set for each byte of the 16-byte steps that hold the first `count`
// bytes at `p` (1 or more; past 128, the first 128) that is not a host character, and for
// every byte past those steps: it classifies only those steps, so it reads p[0, count rounded
// up to 16). Bits of the last step past `count` describe the bytes there, read like the others.
inline HostWindows nonHostSteps(const char* p, uint32_t count) {
  auto step = [p](uint32_t k) {
    return static_cast<uint64_t>(hostBits16(p + 16 * k)) << (16 * (k % 4));
  };
  uint64_t low = 0;
  uint64_t high = 0;
  if (count >= 64) {
    // The low window whole, without a test per step (most via-parms fill it).
    low = step(0) | step(1) | step(2) | step(3);
    if (count > 64) {
      high = step(4);
      if (count > 80) {
        high |= step(5);
        if (count > 96) {
          high |= step(6);
          if (count > 112) {
            high |= step(7);
          }
        }
      }
    }
  } else {
    low = step(0);
    if (count > 16) {
      low |= step(1);
      if (count > 32) {
        low |= step(2);
        if (count > 48) {
          low |= step(3);
        }
      }
    }
  }
  return {~low, ~high};  // steps not classified are "not host"
}

// nonHostStepsCopy is nonHostSteps for the `count` bytes at `base` of `p` when their 16-byte
// steps would cross `readable` (base < readable): it classifies a zero-padded copy.
[[gnu::noinline]] inline HostWindows nonHostStepsCopy(const char* p, uint32_t base,
                                                      uint32_t count, size_t readable) {
  char copy[2 * kBlockSize] = {};
  const size_t valid = readable - base;
  std::memcpy(copy, p + base, valid < sizeof(copy) ? valid : sizeof(copy));
  return nonHostSteps(copy, count);
}

// nonHostStepsAt is nonHostSteps for the bytes of `p` from `base` through `last` (at most the
// first 128; base <= last < readable), reading only before `readable`: steps that would cross
// it are classified from a zero-padded copy (zero is not a host character).
inline HostWindows nonHostStepsAt(const char* p, uint32_t base, uint32_t last, size_t readable) {
  const uint32_t count = last - base + 1;  // past 128: the steps stop there (no clamp needed)
  // The steps end before base + count + 15 <= last + 16: one compare instead of the exact
  // bound (the copy is for the last 16 bytes of a buffer only).
  if (__builtin_expect(readable - last >= 16, 1)) {
    return nonHostSteps(p + base, count);
  }
  return nonHostStepsCopy(p, base, count, readable);
}

}  // namespace detail

// lowestBit is the index of the lowest set bit of `bits` (not zero): __builtin_ctzll without
// the register clear GCC puts before each tzcnt (for CPUs where tzcnt depends on its output
// register); bsf has that dependency too, but is one instruction instead of two per answer.
inline uint32_t lowestBit(uint64_t bits) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  uint64_t index;
  asm("bsfq %1, %0" : "=r"(index) : "rm"(bits) : "cc");
  return static_cast<uint32_t>(index);
#else
  return static_cast<uint32_t>(__builtin_ctzll(bits));
#endif
}

// HostRunEnds lists, in increasing order, the offsets of the bytes in [begin, last] that are
// not host characters (isHostChar): where a via-parm's tokens of the common shape end, for a
// walk whose last byte is known not to be a host character (a via-parm's line ends before CR
// or white space). It classifies the bytes up front (16 bytes per SSE2 step, only as far as
// `last`) and takes the offsets out one by one (lowest set bit), so a walk costs a few
// instructions per separator and makes no call. It classifies at most kReach bytes: when
// last >= begin + kReach, it also lists every offset from begin + kReach on, so a walk must
// give up at a listed host character. It needs no marking of `last`: answers past `last`
// (when last < begin + kReach) are unspecified but increasing, and the walk must stop at
// `last`. Reads only [begin, readable) of `p` (begin <= last < readable); steps that would
// cross `readable` are classified from a zero-padded copy. Not thread-safe; allocates nothing.
// Meant to live in registers: keep it a local and do not take its address.
class HostRunEnds {
 public:
  static constexpr uint32_t kReach = 2 * kBlockSize;

  HostRunEnds(const char* p, uint32_t begin, uint32_t last, uint32_t readable)
      : HostRunEnds(begin, detail::nonHostStepsAt(p, begin, last, readable)) {}
  // From windows already classified at `begin` (nonHostStepsAt).
  HostRunEnds(uint32_t begin, detail::HostWindows windows)
      : base_(begin), low_(windows.low), high_(windows.high) {}

  // next returns the next offset of the list (the first call: the first one at or after
  // `begin`).
  [[nodiscard]] uint32_t next() {
    while (__builtin_expect(low_ == 0, 0)) {
      advance();
    }
    const uint32_t at = base_ + lowestBit(low_);
    low_ &= low_ - 1;
    return at;
  }

  // skipTo drops the offsets before `pos` (after the last answer), for a stretch the caller
  // read by itself.
  void skipTo(uint32_t pos) {
    while (pos - base_ >= kBlockSize) {
      advance();
    }
    low_ &= ~0ull << (pos - base_);
  }

 private:
  // advance moves to the next 64-byte window: the high one, then past the reach.
  void advance() {
    base_ += static_cast<uint32_t>(kBlockSize);
    low_ = high_;
    high_ = ~0ull;
  }

  uint32_t base_;
  uint64_t low_;   // the window at base_, offsets already taken cleared
  uint64_t high_;  // the window at base_ + 64
};

}  // namespace sipshield::parser
