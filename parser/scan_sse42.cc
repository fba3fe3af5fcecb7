#include <immintrin.h>

#include "parser/char_class.h"
#include "parser/scan_kernel.h"

namespace sipshield::parser {
namespace {

// specialMask16 / nonTokenMask16: one bit per byte of `v`, as classifyBlockScalar defines.
__attribute__((target("sse4.2"))) inline unsigned specialMask16(__m128i v) {
  const __m128i ctl_max = _mm_set1_epi8(0x1F);
  const __m128i htab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7F);
  __m128i is_ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_max), v);
  __m128i is_special = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, htab), is_ctl),
                                    _mm_cmpeq_epi8(v, del));
  return static_cast<unsigned>(_mm_movemask_epi8(is_special));
}

__attribute__((target("sse4.2"))) inline unsigned nonTokenMask16(__m128i v) {
  const __m128i low_table =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTokenLowNibble.data()));
  const __m128i high_table =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTokenHighNibble.data()));
  const __m128i nibble = _mm_set1_epi8(0x0F);
  __m128i low = _mm_shuffle_epi8(low_table, _mm_and_si128(v, nibble));
  __m128i high = _mm_shuffle_epi8(high_table, _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
  __m128i none = _mm_cmpeq_epi8(_mm_and_si128(low, high), _mm_setzero_si128());
  return static_cast<unsigned>(_mm_movemask_epi8(none));
}

}  // namespace

// 16 bytes per step: a byte is special when it is <= 0x1F (unsigned) and not HTAB, or DEL.
__attribute__((target("sse4.2"))) size_t findSpecialSse42(const char* p, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    unsigned mask = specialMask16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    if (mask != 0) {
      return i + static_cast<size_t>(__builtin_ctz(mask));
    }
  }
  return i + findSpecialScalar(p + i, n - i);
}

__attribute__((target("sse4.2"))) LineEnds findLineSse42(const char* p, size_t n) {
  size_t i = 0;
  size_t non_token = n;
  bool have_non_token = false;
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    if (!have_non_token) {
      unsigned nt = nonTokenMask16(v);
      if (nt != 0) {
        non_token = i + static_cast<size_t>(__builtin_ctz(nt));
        have_non_token = true;
      }
    }
    unsigned mask = specialMask16(v);
    if (mask != 0) {
      return {i + static_cast<size_t>(__builtin_ctz(mask)), non_token};
    }
  }
  LineEnds tail = findLineScalar(p + i, n - i);
  return {i + tail.special, have_non_token ? non_token : i + tail.non_token};
}

__attribute__((target("sse4.2"))) BlockMasks classifyBlockSse42(const char* p) {
  BlockMasks m{0, 0};
  for (size_t i = 0; i < kBlockSize; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    m.special |= static_cast<uint64_t>(specialMask16(v)) << i;
    m.non_token |= static_cast<uint64_t>(nonTokenMask16(v)) << i;
  }
  return m;
}

}  // namespace sipshield::parser
