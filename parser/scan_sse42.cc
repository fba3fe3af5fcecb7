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

// The line walk with the classifier inlined: compiled for sse4.2 only from here on (every
// header it includes was included above, outside the pragma).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sse4.2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("sse4.2")
#endif
#include "parser/scan_walk.h"

namespace sipshield::parser {
namespace {
struct Sse42Kernel {
  struct Constants {};
  static Constants constants() { return {}; }
  static BlockMasks classify(const Constants& /*unused*/, const char* p) {
    return classifyBlockSse42(p);
  }
  static HeaderId lookupName(const char* name, uint32_t length) {
    return detail::lookupHeaderNameWide(name, length);
  }
};
}  // namespace

ScanResult walkSse42(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                    const ScanLimits& limits) {
  return detail::LineWalker<Sse42Kernel>(p, size, start, out, limits).run();
}

}  // namespace sipshield::parser
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
