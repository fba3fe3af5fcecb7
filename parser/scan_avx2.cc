#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser {
namespace {

// specialMask32 / nonTokenMask32: one bit per byte of `v`, as classifyBlockScalar defines.
__attribute__((target("avx2"), always_inline)) inline uint32_t specialMask32(__m256i v) {
  const __m256i ctl_max = _mm256_set1_epi8(0x1F);
  const __m256i htab = _mm256_set1_epi8('\t');
  const __m256i del = _mm256_set1_epi8(0x7F);
  __m256i is_ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl_max), v);
  __m256i is_special = _mm256_or_si256(_mm256_andnot_si256(_mm256_cmpeq_epi8(v, htab), is_ctl),
                                       _mm256_cmpeq_epi8(v, del));
  return static_cast<uint32_t>(_mm256_movemask_epi8(is_special));
}

__attribute__((target("avx2"), always_inline)) inline uint32_t nonTokenMask32(__m256i v) {
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

// classifyAvx2 is classifyBlockAvx2, inlined into the walk below.
__attribute__((target("avx2"), always_inline)) inline BlockMasks classifyAvx2(const char* p) {
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  return {static_cast<uint64_t>(specialMask32(lo)) |
              (static_cast<uint64_t>(specialMask32(hi)) << 32),
          static_cast<uint64_t>(nonTokenMask32(lo)) |
              (static_cast<uint64_t>(nonTokenMask32(hi)) << 32)};
}

__attribute__((target("avx2"))) BlockMasks classifyBlockAvx2(const char* p) {
  return classifyAvx2(p);
}

}  // namespace sipshield::parser

// The line walk with the classifier inlined: compiled for avx2 only from here on (every
// header it includes was included above, outside the pragma).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#include "parser/scan_walk.h"

namespace sipshield::parser {
namespace {
struct Avx2Kernel {
  __attribute__((always_inline)) static BlockMasks classify(const char* p) {
    return classifyAvx2(p);
  }
};
}  // namespace

ScanResult walkAvx2(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                    const ScanLimits& limits) {
  return detail::LineWalker<Avx2Kernel>(p, size, start, out, limits).run();
}

}  // namespace sipshield::parser
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
