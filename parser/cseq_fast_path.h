#pragma once

// Internal: parseCSeq's fast path for the common shape of a CSeq value, shared by
// parser/cseq.cc (parseCSeq) and parser/validate.cc, which inlines it. Everything here has
// internal linkage (each file gets its own copy).

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#include "parser/cseq.h"
#include "parser/method.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {
namespace {

// The fast path reads 8 bytes as one little-endian word (byte 0 of the value in the low
// bits); on a big-endian target everything takes the general grammar.
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

inline uint64_t loadWord64(const char* s) {
  uint64_t word;
  std::memcpy(&word, s, sizeof(word));
  return word;
}

// Eight digits at once (SWAR). A word is 8 bytes of the value loaded little-endian (byte 0
// is the first character) with '0' subtracted from every byte.
constexpr uint64_t kEveryByte = 0x0101010101010101ull;

// nonDigitBits has bit 7 of byte i set when byte i of `digits` is not 0..9. Exact up to and
// including the first such byte (bytes after it may be flagged wrongly): the borrow of the
// subtraction of '0' and the carry of the add below only move towards later bytes.
inline uint64_t nonDigitBits(uint64_t digits) {
  return (digits | (digits + 0x76 * kEveryByte)) & (0x80 * kEveryByte);
}

// decimalOf8 turns eight digit values 0..9, the most significant in byte 0, into their
// number: adjacent pairs, then quads, then the two halves are merged by one multiply each.
// Zero bytes in front act as leading zeros.
inline uint32_t decimalOf8(uint64_t digits) {
  digits = (digits * (10 * 256 + 1)) >> 8;
  digits = ((digits & 0x00FF00FF00FF00FFull) * (100 * 65536 + 1)) >> 16;
  return static_cast<uint32_t>(((digits & 0x0000FFFF0000FFFFull) * (10000ull << 32 | 1)) >> 32);
}

// The known method names, each found by one table load and matched by one 16-byte compare.
constexpr std::string_view kMethodTokens[] = {
#define SIPSHIELD_METHOD_TOKEN(name, text) text,
    SIPSHIELD_METHODS(SIPSHIELD_METHOD_TOKEN)
#undef SIPSHIELD_METHOD_TOKEN
};
static_assert(std::size(kMethodTokens) == static_cast<size_t>(Method::Other));

// MethodEntry is what must follow the digits for one known method: SP and the name (zero
// padded), `mask` with one bit per byte of them, and the name's length. An empty entry
// matches nothing: its mask asks for bits a 16-byte compare never sets (a wrapped-around
// token length may well equal its length).
struct alignas(32) MethodEntry {
  char text[16] = {};
  uint32_t mask = ~0u;
  uint32_t length = ~0u;
  Method method = Method::Other;
};

// methodSlot picks the one entry a token can match from its first byte and its length: the
// 32 slots and the factor 12 give every known method its own slot (static_assert below).
constexpr size_t kMethodSlots = 32;
constexpr size_t methodSlot(unsigned char first, uint32_t length) {
  return (first + 12u * length) % kMethodSlots;
}

constexpr std::array<MethodEntry, kMethodSlots> makeMethodEntries() {
  std::array<MethodEntry, kMethodSlots> t{};
  for (size_t i = 0; i < std::size(kMethodTokens); ++i) {
    const std::string_view name = kMethodTokens[i];
    MethodEntry& entry =
        t[methodSlot(static_cast<unsigned char>(name[0]), static_cast<uint32_t>(name.size()))];
    entry.text[0] = ' ';
    for (size_t j = 0; j < name.size(); ++j) {
      entry.text[j + 1] = name[j];
    }
    entry.mask = (1u << (name.size() + 1)) - 1;
    entry.length = static_cast<uint32_t>(name.size());
    entry.method = static_cast<Method>(i);
  }
  return t;
}

constexpr std::array<MethodEntry, kMethodSlots> kMethodEntries = makeMethodEntries();

constexpr bool methodSlotsUnique() {
  for (size_t i = 0; i < std::size(kMethodTokens); ++i) {
    const std::string_view name = kMethodTokens[i];
    if (name.size() > 15 || kMethodEntries[methodSlot(static_cast<unsigned char>(name[0]),
                                                      static_cast<uint32_t>(name.size()))]
                                    .method != static_cast<Method>(i)) {
      return false;
    }
  }
  return true;
}
static_assert(methodSlotsUnique(), "two methods share a slot: change methodSlot's factor");

// matchesEntry: whether the 16 bytes at `at` begin with `entry`'s SP and name, for a method
// token of `length` bytes after the SP (bytes past it do not count).
inline bool matchesEntry(const char* at, uint32_t length, const MethodEntry& entry) {
  if (entry.length != length) {
    return false;
  }
#if defined(__SSE2__)
  const auto equal = static_cast<uint32_t>(_mm_movemask_epi8(
      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(entry.text)))));
  return (equal & entry.mask) == entry.mask;
#else
  return entry.method != Method::Other && std::memcmp(at, entry.text, length + 1) == 0;
#endif
}

// parseCommonCSeq is parseCSeq for the shape nearly every CSeq has: 1..8 digits, one SP and a
// known method up to the end of the value, without a loop or a data-dependent branch.
// `window` holds the 24 bytes from the value's start: the digits are one 8-byte word, and the
// SP with the method (at most 8 bytes in) one 16-byte block matched against the one known
// method it can be. Returns false, with `out` untouched, for any other value (the caller then
// runs the general grammar, which also takes extension methods).
[[gnu::always_inline]] inline bool parseCommonCSeq(Span value, const char* window, CSeq& out) {
  const uint64_t digits = loadWord64(window) - '0' * kEveryByte;
  // 8 * the number of digits: the first non-digit's flag is bit 7 of its byte.
  const auto digit_bits = static_cast<uint32_t>(std::countr_zero(nonDigitBits(digits))) & ~7u;
  // 1..8 digits (with more, byte 8 is a digit, not the SP the match below wants).
  if (digit_bits == 0) {
    return false;
  }
  const uint32_t count = digit_bits / 8;
  // The method runs from after the SP to the end of the value. When the digits or the SP lie
  // past the value's end, `length` wraps around and matches no entry.
  const uint32_t length = value.length - count - 1;
  // classifyMethod without its call and memcmp, the SP checked with it: a known method, or
  // the general grammar.
  const MethodEntry& entry =
      kMethodEntries[methodSlot(static_cast<unsigned char>(window[count + 1]), length)];
  if (!matchesEntry(window + count, length, entry)) {
    return false;
  }
  // Shifting the digits to the top of the word puts zeros, as leading digits, below them.
  out.number = decimalOf8(digits << (64 - digit_bits));
  out.method_token = {value.offset + count + 1, length};
  out.method = entry.method;
  return true;
}

}  // namespace
}  // namespace sipshield::parser
