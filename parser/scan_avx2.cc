#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser {
namespace {

// One byte-shuffle lookup per nibble answers both classes: byte c looks up
// v = kClassLow[c & 15] & kClassHigh[c >> 4]. Bits 0-4 of v say "token character" and bits 5-7
// say "special"; one saturating add of 0x60 lifts any special bit into bit 7 (and no token
// bits: 0x1F + 0x60 < 0x80), which the byte movemask reads. Each bit stands for the set of low
// nibbles of one "generator" row (high nibble) of its class; a row's high entry holds every
// bit of its class whose set lies inside the row, so the AND gives exactly the row. Derived
// from kTokenChar and the special-byte definition (scan_kernel.h), and checked against both
// for all 256 bytes below. Three instructions fewer per 32 bytes than two separate tests.
constexpr bool isSpecialByte(int c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

struct ClassGenerator {
  int row;     // the high nibble whose low-nibble set this bit stands for
  bool token;  // the class: token character, else special
  uint8_t bit;
};
// Rows 2, 3, 4, 5 and 7 span the token rows (row 6, all 16, is the union of rows 4 and 5);
// rows 0, 1 and 7 are the special rows.
constexpr std::array<ClassGenerator, 8> kClassGenerators = {{{2, true, 0x01},
                                                             {3, true, 0x02},
                                                             {4, true, 0x04},
                                                             {5, true, 0x08},
                                                             {7, true, 0x10},
                                                             {0, false, 0x20},
                                                             {1, false, 0x40},
                                                             {7, false, 0x80}}};
constexpr uint8_t kTokenBits = 0x1F;

constexpr bool inClass(int c, bool token) { return token ? kTokenChar[c] : isSpecialByte(c); }

// rowSubset: every low nibble in `generator`'s row of its class is also in row `hi`.
constexpr bool rowSubset(const ClassGenerator& generator, int hi) {
  for (int lo = 0; lo < 16; ++lo) {
    if (inClass(generator.row * 16 + lo, generator.token) &&
        !inClass(hi * 16 + lo, generator.token)) {
      return false;
    }
  }
  return true;
}

struct ClassTables {
  // Each 16-byte table twice: one load fills both lanes of the shuffle.
  alignas(32) std::array<uint8_t, 32> low{};
  alignas(32) std::array<uint8_t, 32> high{};
};

constexpr ClassTables makeClassTables() {
  ClassTables t{};
  for (const ClassGenerator& g : kClassGenerators) {
    for (int n = 0; n < 16; ++n) {
      if (inClass(g.row * 16 + n, g.token)) {
        t.low[n] = static_cast<uint8_t>(t.low[n] | g.bit);
      }
      if (rowSubset(g, n)) {
        t.high[n] = static_cast<uint8_t>(t.high[n] | g.bit);
      }
    }
  }
  for (int n = 0; n < 16; ++n) {
    t.low[n + 16] = t.low[n];
    t.high[n + 16] = t.high[n];
  }
  return t;
}

constexpr ClassTables kClassTables = makeClassTables();

constexpr bool classTablesExact() {
  for (int c = 0; c < 256; ++c) {
    const int v = kClassTables.low[c & 15] & kClassTables.high[c >> 4];
    const bool special = ((v + 0x60 > 0xFF ? 0xFF : v + 0x60) & 0x80) != 0;
    if (((v & kTokenBits) != 0) != kTokenChar[c] || special != isSpecialByte(c)) {
      return false;
    }
  }
  return true;
}
static_assert(classTablesExact(), "the nibble tables must encode both byte classes exactly");

// The kernel's splat constants (loaded with load32(), as are the tables).
struct alignas(32) Avx2Constants {
  std::array<uint8_t, 32> nibble;
  std::array<uint8_t, 32> token_bits;
  std::array<uint8_t, 32> special_lift;
  std::array<uint8_t, 32> case_fold;   // the name lookup's ASCII case bit
  std::array<uint8_t, 32> name_lanes;  // the first three 64-bit lanes: a name's 24 bytes
  std::array<uint8_t, 32> one;         // specialBytes32's constants
  std::array<uint8_t, 32> below_limit;
  std::array<uint8_t, 32> tab;
  std::array<uint8_t, 32> colon;  // the chunk walk's name end
};

constexpr std::array<uint8_t, 32> splat(uint8_t b) {
  std::array<uint8_t, 32> a{};
  for (uint8_t& x : a) {
    x = b;
  }
  return a;
}

constexpr std::array<uint8_t, 32> firstBytes(size_t count) {
  std::array<uint8_t, 32> a{};
  for (size_t i = 0; i < count; ++i) {
    a[i] = 0xFF;
  }
  return a;
}

constexpr Avx2Constants kAvx2Constants = {
    splat(0x0F), splat(kTokenBits), splat(0x60), splat(0x20),
    firstBytes(detail::kMaxHeaderNameLength), splat(0x01), splat(0x21), splat('\t'), splat(':')};

// specialBytes32 (below) in scalar form: x + 1 is below 0x21 as a signed byte exactly for x in
// 0x00..0x1F and 0x7F..0xFF; bit 7 of x takes out 0x80..0xFF, and a compare takes out HTAB.
constexpr bool specialByCompare(int c) {
  const auto plus_one = static_cast<int8_t>(static_cast<uint8_t>(c + 1));
  return plus_one < 0x21 && (c & 0x80) == 0 && c != '\t';
}
constexpr bool specialByCompareExact() {
  for (int c = 0; c < 256; ++c) {
    if (specialByCompare(c) != isSpecialByte(c)) {
      return false;
    }
  }
  return true;
}
static_assert(specialByCompareExact(), "specialBytes32 must find exactly the special bytes");

// load32 loads a constant. The asm makes the value opaque to the optimizer: it would otherwise
// rebuild the splat constants with three-instruction broadcasts at every use in the walk's loop.
__attribute__((target("avx2"), always_inline)) inline __m256i load32(
    const std::array<uint8_t, 32>& a) {
  __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.data()));
  asm("" : "+x"(v));
  return v;
}

