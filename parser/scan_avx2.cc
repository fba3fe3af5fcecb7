#include <immintrin.h>

#include "parser/scan_kernel.h"

namespace sipshield::parser {

// 32 bytes per step, same predicate as the SSE4.2 kernel; a 16-byte step then the scalar
// kernel finish the tail so nothing past p + n is read.
__attribute__((target("avx2"))) size_t findSpecialAvx2(const char* p, size_t n) {
  const __m256i ctl_max = _mm256_set1_epi8(0x1F);
  const __m256i htab = _mm256_set1_epi8('\t');
  const __m256i del = _mm256_set1_epi8(0x7F);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i is_ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl_max), v);
    __m256i is_special = _mm256_or_si256(
        _mm256_andnot_si256(_mm256_cmpeq_epi8(v, htab), is_ctl), _mm256_cmpeq_epi8(v, del));
    unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(is_special));
    if (mask != 0) {
      return i + static_cast<size_t>(__builtin_ctz(mask));
    }
  }
  return i + findSpecialSse42(p + i, n - i);
}

}  // namespace sipshield::parser
