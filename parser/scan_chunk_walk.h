#pragma once

// Internal: the AVX2 scanner's fast line walk. Only parser/scan_avx2.cc includes this, under
// its `#pragma GCC target("avx2")`, after everything this file includes (as with scan_walk.h).
//
// How it walks: each header name is read from the 32 bytes at its line's start, which also
// serve the name lookup, instead of sliding a window of 64-byte block masks along the message
// (LineWalker, scan_walk.h): fewer instructions than keeping block masks, funnel shifts and
// window slides. The name ends at the first ':'; a known name needs no other check, and only
// other names are classified (token characters), off the common path.
//
// Where each line ends comes from a bitmap of the special bytes of the input's first
// kEndWords * 64 bytes, built before the walk (EndBitmap). Building it costs more
// instructions than classifying each line's bytes as the walk reaches them, but its blocks do
// not depend on each other, while a line's end found by classifying its bytes is a chain
// (load, classify, mask, count, next line) that every later line waits on: with the bitmap,
// the next line's start is a load, a shift and a count away, and the per-line work overlaps.
//
// It handles only the common shape of a message: every header line "Name: value" with one SP
// after the colon, no white space around the value, CRLF endings, no repeated single-valued
// header and a header array large enough. On anything else it gives up (returns false) and
// the caller scans the message again with LineWalker, which owns every verdict on unusual
// input. So every message it completes must get exactly LineWalker's result and fields; the
// differential test (tests/parser/chunk_walk_test.cc) holds the two walks to that.

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "parser/header_lookup.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser::detail {

// Kernel provides a `Constants` type with `static Constants constants()`, `static uint32_t
// special32(const Constants&, __m256i v)` and `static uint32_t nonToken32(const Constants&,
// __m256i v)` (the `special` and `non_token` BlockMasks of scan_kernel.h for 32 bytes),
// `static uint64_t special64(const Constants&, const char* q)` (the `special` mask of the 64
// bytes at q), `static uint32_t colons32(const Constants&, __m256i v)` (the ':' bytes) and
// `static bool findKnown(const Constants&, __m256i v, const char* name, uint32_t length,
// HeaderId& id)`: whether the name of `length` (< 32) bytes at the start of `v`, which holds
// the 32 readable bytes at `name` and is followed by ": ", is a known one, and which (`id`,
// not Other): lookupHeaderNameWide's result.
template <typename Kernel>
class ChunkWalker {
  using Constants = typename Kernel::Constants;