// The classifier's constants, loaded once per scan: the walk keeps them in registers (see
// scan_walk.h's Window).
struct ClassConstants {
  __m256i nibble;
  __m256i low_table;
  __m256i high_table;
  __m256i special_lift;
  __m256i token_bits;
};

__attribute__((target("avx2"), always_inline)) inline ClassConstants classConstants() {
  return {load32(kAvx2Constants.nibble), load32(kClassTables.low), load32(kClassTables.high),
          load32(kAvx2Constants.special_lift), load32(kAvx2Constants.token_bits)};
}

// classes32 is the nibble-table lookup of the 32 bytes in `v` that both masks come from.
__attribute__((target("avx2"), always_inline)) inline __m256i classes32(const ClassConstants& k,
                                                                        __m256i v) {
  const __m256i low = _mm256_shuffle_epi8(k.low_table, _mm256_and_si256(v, k.nibble));
  const __m256i high =
      _mm256_shuffle_epi8(k.high_table, _mm256_and_si256(_mm256_srli_epi16(v, 4), k.nibble));
  return _mm256_and_si256(low, high);
}

__attribute__((target("avx2"), always_inline)) inline uint32_t specialMask(
    const ClassConstants& k, __m256i classes) {
  return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_adds_epu8(classes, k.special_lift)));
}

__attribute__((target("avx2"), always_inline)) inline uint32_t nonTokenMask(
    const ClassConstants& k, __m256i classes) {
  const __m256i token = _mm256_and_si256(classes, k.token_bits);
  return static_cast<uint32_t>(
      _mm256_movemask_epi8(_mm256_cmpeq_epi8(token, _mm256_setzero_si256())));
}

// specialBytes32 is special32's mask from three compares instead of the nibble tables (six
// instructions where special32 takes eight): for the line-end bitmap, which needs no other
// class. specialByCompare above is the same test per byte.
__attribute__((target("avx2"), always_inline)) inline uint32_t specialBytes32(__m256i v) {
  const __m256i below = _mm256_cmpgt_epi8(load32(kAvx2Constants.below_limit),
                                          _mm256_add_epi8(v, load32(kAvx2Constants.one)));
  const __m256i excluded =
      _mm256_or_si256(v, _mm256_cmpeq_epi8(v, load32(kAvx2Constants.tab)));
  return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_andnot_si256(excluded, below)));
}

// classify32 returns the special and non-token masks of the 32 bytes in `v`.
__attribute__((target("avx2"), always_inline)) inline void classify32(const ClassConstants& k,
                                                                      __m256i v, uint32_t& special,
                                                                      uint32_t& non_token) {
  const __m256i classes = classes32(k, v);
  special = specialMask(k, classes);
  non_token = nonTokenMask(k, classes);
}

// nonToken32 is classify32's `non_token` mask alone.
__attribute__((target("avx2"), always_inline)) inline uint32_t nonToken32(const ClassConstants& k,
                                                                          __m256i v) {
  return nonTokenMask(k, classes32(k, v));
}

