#include <immintrin.h>

#include "parser/scan_kernel.h"

namespace sipshield::parser {

// 16 bytes per step: a byte is special when it is <= 0x1F (unsigned) and not HTAB, or DEL.
__attribute__((target("sse4.2"))) size_t findSpecialSse42(const char* p, size_t n) {
  const __m128i ctl_max = _mm_set1_epi8(0x1F);
  const __m128i htab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7F);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i is_ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_max), v);
    __m128i is_special = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, htab), is_ctl),
                                      _mm_cmpeq_epi8(v, del));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(is_special));
    if (mask != 0) {
      return i + static_cast<size_t>(__builtin_ctz(mask));
    }
  }
  return i + findSpecialScalar(p + i, n - i);
}

}  // namespace sipshield::parser
