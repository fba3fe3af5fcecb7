#pragma once

#include <cstdint>
#include <cstring>

#include "parser/scan_kernel.h"

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

}  // namespace sipshield::parser
