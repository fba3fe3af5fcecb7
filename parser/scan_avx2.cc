#include <immintrin.h>

#include "parser/char_class.h"
#include "parser/scan_kernel.h"

namespace sipshield::parser {
namespace {

// specialMask32 / nonTokenMask32: one bit per byte of `v`, as classifyBlockScalar defines.
__attribute__((target("avx2"))) inline uint32_t specialMask32(__m256i v) {
  const __m256i ctl_max = _mm256_set1_epi8(0x1F);
  const __m256i htab = _mm256_set1_epi8('\t');
  const __m256i del = _mm256_set1_epi8(0x7F);
  __m256i is_ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl_max), v);
  __m256i is_special = _mm256_or_si256(_mm256_andnot_si256(_mm256_cmpeq_epi8(v, htab), is_ctl),
                                       _mm256_cmpeq_epi8(v, del));
  return static_cast<uint32_t>(_mm256_movemask_epi8(is_special));
}

__attribute__((target("avx2"))) inline uint32_t nonTokenMask32(__m256i v) {
  const __m256i low_table = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTokenLowNibble.data())));
  const __m256i high_table = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTokenHighNibble.data())));
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256i low = _mm256_shuffle_epi8(low_table, _mm256_and_si256(v, nibble));
  __m256i high =
      _mm256_shuffle_epi8(high_table, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
  __m256i none = _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256());
  return static_cast<uint32_t>(_mm256_movemask_epi8(none));
}

}  // namespace

// 32 bytes per step, same predicate as the SSE4.2 kernel; a 16-byte step then the scalar
// kernel finish the tail so nothing past p + n is read.
__attribute__((target("avx2"))) size_t findSpecialAvx2(const char* p, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint32_t mask = specialMask32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    if (mask != 0) {
      return i + static_cast<size_t>(__builtin_ctz(mask));
    }
  }
  return i + findSpecialSse42(p + i, n - i);
}

__attribute__((target("avx2"))) LineEnds findLineAvx2(const char* p, size_t n) {
  size_t i = 0;
  size_t non_token = n;
  bool have_non_token = false;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    if (!have_non_token) {
      uint32_t nt = nonTokenMask32(v);
      if (nt != 0) {
        non_token = i + static_cast<size_t>(__builtin_ctz(nt));
        have_non_token = true;
      }
    }
    uint32_t mask = specialMask32(v);
    if (mask != 0) {
      return {i + static_cast<size_t>(__builtin_ctz(mask)), non_token};
    }
  }
  LineEnds tail = findLineSse42(p + i, n - i);
  return {i + tail.special, have_non_token ? non_token : i + tail.non_token};
}

__attribute__((target("avx2"))) BlockMasks classifyBlockAvx2(const char* p) {
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  return {static_cast<uint64_t>(specialMask32(lo)) |
              (static_cast<uint64_t>(specialMask32(hi)) << 32),
          static_cast<uint64_t>(nonTokenMask32(lo)) |
              (static_cast<uint64_t>(nonTokenMask32(hi)) << 32)};
}

}  // namespace sipshield::parser
