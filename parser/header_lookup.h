#pragma once

// Internal: the inline header-name lookup behind classifyHeaderName, for the scanner's line
// loop. A perfect hash over (length, first and last letter folded to lower case) picks the one
// candidate, and a few overlapping 4/8-byte word compares confirm it, instead of comparing
// byte by byte against every known name of the same length.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "parser/header_id.h"

namespace sipshield::parser::detail {

struct HeaderInfo {
  std::string_view name;
  char compact;
  bool single_valued;
};

inline constexpr std::array<HeaderInfo, kKnownHeaderCount> kHeaders = {{
#define SIPSHIELD_HEADER_INFO(id, text, compact, single) {text, compact, single},
    SIPSHIELD_HEADERS(SIPSHIELD_HEADER_INFO)
#undef SIPSHIELD_HEADER_INFO
}};

inline constexpr size_t kMaxHeaderNameLength = 24;
inline constexpr uint32_t kNameHashSize = 128;

constexpr uint32_t foldAscii(char c) { return static_cast<unsigned char>(c) | 0x20u; }

constexpr uint32_t nameHash(size_t length, uint32_t first, uint32_t last, uint32_t k1,
                            uint32_t k2) {
  return (static_cast<uint32_t>(length) + first * k1 + last * k2) & (kNameHashSize - 1);
}

// findHashMultipliers searches (k1, k2) so that no two known full names share a slot; the
// search runs at compile time, so adding a header to SIPSHIELD_HEADERS re-derives them.
struct HashMultipliers {
  uint32_t k1 = 0;
  uint32_t k2 = 0;
};

constexpr HashMultipliers findHashMultipliers() {
  for (uint32_t k1 = 1; k1 < 64; ++k1) {
    for (uint32_t k2 = 0; k2 < 64; ++k2) {
      std::array<bool, kNameHashSize> used{};
      bool ok = true;
      for (const HeaderInfo& h : kHeaders) {
        uint32_t slot = nameHash(h.name.size(), foldAscii(h.name.front()),
                                 foldAscii(h.name.back()), k1, k2);
        if (used[slot]) {
          ok = false;
          break;
        }
        used[slot] = true;
      }
      if (ok) {
        return {k1, k2};
      }
    }
  }
  return {};
}

inline constexpr HashMultipliers kHashMultipliers = findHashMultipliers();
static_assert(kHashMultipliers.k1 != 0, "no collision-free header name hash found");

struct NameTable {
  // Slot -> header index + 1 (0: empty).
  std::array<uint8_t, kNameHashSize> slot{};
  // Canonical names in lower case, zero padded, for word compares.
  std::array<std::array<char, kMaxHeaderNameLength>, kKnownHeaderCount> lower{};
  // Compact form letter - 'a' -> header index + 1 (0: none).
  std::array<uint8_t, 26> compact{};
};

constexpr NameTable makeNameTable() {
  NameTable t{};
  for (size_t i = 0; i < kHeaders.size(); ++i) {
    const std::string_view name = kHeaders[i].name;
    uint32_t s = nameHash(name.size(), foldAscii(name.front()), foldAscii(name.back()),
                          kHashMultipliers.k1, kHashMultipliers.k2);
    t.slot[s] = static_cast<uint8_t>(i + 1);
    for (size_t j = 0; j < name.size(); ++j) {
      t.lower[i][j] = static_cast<char>(foldAscii(name[j]));
    }
    if (kHeaders[i].compact != 0) {
      t.compact[kHeaders[i].compact - 'a'] = static_cast<uint8_t>(i + 1);
    }
  }
  return t;
}

inline constexpr NameTable kNameTable = makeNameTable();

constexpr bool namesFitTable() {
  for (const HeaderInfo& h : kHeaders) {
    // Names hold letters and '-' only: OR-ing 0x20 folds case without false matches among
    // the token characters a scanned name can contain ('-' already has the bit).
    if (h.name.size() < 2 || h.name.size() > 20) {
      return false;
    }
    for (char c : h.name) {
      if (c != '-' && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
        return false;
      }
    }
  }
  return true;
}
static_assert(namesFitTable(), "header names must be 2..20 letters or '-'");

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint16_t load16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// equalsFoldedWords compares `length` (2..20) bytes of `input`, case-folded, with the lower
// case `canonical`. Overlapping loads cover any length without reading past input + length.
inline bool equalsFoldedWords(const char* input, const char* canonical, size_t length) {
  if (length >= 8) {
    constexpr uint64_t kFold = 0x2020202020202020ull;
    uint64_t diff = ((load64(input) | kFold) ^ load64(canonical)) |
                    ((load64(input + length - 8) | kFold) ^ load64(canonical + length - 8));
    if (length > 16) {
      diff |= (load64(input + 8) | kFold) ^ load64(canonical + 8);
    }
    return diff == 0;
  }
  if (length >= 4) {
    constexpr uint32_t kFold = 0x20202020u;
    return (((load32(input) | kFold) ^ load32(canonical)) |
            ((load32(input + length - 4) | kFold) ^ load32(canonical + length - 4))) == 0;
  }
  constexpr uint16_t kFold = 0x2020u;
  return (((load16(input) | kFold) ^ load16(canonical)) |
          ((load16(input + length - 2) | kFold) ^ load16(canonical + length - 2))) == 0;
}

// lookupHeaderName is classifyHeaderName, inline.
inline HeaderId lookupHeaderName(const char* name, size_t length) {
  if (length == 1) {
    uint32_t c = foldAscii(name[0]);
    if (c >= 'a' && c <= 'z' && kNameTable.compact[c - 'a'] != 0) {
      return static_cast<HeaderId>(kNameTable.compact[c - 'a'] - 1);
    }
    return HeaderId::Other;
  }
  if (length < 2 || length > 20) {
    return HeaderId::Other;
  }
  uint32_t s = nameHash(length, foldAscii(name[0]), foldAscii(name[length - 1]),
                        kHashMultipliers.k1, kHashMultipliers.k2);
  uint32_t candidate = kNameTable.slot[s];
  if (candidate == 0 || kHeaders[candidate - 1].name.size() != length ||
      !equalsFoldedWords(name, kNameTable.lower[candidate - 1].data(), length)) {
    return HeaderId::Other;
  }
  return static_cast<HeaderId>(candidate - 1);
}

// The scanner's branch-free variant. A name's first 8 bytes, folded and masked to its length,
// with the length, pick its slot through a multiply-shift perfect hash (full and compact names
// share it); the slot holds the folded name as three zero-padded words, so a lookup is one
// multiply, three masked word compares and a select, whatever the name's length. The masks
// make a length check unnecessary: a name of another length differs from the entry in a byte
// that is zero on one side and a token character (never zero once folded) on the other.
struct WordEntry {
  uint64_t words[3];
  uint8_t id;  // HeaderId::Other for an empty slot (its zero words match no name)
};

inline constexpr uint32_t kWordHashBits = 8;
inline constexpr uint32_t kWordHashSize = 1u << kWordHashBits;

constexpr uint64_t packFolded(std::string_view text, size_t from) {
  uint64_t w = 0;
  for (size_t i = 0; i < 8 && from + i < text.size(); ++i) {
    w |= static_cast<uint64_t>(foldAscii(text[from + i])) << (8 * i);
  }
  return w;
}

constexpr uint32_t wordHash(uint64_t first_word, uint32_t length, uint64_t multiplier) {
  return static_cast<uint32_t>(((first_word + length) * multiplier) >> (64 - kWordHashBits));
}

// findMultiplier searches an odd multiplier under which `slot_of(form, multiplier)` puts no
// two known names (full or compact) in the same one of kSlots slots; the search runs at
// compile time, so adding a header to SIPSHIELD_HEADERS re-derives it.
template <size_t kSlots, typename SlotOf>
constexpr uint64_t findMultiplier(SlotOf slot_of) {
  uint64_t candidate = 0x9E3779B97F4A7C15ull;  // any odd start; a xorshift walks from it
  for (int attempt = 0; attempt < 20000; ++attempt) {
    std::array<bool, kSlots> used{};
    bool ok = true;
    for (size_t i = 0; i < kHeaders.size() && ok; ++i) {
      const HeaderInfo& h = kHeaders[i];
      const char compact[1] = {h.compact};
      const std::string_view forms[2] = {h.name, std::string_view(compact, 1)};
      for (int k = 0; k < (h.compact != 0 ? 2 : 1) && ok; ++k) {
        const uint32_t slot = slot_of(forms[k], candidate);
        ok = !used[slot];
        used[slot] = true;
      }
    }
    if (ok) {
      return candidate;
    }
    candidate ^= candidate << 13;
    candidate ^= candidate >> 7;
    candidate ^= candidate << 17;
    candidate |= 1;
  }
  return 0;
}

constexpr uint64_t findWordMultiplier() {
  return findMultiplier<kWordHashSize>([](std::string_view form, uint64_t multiplier) {
    return wordHash(packFolded(form, 0), static_cast<uint32_t>(form.size()), multiplier);
  });
}

inline constexpr uint64_t kWordMultiplier = findWordMultiplier();
static_assert(kWordMultiplier != 0, "no collision-free header word hash found");

// A length mask as one 32-byte row (the fourth word zero), for a 256-bit compare.
struct alignas(32) NameMask32 {
  uint64_t words[4];
};

struct WordTable {
  std::array<WordEntry, kWordHashSize> slot{};
  // Byte masks for a name of length 0..23 (lengths past 20 never match an entry).
  std::array<std::array<uint64_t, 3>, kMaxHeaderNameLength> length_mask{};
  // The same masks as 32-byte rows (the AVX2 kernel's lookup; next to the slots, so one base
  // address serves both).
  std::array<NameMask32, kMaxHeaderNameLength> length_mask32{};
};

constexpr WordTable makeWordTable() {
  WordTable t{};
  for (WordEntry& e : t.slot) {
    e.id = static_cast<uint8_t>(HeaderId::Other);
  }
  for (size_t i = 0; i < kHeaders.size(); ++i) {
    const HeaderInfo& h = kHeaders[i];
    const char compact[1] = {h.compact};
    const std::string_view forms[2] = {h.name, std::string_view(compact, 1)};
    for (int k = 0; k < (h.compact != 0 ? 2 : 1); ++k) {
      std::string_view text = forms[k];
      WordEntry& e = t.slot[wordHash(packFolded(text, 0), static_cast<uint32_t>(text.size()),
                                     kWordMultiplier)];
      e.words[0] = packFolded(text, 0);
      e.words[1] = packFolded(text, 8);
      e.words[2] = packFolded(text, 16);
      e.id = static_cast<uint8_t>(i);
    }
  }
  for (size_t n = 0; n < kMaxHeaderNameLength; ++n) {
    for (size_t w = 0; w < 3; ++w) {
      size_t bytes = n > 8 * w ? n - 8 * w : 0;
      t.length_mask[n][w] = bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
      t.length_mask32[n].words[w] = t.length_mask[n][w];
    }
  }
  return t;
}

inline constexpr WordTable kWordTable = makeWordTable();
static_assert(sizeof(WordEntry) == 32, "a 256-bit compare reads a whole entry");

// The chunk walk's slots (scan_chunk_walk.h): the same entries, placed by another hash. The
// walk looks a name up only once ": " follows it, so the name's first three bytes with that
// ": " after them (colonKey) are known without a mask by its length.
constexpr uint32_t colonKey(std::string_view name) {
  const std::string_view tail = ": ";
  uint32_t key = 0;
  for (size_t i = 0; i < 3; ++i) {
    const char c = i < name.size() ? name[i] : tail[i - name.size()];
    key |= foldAscii(c) << (8 * i);
  }
  return key;
}

// 512 slots (kWordTable has 256): with 55 forms to place, a collision-free multiplier then
// turns up within a few tries (with 256, after hundreds, past clang's constexpr step limit).
inline constexpr uint32_t kColonHashBits = 9;
inline constexpr uint32_t kColonHashSize = 1u << kColonHashBits;

constexpr uint32_t colonHash(uint32_t key, uint32_t length, uint64_t multiplier) {
  return static_cast<uint32_t>(((uint64_t{key} + length) * multiplier) >> (64 - kColonHashBits));
}

constexpr uint64_t findColonMultiplier() {
  return findMultiplier<kColonHashSize>([](std::string_view form, uint64_t multiplier) {
    return colonHash(colonKey(form), static_cast<uint32_t>(form.size()), multiplier);
  });
}

inline constexpr uint64_t kColonMultiplier = findColonMultiplier();
static_assert(kColonMultiplier != 0, "no collision-free colon-key hash found");

constexpr std::array<WordEntry, kColonHashSize> makeColonSlots() {
  std::array<WordEntry, kColonHashSize> slots{};
  for (const WordEntry& e : kWordTable.slot) {
    if (e.id == static_cast<uint8_t>(HeaderId::Other)) {
      continue;
    }
    const HeaderInfo& h = kHeaders[e.id];
    const std::string_view text =
        (e.words[0] & 0xFF00) == 0 && h.compact != 0 ? std::string_view(&h.compact, 1) : h.name;
    slots[colonHash(colonKey(text), static_cast<uint32_t>(text.size()), kColonMultiplier)] = e;
  }
  // An empty slot matches no name: its first byte is 0, which a masked name has only when
  // empty, and its second 0xFF, which an empty one does not have. So a match always has an id.
  for (WordEntry& e : slots) {
    if (e.words[0] == 0) {
      e.words[0] = 0xFF00;
      e.id = static_cast<uint8_t>(HeaderId::Other);
    }
  }
  return slots;
}

alignas(32) inline constexpr std::array<WordEntry, kColonHashSize> kColonSlots =
    makeColonSlots();

// lookupHeaderNameWide is lookupHeaderName for a name followed by at least 24 - `length`
// more readable bytes (`name + 24` must not pass the end of the buffer): it reads 24 bytes
// and masks off what is not the name.
inline HeaderId lookupHeaderNameWide(const char* name, size_t length) {
  // Lengths past 23 clamp to 23: the 23 bytes kept are all token characters, where every
  // entry (20 letters at most) has a zero.
  constexpr auto kLongest = static_cast<uint32_t>(kMaxHeaderNameLength - 1);
  const uint32_t n = length <= kLongest ? static_cast<uint32_t>(length) : kLongest;
  const auto& mask = kWordTable.length_mask[n];
  constexpr uint64_t kFold = 0x2020202020202020ull;
  const uint64_t first = (load64(name) | kFold) & mask[0];
  const WordEntry& e = kWordTable.slot[wordHash(first, n, kWordMultiplier)];
  const uint64_t diff = (first ^ e.words[0]) |
                        (((load64(name + 8) | kFold) & mask[1]) ^ e.words[1]) |
                        (((load64(name + 16) | kFold) & mask[2]) ^ e.words[2]);
  return diff == 0 ? static_cast<HeaderId>(e.id) : HeaderId::Other;
}

inline constexpr std::array<bool, kKnownHeaderCount + 1> makeSingleValued() {
  std::array<bool, kKnownHeaderCount + 1> t{};
  for (size_t i = 0; i < kHeaders.size(); ++i) {
    t[i] = kHeaders[i].single_valued;
  }
  return t;
}

// kSingleValued[id] is isSingleValued(id), including Other (false).
inline constexpr std::array<bool, kKnownHeaderCount + 1> kSingleValued = makeSingleValued();

}  // namespace sipshield::parser::detail
