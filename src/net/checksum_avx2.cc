// The AVX2 Internet-checksum kernel (checksum_kernel.h). Compiled for baseline x86-64 like the
// rest of the binary: only the functions below carry target("avx2"), and checksumAdd calls
// them only when cpuid says the CPU has AVX2.
#include <immintrin.h>

#include "src/net/checksum_kernel.h"

namespace sipshield::net {
namespace {

// addHalves adds the eight little-endian 32-bit words of `v` to the four 64-bit lanes of
// `low` (words 0, 2, 4, 6) and `high` (words 1, 3, 5, 7): the same words the portable kernel
// sums, so the totals agree exactly. 64-bit lanes cannot overflow below 2^32 loads.
__attribute__((target("avx2"), always_inline)) inline void addHalves(__m256i v, __m256i& low,
                                                                     __m256i& high) {
  low = _mm256_add_epi64(low, _mm256_and_si256(v, _mm256_set1_epi64x(0xFFFFFFFF)));
  high = _mm256_add_epi64(high, _mm256_srli_epi64(v, 32));
}

}  // namespace

__attribute__((target("avx2"))) uint64_t checksumAddAvx2(const uint8_t* data, size_t length,
                                                         uint64_t sum) {
  // Four independent accumulator pairs over 128 bytes per iteration: the adds of one
  // iteration do not wait on each other, so the loop runs at load throughput.
  __m256i low0 = _mm256_setzero_si256();
  __m256i high0 = _mm256_setzero_si256();
  __m256i low1 = _mm256_setzero_si256();
  __m256i high1 = _mm256_setzero_si256();
  while (length >= 128) {
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data)), low0, high0);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32)), low1, high1);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 64)), low0, high0);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 96)), low1, high1);
    data += 128;
    length -= 128;
  }
  while (length >= 32) {
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data)), low0, high0);
    data += 32;
    length -= 32;
  }
  // The last 0..31 bytes: whole 32-bit words with a masked load (masked-off words are not
  // read, so nothing past the end is touched), then the last 0..3 bytes zero-padded into one
  // more little-endian word, as the portable kernel pads its tail.
  const size_t words = length / 4;
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(words)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  addHalves(_mm256_maskload_epi32(reinterpret_cast<const int*>(data), mask), low1, high1);
  data += words * 4;
  length -= words * 4;
  const uint64_t last = detail::loadTail(data, length);  // 0..3 bytes
  const __m256i total =
      _mm256_add_epi64(_mm256_add_epi64(low0, high0), _mm256_add_epi64(low1, high1));
  const __m128i half =
      _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
  const uint64_t acc = static_cast<uint64_t>(_mm_cvtsi128_si64(half)) +
                       static_cast<uint64_t>(_mm_extract_epi64(half, 1)) + last;
  return detail::finishChecksum(acc, sum);
}

}  // namespace sipshield::net