 public:
  // run scans the message that starts at `start` of [p, p + size) as LineWalker::run() does
  // (scan() has reset `out` and handled leading CRLFs), up to the end of its header block.
  // Returns the offset of the block's empty line (for finishMessage(), which the caller runs
  // with the whole input) when it completed the scan; 0 when the message needs LineWalker:
  // `out` may then hold partial fields, and the caller resets it before the second scan.
  // Never reads outside [p, p + size). Out of line: inlined into its caller, the fallback's
  // arguments would stay live across the whole walk and crowd its registers.
  __attribute__((noinline)) static uint32_t run(const char* p, uint32_t size, uint32_t start,
                                                SipMessage& out, const ScanLimits& limits) {
    // LineWalker's size limit: a header line (or the empty line) must start at most
    // max_message_bytes past `start`, so a line it accepts ends by limit_end (its CR at
    // limit_end - 2 at most). The walk takes the input to end there: then every CRLF it finds
    // lies within the limit and the loop needs no limit checks of its own; a line that would
    // cross limit_end finds no CRLF and goes to LineWalker. (scan() caps the size, so the sum
    // fits 64 bits.)
    const uint64_t limit_end = static_cast<uint64_t>(start) + limits.max_message_bytes + 2;
    if (limit_end < size) {
      size = static_cast<uint32_t>(limit_end);
    }
    // Lines that start before `chunk_end` have 32 readable bytes.
    if (__builtin_expect(size < kChunk || start >= size - kChunk + 1, 0)) {
      return 0;
    }
    const uint32_t chunk_end = size - kChunk + 1;
    // A CR before `fast_end` has its LF inside the input (LineWalker's `fast_end`). The loop
    // reaches the (clamped) size only through these two.
    const uint32_t fast_end = size - 1;

    // The index with a slot for HeaderId::Other (no branch per line on whether a name is
    // known), 8-bit counts (a message of more than 255 lines is left to LineWalker).
    alignas(32) int16_t first_index[48];
    alignas(32) uint8_t occurrences[64];
    static_assert(kKnownHeaderCount + 1 <= 48 && kKnownHeaderCount + 1 <= 64,
                  "the index arrays hold every HeaderId");
    static_assert(sizeof(out.first_index) <= sizeof(first_index) &&
                      sizeof(out.occurrences) <= sizeof(occurrences),
                  "copyIndex reads whole arrays");
    // The loop counts the lines left (`left`) instead of the lines seen: one value in a
    // register where a count and the capacity would be two (the loop has too few for both).
    // Lines are limited to 255 (the 8-bit counts) as well as to the header array. first_index
    // holds `left` after each first occurrence, `limit` (count -1 after copyIndex) for none.
    const uint32_t capacity = out.header_capacity;
    const uint32_t limit = capacity < 255 ? capacity : 255;
    const __m256i unseen = _mm256_set1_epi16(static_cast<int16_t>(limit));
    _mm256_store_si256(reinterpret_cast<__m256i*>(first_index), unseen);
    _mm256_store_si256(reinterpret_cast<__m256i*>(first_index) + 1, unseen);
    _mm256_store_si256(reinterpret_cast<__m256i*>(first_index) + 2, unseen);
    _mm256_store_si256(reinterpret_cast<__m256i*>(occurrences), _mm256_setzero_si256());
    _mm256_store_si256(reinterpret_cast<__m256i*>(occurrences) + 1, _mm256_setzero_si256());

    uint16_t pair;
    uint32_t eol;
    // Built first: it depends on nothing the walk finds.
    EndBitmap ends;
    {
      // The start line. (Its own constants: parseStartLine is a call, across which the loop's
      // would be spilled; loading them again below is cheaper.)
      const Constants k = Kernel::constants();
      ends.build(k, p, size);
      const uint32_t non_token =
          Kernel::nonToken32(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + start)));
      if (__builtin_expect(non_token == 0, 0)) {
        return 0;
      }
      const uint32_t token_end = start + static_cast<uint32_t>(__builtin_ctz(non_token));
      if (!lineEnd(k, p, chunk_end, ends, start, eol)) {
        return 0;
      }
      if (eol >= fast_end) {
        return 0;
      }
      std::memcpy(&pair, p + eol, sizeof(pair));
      if (pair != kCrLf) {
        return 0;
      }
      uint32_t at = 0;
      if (parseStartLine(p, start, eol, token_end, out, at) != ScanError::None) {
        return 0;
      }
    }

    const Constants k = Kernel::constants();
    HeaderField* field = out.headers;  // scan() set header_count to 0
    uint32_t left = limit;
    uint32_t line = eol + 2;
    alignas(32) char tail[2 * kChunk];
    while (true) {
      // The 32 bytes from the line's start, readable (the name lookup reads them again).
      const char* bytes;
      if (__builtin_expect(line < chunk_end, 1)) {
        bytes = p + line;
      } else {
        // The input's last 31 bytes: the line's bytes, then zeros. Zeros are control bytes,
        // so both searches stop at the end of the input (p + chunk_end - 1 + kChunk).
        if (line > fast_end) {
          return 0;
        }
        _mm256_store_si256(
            reinterpret_cast<__m256i*>(tail),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + chunk_end - 1)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(tail) + 1, _mm256_setzero_si256());
        bytes = tail + (line - (chunk_end - 1));
      }
      if (__builtin_expect(static_cast<unsigned char>(bytes[0]) <= ' ', 0)) {
        // Not a header name: the empty line that ends the header block, or a continuation
        // line (RFC 3261 §7.3.1), or something LineWalker judges.
        if (line >= fast_end) {
          return 0;
        }
        std::memcpy(&pair, p + line, sizeof(pair));
        if (pair == kCrLf) {
          break;
        }
        if ((p[line] != ' ' && p[line] != '\t') || field == out.headers) {
          return 0;
        }
        if (!lineEnd(k, p, chunk_end, ends, line, eol)) {
          return 0;
        }
        if (eol >= fast_end) {
          return 0;
        }
        std::memcpy(&pair, p + eol, sizeof(pair));
        if (pair != kCrLf) {
          return 0;
        }
        out.header_count = static_cast<uint16_t>(limit - left);
        (void)extendFolded(p, line, eol, out);  // None: the message has a header
        line = eol + 2;
        continue;
      }
      // The name [line, name_end) is taken to end at the line's first ':' (one compare; a
      // line without ':' in its first 32 bytes gets length 31 from the high bit, no branch of
      // its own). Whether it is all token characters is known once it is looked up: see the
      // lookup below. The line ends at its first special byte, which must be the CR of a
      // CRLF: no control byte in the value.
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
      const auto name_length =
          static_cast<uint32_t>(__builtin_ctz(Kernel::colons32(k, v) | 0x80000000u));
      const uint32_t name_end = line + name_length;
      if (__builtin_expect(left == 0, 0)) {
        return 0;  // the header array (or the 8-bit counts) would overflow
      }
      // The spans are stored as the checks pass, in separate blocks: stored together, the
      // compiler would assemble them in a vector register, more instructions than the stores.
      // (A line that fails a check leaves the message to LineWalker, partial fields and all.)
      field->name.offset = line;
      field->name.length = name_length;
      if (__builtin_expect(!lineEnd(k, p, chunk_end, ends, line, eol), 0)) {
        return 0;
      }
      if (__builtin_expect(eol >= fast_end, 0)) {
        return 0;
      }
      std::memcpy(&pair, p + eol, sizeof(pair));
      if (__builtin_expect(pair != kCrLf, 0)) {
        return 0;
      }
      // A ':' before the line's end is inside the line (name_end < eol), and so is ": ".
      // Without one, name_end (line + 31) may lie past the CR: that line fails here too,
      // having read only its own bytes or the CRLF's, as eol + 2 < size.
      uint16_t colon;
      std::memcpy(&colon, p + (name_end < eol ? name_end : eol), sizeof(colon));
      if (__builtin_expect(colon != kColonSpace, 0)) {
        return 0;
      }
      const uint32_t value = name_end + 2;
      // No white space to trim (an empty value shows its CR here).
      if (__builtin_expect(static_cast<unsigned char>(p[value]) <= ' ' ||
                               static_cast<unsigned char>((p + eol)[-1]) <= ' ',
                           0)) {
        return 0;
      }
      --left;
      field->value.offset = value;
      field->value.length = eol - value;
      line = eol + 2;
      // A known name found is the name's token characters: known names are letters and '-'
      // (namesFitTable; compact forms are letters), folding maps no other byte onto those but
      // CR (onto '-'), and a CR in the name would have been the line's end. Any other name is
      // classified: it must be token characters up to the ':' (and not empty), as LineWalker
      // requires.
      HeaderId id;
      if (__builtin_expect(!Kernel::findKnown(k, v, bytes, name_length, id), 0)) {
        const uint32_t non_token = Kernel::nonToken32(k, v);
        if (static_cast<uint32_t>(__builtin_ctz(non_token | 0x80000000u)) != name_length ||
            name_length == 0) {
          return 0;
        }
        id = HeaderId::Other;
      }
      field->id = id;
      ++field;
      const size_t slot = static_cast<uint8_t>(id);
      // The loop keeps each count negated: one decrement in memory whose borrow says "first
      // occurrence" (a count going up takes a load, an add, a store and a test; the compiler
      // does not make the decrement's borrow the test by itself).
      bool first;
      asm("subb $1, %0" : "+m"(occurrences[slot]), "=@ccc"(first));
      if (first) {
        first_index[slot] = static_cast<int16_t>(left);
      }
    }
    negateCounts(occurrences);
    // A repeated single-valued header needs LineWalker's value comparison (RFC 3261 §7.3.1).
    if (hasRepeatedSingle(occurrences)) {
      return 0;
    }
    out.header_count = static_cast<uint16_t>(limit - left);
    copyIndex(first_index, limit, occurrences, out);
    return line;
  }

 private:
  static constexpr uint32_t kChunk = 32;
  // The bitmap covers this many 64-byte blocks from the input's start: 2 KB, every header
  // block of the corpus. Lines past it are classified chunk by chunk as the walk reaches them.
  static constexpr uint32_t kEndWords = 32;

  // EndBitmap: bit i of words[w] is set when byte 64 * w + i of the input is special (a
  // control byte but HTAB, or DEL: Kernel::special32's class). It starts at the input's first
  // byte, not the message's (after leading CRLFs, which are rare), so that a line's offset is
  // its place in the bitmap: one subtraction and one value fewer per line.
  struct EndBitmap {
    uint32_t end = 0;  // the first byte the bitmap does not cover: 64 * its words
    uint64_t words[kEndWords + 1];  // and a zero word, which find()'s 8-byte window may read

    __attribute__((always_inline)) void build(const Constants& k, const char* p, uint32_t size) {
      const uint32_t blocks = (size + 63) / 64;
      const uint32_t count = blocks < kEndWords ? blocks : kEndWords;
      end = 64 * count;
      const uint32_t whole = size / 64 < count ? size / 64 : count;
      // The blocks are independent of each other, so their loads and classifications overlap.
      uint32_t w = 0;
      for (; w < whole; ++w) {
        words[w] = Kernel::special64(k, p + 64 * w);
      }
      if (w < count) {
        // The input's last `rest` (< 64) bytes: the mask of its last 64 shifted down, or, in
        // a shorter input, of a zero-padded copy. (Either way no line ends past the input:
        // a line that runs into its end is found nowhere, and the walk hands it over.)
        const uint32_t rest = size - 64 * w;
        if (size >= 64) {
          words[w] = Kernel::special64(k, p + size - 64) >> (64 - rest);
        } else {
          alignas(32) char tail[64] = {};
          std::memcpy(tail, p + 64 * w, rest);
          words[w] = Kernel::special64(k, tail) & ((uint64_t{1} << rest) - 1);
        }
        ++w;
      }
      words[w] = 0;
    }

    // find sets `eol` to the first special byte at or after `line` and returns true, or
    // returns false when the bitmap holds none (`line` at or past `end`, or none before it).
    __attribute__((always_inline)) bool find(uint32_t line, uint32_t& eol) const {
      if (__builtin_expect(line >= end, 0)) {
        return false;
      }
      // The 57 to 64 bits from the line's own: an 8-byte load at its byte of the bitmap,
      // whatever the word boundaries (little-endian: byte b holds bits 8b to 8b + 7).
      uint64_t window;
      std::memcpy(&window, reinterpret_cast<const char*>(words) + line / 8, sizeof(window));
      window >>= line % 8;
      if (__builtin_expect(window != 0, 1)) {
        eol = line + static_cast<uint32_t>(__builtin_ctzll(window));
        return true;
      }
      // A longer line: the window reached the next word's start at least, and found nothing
      // in the part of it that it read.
      for (uint32_t w = line / 64 + 1; w < end / 64; ++w) {
        if (words[w] != 0) {
          eol = 64 * w + static_cast<uint32_t>(__builtin_ctzll(words[w]));
          return true;
        }
      }
      return false;
    }
  };
  // "\r\n" and ": " as little-endian 16-bit loads.
  static constexpr uint16_t kCrLf = 0x0A0D;
  static constexpr uint16_t kColonSpace = 0x203A;

  // lineEnd sets `eol` to the first special byte at or after `line` and returns true, or
  // false when there is none before the end of the input: from the bitmap, and past its end
  // chunk by chunk.
  __attribute__((always_inline)) static bool lineEnd(const Constants& k, const char* p,
                                                     uint32_t chunk_end, const EndBitmap& ends,
                                                     uint32_t line, uint32_t& eol) {
    if (__builtin_expect(ends.find(line, eol), 1)) {
      return true;
    }
    return findLineEnd(k, p, chunk_end, line > ends.end ? line : ends.end, eol);
  }

  // findLineEnd sets `eol` to the first special byte at or after `pos` and returns true, or
  // false when there is none before the end of the input.
  // `chunk_end` is size - 31.
  __attribute__((always_inline)) static bool findLineEnd(const Constants& k, const char* p,
                                                         uint32_t chunk_end, uint32_t pos,
                                                         uint32_t& eol) {
    while (pos < chunk_end) {
      const uint32_t special =
          Kernel::special32(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + pos)));
      if (special != 0) {
        eol = pos + static_cast<uint32_t>(__builtin_ctz(special));
        return true;
      }
      pos += kChunk;
    }
    const uint32_t size = chunk_end + kChunk - 1;
    if (pos < size) {
      // Fewer than 32 bytes left: the input's last 32, shifted down to `pos`.
      const uint32_t special =
          Kernel::special32(
              k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + size - kChunk))) >>
          (pos - (size - kChunk));
      if (special != 0) {
        eol = pos + static_cast<uint32_t>(__builtin_ctz(special));
        return true;
      }
    }
    return false;
  }

  static constexpr std::array<uint8_t, 64> makeSingleMask() {
    std::array<uint8_t, 64> mask{};
    for (int id = 0; id < kKnownHeaderCount; ++id) {
      mask[id] = kSingleValued[id] ? 0xFF : 0;
    }
    return mask;
  }
  // 0xFF for each single-valued HeaderId.
  alignas(32) static constexpr std::array<uint8_t, 64> kSingleMask = makeSingleMask();

  // negateCounts turns the loop's negated counts into counts.
  __attribute__((always_inline)) static void negateCounts(uint8_t* occurrences) {
    auto* counts = reinterpret_cast<__m256i*>(occurrences);
    _mm256_store_si256(counts, _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_load_si256(counts)));
    _mm256_store_si256(counts + 1,
                       _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_load_si256(counts + 1)));
  }

  // hasRepeatedSingle: does a single-valued header occur more than once?
  __attribute__((always_inline)) static bool hasRepeatedSingle(const uint8_t* occurrences) {
    const __m256i one = _mm256_set1_epi8(1);
    const auto* counts = reinterpret_cast<const __m256i*>(occurrences);
    const auto* single = reinterpret_cast<const __m256i*>(kSingleMask.data());
    const __m256i low = _mm256_and_si256(_mm256_subs_epu8(_mm256_load_si256(counts), one),
                                         _mm256_load_si256(single));
    const __m256i high = _mm256_and_si256(_mm256_subs_epu8(_mm256_load_si256(counts + 1), one),
                                          _mm256_load_si256(single + 1));
    const __m256i repeats = _mm256_or_si256(low, high);
    return _mm256_testz_si256(repeats, repeats) == 0;
  }

  // bytesFrom returns bytes [kShift, kShift + 32) of the 64 bytes low ++ high (0 < kShift <
  // 32), from registers: a 32-byte reload from memory just stored in two halves would wait
  // for both stores (no store forwarding).
  template <int kShift>
  __attribute__((always_inline)) static __m256i bytesFrom(__m256i low, __m256i high) {
    static_assert(kShift > 0 && kShift < 32, "a shift inside the first chunk");
    const __m256i middle = _mm256_permute2x128_si256(low, high, 0x21);  // low.hi, high.lo
    if constexpr (kShift < 16) {
      return _mm256_alignr_epi8(middle, low, kShift);
    } else {
      return _mm256_alignr_epi8(high, middle, kShift - 16);
    }
  }

  // storeChunks stores the first kBytes (32 < kBytes <= 32 * kCount) of the chunks at `to`:
  // whole chunks, then the last 32 bytes, which overlap the chunk before them, made in
  // registers by bytesFrom. A memcpy of these odd sizes would be `rep movs`, and a copy
  // through memory would reload what was just stored.
  template <size_t kBytes, size_t kCount>
  __attribute__((always_inline)) static void storeChunks(const __m256i (&chunks)[kCount],
                                                         void* to) {
    static_assert(kBytes > kChunk && kBytes <= kChunk * kCount, "the chunks hold kBytes");
    constexpr size_t kWhole = kBytes / kChunk;
    auto* target = static_cast<char*>(to);
    for (size_t i = 0; i < kWhole; ++i) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(target + kChunk * i), chunks[i]);
    }
    if constexpr (kBytes % kChunk != 0) {
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(target + kBytes - kChunk),
          bytesFrom<kBytes % kChunk>(chunks[kWhole - 1], chunks[kWhole]));
    }
  }

  // copyIndex stores the walk's index into the message (without the HeaderId::Other slot),
  // each first_index entry turned from lines left into the line's index: limit - 1 - left
  // (-1 for the `limit` of a header that does not occur).
  __attribute__((always_inline)) static void copyIndex(int16_t* first_index, uint32_t limit,
                                                       const uint8_t* occurrences,
                                                       SipMessage& out) {
    const __m256i last = _mm256_set1_epi16(static_cast<int16_t>(limit - 1));
    const auto* index = reinterpret_cast<const __m256i*>(first_index);
    const __m256i lines[3] = {_mm256_sub_epi16(last, _mm256_load_si256(index)),
                              _mm256_sub_epi16(last, _mm256_load_si256(index + 1)),
                              _mm256_sub_epi16(last, _mm256_load_si256(index + 2))};
    storeChunks<sizeof(out.first_index)>(lines, out.first_index);
    const auto* counts = reinterpret_cast<const __m256i*>(occurrences);
    const __m256i count_chunks[2] = {_mm256_load_si256(counts), _mm256_load_si256(counts + 1)};
    storeChunks<sizeof(out.occurrences)>(count_chunks, out.occurrences);
  }
};

}  // namespace sipshield::parser::detail
