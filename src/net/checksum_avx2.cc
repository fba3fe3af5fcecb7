// The AVX2 Internet-checksum kernel (checksum_kernel.h). Compiled for baseline x86-64 like the
// rest of the binary: only the functions below carry target("avx2"), and checksumAdd calls
// them only when cpuid says the CPU has AVX2.
#include <immintrin.h>

#include "src/net/checksum.h"
#include "src/net/checksum_kernel.h"

namespace sipshield::net {
namespace {

// Sums holds four independent accumulator pairs: the adds of one 128-byte step do not wait on
// each other, so the loop runs at load throughput. (No constructor: it would be compiled
// without AVX.)
struct Sums {
  __m256i low0;
  __m256i high0;
  __m256i low1;
  __m256i high1;
};

__attribute__((target("avx2"), always_inline)) inline void clear(Sums& sums) {
  sums.low0 = _mm256_setzero_si256();
  sums.high0 = _mm256_setzero_si256();
  sums.low1 = _mm256_setzero_si256();
  sums.high1 = _mm256_setzero_si256();
}

// addHalves adds the eight little-endian 32-bit words of `v` to the four 64-bit lanes of
// `low` (words 0, 2, 4, 6) and `high` (words 1, 3, 5, 7): the same words the portable kernel
// sums, so the totals agree exactly. 64-bit lanes cannot overflow below 2^32 loads.
__attribute__((target("avx2"), always_inline)) inline void addHalves(__m256i v, __m256i& low,
                                                                     __m256i& high) {
  low = _mm256_add_epi64(low, _mm256_and_si256(v, _mm256_set1_epi64x(0xFFFFFFFF)));
  high = _mm256_add_epi64(high, _mm256_srli_epi64(v, 32));
}

// addChunks adds the whole 32-byte chunks of [data, data + length) to `sums` and returns how
// many bytes it added (length rounded down to 32).
__attribute__((target("avx2"), always_inline)) inline size_t addChunks(const uint8_t* data,
                                                                       size_t length,
                                                                       Sums& sums) {
  const size_t whole = length & ~size_t{31};
  const uint8_t* const end = data + whole;
  while (end - data >= 128) {
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data)), sums.low0, sums.high0);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32)), sums.low1,
              sums.high1);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 64)), sums.low0,
              sums.high0);
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 96)), sums.low1,
              sums.high1);
    data += 128;
  }
  while (data != end) {
    addHalves(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data)), sums.low0, sums.high0);
    data += 32;
  }
  return whole;
}

// total returns the plain sum of every word added to `sums`, plus `extra`.
__attribute__((target("avx2"), always_inline)) inline uint64_t total(const Sums& sums,
                                                                     uint64_t extra) {
  const __m256i all = _mm256_add_epi64(_mm256_add_epi64(sums.low0, sums.high0),
                                       _mm256_add_epi64(sums.low1, sums.high1));
  const __m128i half =
      _mm_add_epi64(_mm256_castsi256_si128(all), _mm256_extracti128_si256(all, 1));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(half)) +
         static_cast<uint64_t>(_mm_extract_epi64(half, 1)) + extra;
}

// finish adds the last 0..31 bytes at `data` and returns checksumAdd's result for everything
// added: whole 32-bit words with a masked load (masked-off words are not read, so nothing past
// the end is touched), then the last 0..3 bytes zero-padded into one more little-endian word,
// as the portable kernel pads its tail.
__attribute__((target("avx2"), always_inline)) inline uint64_t finish(const uint8_t* data,
                                                                      size_t length, Sums& sums,
                                                                      uint64_t sum) {
  const size_t words = length / 4;
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(words)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  addHalves(_mm256_maskload_epi32(reinterpret_cast<const int*>(data), mask), sums.low1,
            sums.high1);
  data += words * 4;
  length -= words * 4;
  return detail::finishChecksum(total(sums, detail::loadTail(data, length)), sum);
}

}  // namespace

__attribute__((target("avx2"))) uint64_t checksumAddAvx2(const uint8_t* data, size_t length,
                                                         uint64_t sum) {
  Sums sums;
  clear(sums);
  const size_t added = addChunks(data, length, sums);
  return finish(data + added, length - added, sums, sum);
}

__attribute__((target("avx2"))) uint64_t checksumAddMarkedAvx2(const uint8_t* data,
                                                               size_t length, uint64_t sum,
                                                               uint64_t& at_mark) {
  // The same words into the same accumulators as checksumAddAvx2, with a look at them once
  // the mark is passed: the total is exactly checksumAddAvx2's, and `at_mark` is exactly
  // what checksumAddAvx2 returns for the first kChecksumMarkBytes (a multiple of 128, so
  // that call would have nothing left for its masked tail either).
  static_assert(kChecksumMarkBytes % 128 == 0, "the mark ends a 128-byte step");
  Sums sums;
  clear(sums);
  if (length < kChecksumMarkBytes) {
    const size_t added = addChunks(data, length, sums);
    at_mark = finish(data + added, length - added, sums, sum);
    return at_mark;
  }
  addChunks(data, kChecksumMarkBytes, sums);
  at_mark = detail::finishChecksum(total(sums, 0), sum);
  data += kChecksumMarkBytes;
  length -= kChecksumMarkBytes;
  const size_t added = addChunks(data, length, sums);
  return finish(data + added, length - added, sums, sum);
}

}  // namespace sipshield::net
