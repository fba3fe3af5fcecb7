#pragma once

// Internal: the scanner's line walk, a template over the ISA's block classifier. Each
// scan_<isa>.cc includes this under its own `#pragma GCC target`, after everything this file
// includes, so the classifier inlines into the walk and no shared inline code is compiled
// for that ISA. Everything here is a member of LineWalker<Kernel>: one distinct instantiation
// per ISA, never an ODR clash between the files.
//
// How it walks: the buffer is classified 64 bytes at a time into two bit masks (special
// bytes; bytes that are not token characters, scan_kernel.h). A window of two blocks' masks
// that slides forward with the lines answers "where does this line end / where does its name
// end" with one funnel shift per mask and a count of trailing zeros for any line shorter than
// 64 bytes, so the per-line cost has no byte loop and no data-dependent branch on the line's
// length.

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser::detail {

// Kernel provides a `Constants` type with `static Constants constants()` (what the classifier
// keeps in registers), `static BlockMasks classify(const Constants&, const char* p)` over
// exactly [p, p + 64) and `static HeaderId lookupName(const char* name, uint32_t length)`,
// lookupHeaderNameWide's result.
template <typename Kernel>
class LineWalker {
  using Constants = typename Kernel::Constants;

 public:
  LineWalker(const char* p, uint32_t size, uint32_t start, SipMessage& out,
             const ScanLimits& limits)
      : p_(p), size_(size), base_(start), out_(out), limits_(limits) {
    std::memset(first_index_, 0xFF, sizeof(first_index_));
#if defined(__SSE2__)
    // Plain vector stores: the compiler would turn a memset of this size into `rep stos`
    // (the asm hides that the value is zero).
    __m128i zero = _mm_setzero_si128();
    asm("" : "+x"(zero));
    constexpr size_t kVectors = sizeof(occurrences_) / 16;
    for (size_t k = 0; k < kVectors; ++k) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(occurrences_) + k, zero);
    }
#else
    std::memset(occurrences_, 0, sizeof(occurrences_));
#endif
  }

  // run scans the message that starts at `start` (see scan()); the header index is copied into
  // the message whatever the outcome.
  ScanResult run() {
    uint32_t headers_end = 0;
    ScanResult result = walk(headers_end);
    std::memcpy(out_.first_index, first_index_, sizeof(out_.first_index));
    copyOccurrences();
    if (result.status != ScanStatus::Complete) {
      return result;
    }
    return finishMessage(p_, size_, headers_end, out_, limits_);
  }

 private:
  // "\r\n" and ": " as little-endian 16-bit loads.
  static constexpr uint16_t kCrLf = 0x0A0D;
  static constexpr uint16_t kColonSpace = 0x203A;

  // The masks of the 128 bytes [start, start + 128): `cur` covers the first 64, `next` the
  // rest. The walk keeps every line start inside `cur`, so one funnel shift per mask yields the
  // 64 bits from the line start on. It lives in walk()'s locals (registers), not in members:
  // the HeaderField and index stores would otherwise force a reload after every line.
  // It also carries the classifier's constants (loaded once per scan), so that every
  // classification, the long-line search's included, finds them in registers.
  struct Window {
    uint32_t start;
    BlockMasks cur;
    BlockMasks next;
    Constants constants;
  };

  ScanResult incomplete(ScanError error) const { return {ScanStatus::Incomplete, error, size_, 0}; }
  static ScanResult invalid(ScanError error, uint32_t at) {
    return {ScanStatus::Invalid, error, at, 0};
  }

  // tailBlock classifies a block [at, at + 64) that runs past the end of the input: every bit
  // from the end on is set, so both searches stop there (never read past the input). Only at
  // the end of the input, on a branch the compiler moves aside; inline all the same, as a call
  // would spill the classifier's constants around it.
  __attribute__((always_inline)) static BlockMasks tailBlock(const Constants& k, const char* p,
                                                              uint32_t size, uint32_t at) {
    if (at >= size) {
      return {~0ull, ~0ull};
    }
    const uint32_t valid = size - at;  // 1..63
    BlockMasks m;
    if (size >= kBlockSize) {
      // Classify the input's last 64 bytes and shift this block's part down: no copy.
      m = Kernel::classify(k, p + size - kBlockSize);
      m.special >>= kBlockSize - valid;
      m.non_token >>= kBlockSize - valid;
    } else {
      char tail[kBlockSize] = {};
      std::memcpy(tail, p + at, valid);
      m = Kernel::classify(k, tail);
    }
    const uint64_t beyond = ~0ull << valid;
    m.special |= beyond;
    m.non_token |= beyond;
    return m;
  }

  __attribute__((always_inline)) static BlockMasks blockAt(const Constants& k, const char* p,
                                                           uint32_t size, uint32_t at) {
    // `at` stays below 2^32 - 128: scan() caps the size at 0xFFFFFF00.
    if (__builtin_expect(at + kBlockSize <= size, 1)) {
      return Kernel::classify(k, p + at);
    }
    return tailBlock(k, p, size, at);
  }

  // windowAt starts a window at `at`: the message start, inline.
  __attribute__((always_inline)) static Window windowAt(const Constants& k, const char* p,
                                                        uint32_t size, uint32_t at) {
    return {at, blockAt(k, p, size, at), blockAt(k, p, size, at + kBlockSize), k};
  }

  // restartAt is windowAt, out of the loop, for a line that starts 128 bytes past the window
  // start: one slide would not reach it (its line before ran from the first block's last byte
  // to the second block's end). A longer line slides the window itself (search()).
  __attribute__((noinline, cold)) static Window restartAt(const Constants& k, const char* p,
                                                          uint32_t size, uint32_t at) {
    return windowAt(k, p, size, at);
  }

  // slide moves the window one block forward.
  __attribute__((always_inline)) static void slide(Window& w, const char* p, uint32_t size) {
    w.cur = w.next;
    w.start += kBlockSize;
    w.next = blockAt(w.constants, p, size, w.start + kBlockSize);
  }

  // moveTo slides the window until `line` lies in its first block. Lines are shorter than 64
  // bytes nearly always: one step, one classification, or none.
  __attribute__((always_inline)) static void moveTo(Window& w, const char* p, uint32_t size,
                                                    uint32_t line) {
    const uint32_t rel = line - w.start;
    if (rel >= kBlockSize) {
      if (__builtin_expect(rel < 2 * kBlockSize, 1)) {
        slide(w, p, size);
      } else {
        w = restartAt(w.constants, p, size, line);
      }
    }
  }

  // funnel returns bits [shift, shift + 64) of the 128-bit value high:low (shift < 64).
  __attribute__((always_inline)) static uint64_t funnel(uint64_t low, uint64_t high,
                                                        uint32_t shift) {
#if defined(__x86_64__)
    // One funnel shift: low >> shift | high << (64 - shift), and just `low` when shift == 0.
    asm("shrdq %%cl, %1, %0" : "+r"(low) : "r"(high), "c"(shift) : "cc");
    return low;
#else
    // Two shifts for the second block so that shift == 0 does not shift by 64.
    return (low >> shift) | ((high << 1) << (63 - shift));
#endif
  }

  // search returns the first position at or after `pos` (>= w.start) whose bit is set in the
  // masks `which` selects, sliding the window forward as it goes: the search past the first
  // 64 bits, for lines of 64 bytes or more. Every block is classified once, as when the walk
  // slides over it line by line. Positions from the end of the input on are set, so it ends by
  // size + 63.
  template <uint64_t BlockMasks::*which>
  __attribute__((always_inline)) static uint32_t search(Window& w, const char* p, uint32_t size,
                                                       uint32_t pos) {
    while (true) {
      const uint32_t rel = pos - w.start;
      if (rel >= kBlockSize) {
        slide(w, p, size);
        continue;
      }
      const uint64_t bits = funnel(w.cur.*which, w.next.*which, rel);
      if (bits != 0) {
        return pos + static_cast<uint32_t>(__builtin_ctzll(bits));
      }
      pos += static_cast<uint32_t>(kBlockSize);
    }
  }

  // lineSpan sets `eol` to the first special byte at or after `line` (the CR of its CRLF, when
  // well formed; size_ or more when none) and `token_end` to the end of the token run that
  // starts the line (<= eol), from the window bits at `line`.
  __attribute__((always_inline)) static void lineSpan(const char* p, uint32_t size, Window& w,
                                                      uint64_t special_bits, uint64_t token_bits,
                                                      uint32_t line, uint32_t& eol,
                                                      uint32_t& token_end) {
    if (__builtin_expect(special_bits != 0, 1)) {
      // Specials are non-token bytes too: token_bits is not zero either.
      eol = line + static_cast<uint32_t>(__builtin_ctzll(special_bits));
      token_end = line + static_cast<uint32_t>(__builtin_ctzll(token_bits));
    } else {
      // A line of 64 bytes or more. No special byte precedes token_end (specials are
      // non-token), so the line end is searched from there.
      token_end = token_bits != 0
                      ? line + static_cast<uint32_t>(__builtin_ctzll(token_bits))
                      : search<&BlockMasks::non_token>(w, p, size, line + kBlockSize);
      eol = search<&BlockMasks::special>(w, p, size,
                                         token_end > line + kBlockSize ? token_end
                                                                       : line + kBlockSize);
    }
  }

  // lineVerdict returns None when the line that lineSpan measured ends with CRLF, else the
  // verdict; on Truncated (`need_more`) it clamps `eol` and `token_end` to the input.
  __attribute__((always_inline)) static ScanError lineVerdict(const char* p, uint32_t size,
                                                              uint32_t& eol, uint32_t& token_end,
                                                              bool& need_more) {
    need_more = false;
    // eol + 1 < size (size > line >= 0 here).
    if (__builtin_expect(eol < size - 1, 1)) {
      uint16_t pair;
      std::memcpy(&pair, p + eol, sizeof(pair));
      if (__builtin_expect(pair == kCrLf, 1)) {
        return ScanError::None;
      }
    }
    if (eol >= size || (p[eol] == '\r' && eol + 1 >= size)) {
      need_more = true;
      eol = size;
      token_end = token_end < size ? token_end : size;
      return ScanError::Truncated;
    }
    return p[eol] == '\n' ? ScanError::BareLineFeed : ScanError::ControlCharacter;
  }

  // lineEnds is lineSpan and lineVerdict for the line at `line` (the start line).
  __attribute__((always_inline)) static ScanError lineEnds(const char* p, uint32_t size,
                                                           Window& w, uint32_t line,
                                                           uint32_t& eol, uint32_t& token_end,
                                                           bool& need_more) {
    const uint32_t rel = line - w.start;
    lineSpan(p, size, w, funnel(w.cur.special, w.next.special, rel),
             funnel(w.cur.non_token, w.next.non_token, rel), line, eol, token_end);
    return lineVerdict(p, size, eol, token_end, need_more);
  }

  // copyOccurrences stores the 16-bit counts into the message's 8-bit ones, saturated at 255.
  void copyOccurrences() {
#if defined(__SSE2__)
    // 16 counts per step: min(count, 255) as count - (count -sat 255), then a pack.
    auto pack16 = [this](int slot) {
      const __m128i limit = _mm_set1_epi16(0xFF);
      __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(occurrences_ + slot));
      __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(occurrences_ + slot + 8));
      low = _mm_sub_epi16(low, _mm_subs_epu16(low, limit));
      high = _mm_sub_epi16(high, _mm_subs_epu16(high, limit));
      return _mm_packus_epi16(low, high);
    };
    constexpr int kWhole = kKnownHeaderCount / 16 * 16;
    for (int slot = 0; slot < kWhole; slot += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out_.occurrences + slot), pack16(slot));
    }
    if constexpr (kWhole < kKnownHeaderCount) {
      alignas(16) uint8_t packed[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(packed), pack16(kWhole));
      std::memcpy(out_.occurrences + kWhole, packed, kKnownHeaderCount - kWhole);
    }