// special32 is classify32's `special` mask alone.
__attribute__((target("avx2"), always_inline)) inline uint32_t special32(const ClassConstants& k,
                                                                         __m256i v) {
  return specialMask(k, classes32(k, v));
}

}  // namespace

// classifyAvx2 is classifyBlockAvx2, inlined into the walk below.
__attribute__((target("avx2"), always_inline)) inline BlockMasks classifyAvx2(
    const ClassConstants& k, const char* p) {
  uint32_t special_lo = 0;
  uint32_t special_hi = 0;
  uint32_t non_token_lo = 0;
  uint32_t non_token_hi = 0;
  classify32(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), special_lo,
             non_token_lo);
  classify32(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)), special_hi,
             non_token_hi);
  return {static_cast<uint64_t>(special_lo) | (static_cast<uint64_t>(special_hi) << 32),
          static_cast<uint64_t>(non_token_lo) | (static_cast<uint64_t>(non_token_hi) << 32)};
}

__attribute__((target("avx2"))) BlockMasks classifyBlockAvx2(const char* p) {
  return classifyAvx2(classConstants(), p);
}

// lookupNameAvx2 is detail::lookupHeaderNameWide with one 256-bit compare for the three word
// compares: the 24 bytes load under a lane mask (nothing past name + 24 is read), fold, mask
// to the length and compare with the slot's entry (its words, not its id byte).
__attribute__((target("avx2"), always_inline)) inline HeaderId lookupNameAvx2(const char* name,
                                                                              uint32_t length) {
  // Lengths past 23 clamp to 23, as in lookupHeaderNameWide.
  constexpr auto kLongest = static_cast<uint32_t>(detail::kMaxHeaderNameLength - 1);
  const uint32_t n = length <= kLongest ? length : kLongest;
  const __m256i lanes = load32(kAvx2Constants.name_lanes);
  const __m256i raw = _mm256_maskload_epi64(reinterpret_cast<const long long*>(name), lanes);
  const uint64_t* mask_row = detail::kWordTable.length_mask32[n].words;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mask_row));
  const __m256i folded =
      _mm256_and_si256(_mm256_or_si256(raw, load32(kAvx2Constants.case_fold)), mask);
  const auto first = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm256_castsi256_si128(folded)));
  const detail::WordEntry& e =
      detail::kWordTable.slot[detail::wordHash(first, n, detail::kWordMultiplier)];
  const __m256i diff =
      _mm256_xor_si256(folded, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&e)));
  return _mm256_testz_si256(diff, lanes) != 0 ? static_cast<HeaderId>(e.id) : HeaderId::Other;
}