#else
    for (int slot = 0; slot < kKnownHeaderCount; ++slot) {
      out_.occurrences[slot] =
          static_cast<uint8_t>(occurrences_[slot] < 0xFF ? occurrences_[slot] : 0xFF);
    }
#endif
  }

  // counted returns `result` once the message holds the `count` headers the walk indexed (kept
  // in a register while it runs).
  ScanResult counted(ScanResult result, uint32_t count) {
    out_.header_count = static_cast<uint16_t>(count);
    return result;
  }

  // checkPendingConflict: RFC 3261 §7.3.1 lets a single-valued header repeat only with the
  // same value; different values are ambiguous and rejected.
  // Returns None, or the verdict with `at` set.
  ScanError checkPendingConflict(int32_t pending, uint32_t& at) {
    const HeaderField& repeat = out_.headers[pending];
    const HeaderField& first = out_.headers[first_index_[static_cast<int>(repeat.id)]];
    if (!sameValue(p_, first, repeat)) {
      at = repeat.name.offset;
      return ScanError::ConflictingHeader;
    }
    return ScanError::None;
  }

  ScanResult walk(uint32_t& headers_end) {
    // The hot state in locals, so that it stays in registers across the stores below.
    const char* const p = p_;
    const uint32_t size = size_;
    // 32-bit copy of the 16-bit count: no partial-register loads and compares. `field` walks
    // along with it: no index arithmetic per line.
    uint32_t count = out_.header_count;
    HeaderField* field = out_.headers + count;
    HeaderField* const fields_end = out_.headers + out_.header_capacity;
    int32_t pending = -1;  // a repeated single-valued header awaiting its final value
    if (__builtin_expect(base_ >= size, 0)) {
      return incomplete(ScanError::Truncated);  // nothing to scan (scan() never asks this)
    }
    // `line - base_ > max_message_bytes` as one 32-bit compare: lines stay below 2^32 - 256
    // (scan() caps the size), so clamping the sum changes no verdict.
    const uint64_t last_line_wide = static_cast<uint64_t>(base_) + limits_.max_message_bytes;
    const uint32_t last_line =
        last_line_wide < 0xFFFFFFFFull ? static_cast<uint32_t>(last_line_wide) : 0xFFFFFFFFu;
    // The common line's checks in one compare: a line whose CR lies before `fast_end` starts
    // within the size limit (line <= eol <= last_line) and has its CRLF pair inside the input.
    const uint32_t fast_end = last_line < size - 1 ? last_line + 1 : size - 1;
    // fast_end, or 0 while a repeated header awaits its comparison (`pending`).
    uint32_t common_end = fast_end;
    // Lines before `wide_end` have kMaxHeaderNameLength readable bytes (the wide name lookup).
    const uint32_t wide_end = size >= kMaxHeaderNameLength ? size - kMaxHeaderNameLength + 1 : 0;

    Window w = windowAt(Kernel::constants(), p, size, base_);
    uint32_t eol = 0;
    uint32_t token_end = 0;
    bool need_more = false;
    ScanError error = lineEnds(p, size, w, base_, eol, token_end, need_more);
    if (error != ScanError::None) {
      return need_more ? incomplete(error) : invalid(error, eol);
    }
    uint32_t at = 0;
    error = parseStartLine(p, base_, eol, token_end, out_, at);
    if (error != ScanError::None) {
      return invalid(error, at);
    }
    uint32_t line = eol + 2;
    while (true) {
      // line <= size here: the previous line's CRLF lies inside the input.
      moveTo(w, p, size, line);
      const uint32_t rel = line - w.start;
      const uint64_t special_bits = funnel(w.cur.special, w.next.special, rel);
      const uint64_t token_bits = funnel(w.cur.non_token, w.next.non_token, rel);
      // Measuring first is safe for any line (positions from the end of the input on are set,
      // and the window only slides forward); the verdicts below keep the order of the checks.
      lineSpan(p, size, w, special_bits, token_bits, line, eol, token_end);
      // The common line starts with a token character (not the empty line, folding, a bad
      // byte or the end of the input, whose bits are all set), ends with CRLF before
      // `common_end` and has no repeated header before it awaiting its comparison. Every other
      // line takes the checks below, in their original order; the common path knows its
      // header name is not empty.
      bool common = (token_bits & 1) == 0 && eol < common_end;
      if (__builtin_expect(common, 1)) {
        uint16_t pair;
        std::memcpy(&pair, p + eol, sizeof(pair));
        common = pair == kCrLf;
      }
      if (__builtin_expect(!common, 0)) {
        if (line > last_line) {
          return counted(line >= size ? incomplete(ScanError::Truncated)
                                      : invalid(ScanError::MessageTooLarge, line),
                         count);
        }
        if ((token_bits & 1) != 0) {
          if (line >= size) {
            return counted(incomplete(ScanError::Truncated), count);
          }
          const char c = p[line];
          if (c == '\r') {
            if (line + 1 >= size) {
              return counted(incomplete(ScanError::Truncated), count);
            }
            if (p[line + 1] != '\n') {
              return counted(invalid(ScanError::ControlCharacter, line), count);
            }
            break;
          }
          if (c == '\n') {
            return counted(invalid(ScanError::BareLineFeed, line), count);
          }
          // A control byte stops here, where it stands.
          error = lineVerdict(p, size, eol, token_end, need_more);
          if (error != ScanError::None) {
            return counted(need_more ? incomplete(error) : invalid(error, eol), count);
          }
          if (isWsp(c)) {
            out_.header_count = static_cast<uint16_t>(count);
            error = extendFolded(p, line, eol, out_);
            if (error != ScanError::None) {
              return counted(invalid(error, line), count);
            }
            line = eol + 2;
            continue;
          }
          // Any other byte would start an empty header name.
          if (pending >= 0) {
            error = checkPendingConflict(pending, at);
            pending = -1;
            if (error != ScanError::None) {
              return counted(invalid(error, at), count);
            }
          }
          return counted(invalid(ScanError::BadHeaderName, line), count);
        }
        error = lineVerdict(p, size, eol, token_end, need_more);
        if (error != ScanError::None) {
          return counted(need_more ? incomplete(error) : invalid(error, eol), count);
        }
        if (pending >= 0) {
          error = checkPendingConflict(pending, at);
          pending = -1;
          common_end = fast_end;
          if (error != ScanError::None) {
            return counted(invalid(error, at), count);
          }
        }
      }
      // The header line [line, eol), its name [line, token_end), not empty.
      // message-header = field-name HCOLON field-value CRLF; HCOLON = *(SP / HTAB) ":" SWS.
      uint32_t i = token_end;
      // Nearly always "Name: value": the colon right after the name, then one SP.
      // `token_end` <= `eol` and p[eol + 1] is the LF: the pair is inside the input, and when
      // it is ": " it ends at or before the CR, so p[i] below is inside the line or its CR.
      uint16_t pair;
      std::memcpy(&pair, p + i, sizeof(pair));
      if (__builtin_expect(pair == kColonSpace, 1)) {
        i += 2;
        if (__builtin_expect(static_cast<unsigned char>(p[i]) <= ' ', 0)) {
          while (i < eol && isWsp(p[i])) {
            ++i;
          }
        }
      } else {
        if (p[i] != ':') {
          while (i < eol && isWsp(p[i])) {
            ++i;
          }
          if (i >= eol || p[i] != ':') {
            // A non-token byte right inside the name is a bad name; else it lacks its colon.
            const ScanError bad = (i < eol && i == token_end) ? ScanError::BadHeaderName
                                                              : ScanError::BadHeaderLine;
            return counted(invalid(bad, i), count);
          }
        }
        ++i;  // HCOLON's SWS
        while (i < eol && isWsp(p[i])) {
          ++i;
        }
      }
      uint32_t value_end = eol;
      // (Through the pointer: eol >= 1, and the address needs no zero-extension.)
      if (__builtin_expect(static_cast<unsigned char>((p + eol)[-1]) <= ' ', 0)) {
        while (value_end > i && isWsp(p[value_end - 1])) {
          --value_end;
        }
      }
      if (__builtin_expect(field >= fields_end, 0)) {
        return counted(invalid(ScanError::TooManyHeaders, line), count);
      }
      const auto index = static_cast<uint16_t>(count);
      field->name = {line, token_end - line};
      field->value = {i, value_end - i};
      // Nearly every name has 24 readable bytes after its start (the rest of its line at least);
      // the last line of a short buffer takes the bounded lookup.
      const HeaderId id = __builtin_expect(line < wide_end, 1)
                              ? Kernel::lookupName(p + line, token_end - line)
                              : lookupHeaderName(p + line, token_end - line);
      field->id = id;
      ++field;
      ++count;
      // HeaderId::Other has its own slot; it is never single-valued.
      const size_t slot = static_cast<uint8_t>(id);
      const uint16_t seen = occurrences_[slot];
      occurrences_[slot] = static_cast<uint16_t>(seen + 1);
      if (seen == 0) {
        first_index_[slot] = static_cast<int16_t>(index);
      } else if (__builtin_expect(kSingleValued[slot], 0)) {
        // Compared once the value is final (a continuation line may still extend it): the
        // next line takes the checked path, where the comparison waits.
        pending = static_cast<int32_t>(index);
        common_end = 0;
      }
      line = eol + 2;
    }
    out_.header_count = static_cast<uint16_t>(count);
    if (pending >= 0) {
      error = checkPendingConflict(pending, at);
      if (error != ScanError::None) {
        return invalid(error, at);
      }
    }
    headers_end = line;
    return {ScanStatus::Complete, ScanError::None, 0, 0};
  }

  const char* p_;
  uint32_t size_;
  uint32_t base_;  // the start line's offset: blocks are counted from here
  SipMessage& out_;
  const ScanLimits& limits_;
  // The message's first_index/occurrences plus one slot for HeaderId::Other, so recording a
  // header needs no branch on whether it is known.
  int16_t first_index_[kKnownHeaderCount + 1];
  // 16-bit counts (a count never passes the 16-bit capacity): one increment per line, no
  // saturation test; run() saturates them to the message's 8-bit counts once.
  // Padded to whole 16-count steps for copyOccurrences().
  uint16_t occurrences_[(kKnownHeaderCount + 1 + 15) / 16 * 16];
};

}  // namespace sipshield::parser::detail