__attribute__((target("avx2"))) HeaderId lookupHeaderNameAvx2(const char* name, size_t length) {
  return lookupNameAvx2(name, length < 0xFFFFFFFFu ? static_cast<uint32_t>(length) : 0xFFFFFFFFu);
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
#include "parser/scan_chunk_walk.h"
#include "parser/scan_walk.h"

namespace sipshield::parser {
namespace {
struct Avx2Kernel {
  using Constants = ClassConstants;
  __attribute__((always_inline)) static Constants constants() { return classConstants(); }
  __attribute__((always_inline)) static BlockMasks classify(const Constants& k, const char* p) {
    return classifyAvx2(k, p);
  }
  __attribute__((always_inline)) static HeaderId lookupName(const char* name, uint32_t length) {
    return lookupNameAvx2(name, length);
  }
};

// The chunk walk's kernel (scan_chunk_walk.h). Its constants are the ones each header line
// needs (the name's end and lookup); the classifier's, for the lines and names off the common
// path, are loaded there, each time (coldClassConstants): kept for the whole walk, they would
// be built and stored on the stack at the start of every scan.
struct Avx2ChunkKernel {
  struct Constants {
    __m256i case_fold;
    __m256i name_lanes;
    __m256i colon;
  };
  __attribute__((always_inline)) static Constants constants() {
    return {load32(kAvx2Constants.case_fold), load32(kAvx2Constants.name_lanes),
            load32(kAvx2Constants.colon)};
  }
  __attribute__((always_inline)) static __m256i loadAt(const std::array<uint8_t, 32>& a) {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(a.data()));
  }
  // classConstants() where it is used: the volatile asm keeps the loads there, not hoisted to
  // the start of the walk.
  __attribute__((always_inline)) static ClassConstants coldClassConstants() {
    const Avx2Constants* constants = &kAvx2Constants;
    const ClassTables* tables = &kClassTables;
    asm volatile("" : "+r"(constants), "+r"(tables));
    return {loadAt(constants->nibble), loadAt(tables->low), loadAt(tables->high),
            loadAt(constants->special_lift), loadAt(constants->token_bits)};
  }
  static constexpr size_t kChunkBytes = 32;
  // 32 bytes 0xFF, then 32 zeros: the 32 bytes from kChunkBytes - n mask a name's n bytes.
  alignas(64) static constexpr std::array<uint8_t, 2 * kChunkBytes> kNameMasks = [] {
    std::array<uint8_t, 2 * kChunkBytes> a{};
    for (size_t i = 0; i < kChunkBytes; ++i) {
      a[i] = 0xFF;
    }
    return a;
  }();
  __attribute__((always_inline)) static uint32_t nonToken32(const Constants&, __m256i v) {
    return parser::nonToken32(coldClassConstants(), v);
  }
  __attribute__((always_inline)) static uint32_t special32(const Constants&, __m256i v) {
    return parser::special32(coldClassConstants(), v);
  }
  __attribute__((always_inline)) static uint32_t colons32(const Constants& k, __m256i v) {
    return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, k.colon)));
  }
  // special32's mask of the 64 bytes at `q` (the line-end bitmap's blocks): by compares,
  // which need none of the walk's constants.
  __attribute__((always_inline)) static uint64_t special64(const Constants&, const char* q) {
    const uint64_t low = specialBytes32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)));
    const uint64_t high =
        specialBytes32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32)));
    return low | (high << 32);
  }
  // lookupNameAvx2 for a name already in a register `v`, loaded from `name`, `length` < 32,
  // that ": " follows (the walk checked): the length mask is a load from kNameMasks (one
  // instruction; a compare with an iota splat would be three). Lengths past 23 are not
  // clamped: bytes 24..31 lie in the fourth lane, which the test ignores, and the unclamped
  // length only moves names that match no entry (20 bytes at most) to another slot. The slot
  // comes from the name's first three bytes, folded in a general register (the ": " after a
  // shorter name stands in for the rest: detail::colonKey), and its length: no mask by the
  // length, no branch on it, and off the vector registers. Each line's lookup is a chain of
  // dependent steps (length, hash, slot, id), and the walk's lines overlap only as far as the
  // chains let them.
  __attribute__((always_inline)) static bool findKnown(const Constants& k, __m256i v,
                                                      const char* name, uint32_t length,
                                                      HeaderId& id) {
    const uint8_t* const masks_end = kNameMasks.data() + kChunkBytes;
    const __m256i mask = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(masks_end - static_cast<size_t>(length)));
    const __m256i folded = _mm256_and_si256(_mm256_or_si256(v, k.case_fold), mask);
    uint32_t word;
    std::memcpy(&word, name, sizeof(word));
    const uint32_t key = (word | 0x202020u) & 0xFFFFFFu;
    const detail::WordEntry& e =
        detail::kColonSlots[detail::colonHash(key, length, detail::kColonMultiplier)];
    const __m256i diff =
        _mm256_xor_si256(folded, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&e)));
    // A match is never an empty slot (kColonSlots): no check that the id is not Other.
    id = static_cast<HeaderId>(e.id);
    return _mm256_testz_si256(diff, k.name_lanes) != 0;
  }
};
}  // namespace

// Out of line: inlined into walkAvx2, it would crowd the chunk walk's registers.
__attribute__((noinline)) ScanResult walkAvx2Lines(const char* p, uint32_t size, uint32_t start,
                                                   SipMessage& out, const ScanLimits& limits) {
  return detail::LineWalker<Avx2Kernel>(p, size, start, out, limits).run();
}

bool walkAvx2Chunk(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                   const ScanLimits& limits, ScanResult& result) {
  const uint32_t headers_end =
      detail::ChunkWalker<Avx2ChunkKernel>::run(p, size, start, out, limits);
  if (headers_end == 0) {
    return false;
  }
  result = detail::finishMessage(p, size, headers_end, out, limits);
  return true;
}

ScanResult walkAvx2(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                    const ScanLimits& limits) {
  const uint32_t headers_end =
      detail::ChunkWalker<Avx2ChunkKernel>::run(p, size, start, out, limits);
  if (__builtin_expect(headers_end != 0, 1)) {
    return detail::finishMessage(p, size, headers_end, out, limits);
  }
  // An unusual message: the line walk judges it, from the state scan() left.
  detail::resetScanFields(out);
  return walkAvx2Lines(p, size, start, out, limits);
}

}  // namespace sipshield::parser
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
