#pragma once

// Internal: the scanner's line walk, a template over the ISA's block classifier. Each
// scan_<isa>.cc includes this under its own `#pragma GCC target`, after everything this file
// includes, so the classifier inlines into the walk and no shared inline code is compiled
// for that ISA. Everything here is a member of LineWalker<Kernel>: one distinct instantiation
// per ISA, never an ODR clash between the files.
//
// How it walks: the buffer is classified 64 bytes at a time into two bit masks (special
// bytes; bytes that are not token characters, scan_kernel.h). A ring of the last kRing blocks'
// masks answers "where does this line end / where does its name end" with one shift pair and
// a count of trailing zeros for any line shorter than 64 bytes, so the per-line cost has no
// byte loop and no data-dependent branch on the line's length.

#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser::detail {

// Kernel provides `static BlockMasks classify(const char* p)` over exactly [p, p + 64).
template <typename Kernel>
class LineWalker {
 public:
  LineWalker(const char* p, uint32_t size, uint32_t start, SipMessage& out,
             const ScanLimits& limits)
      : p_(p), size_(size), base_(start), out_(out), limits_(limits) {
    std::memset(first_index_, 0xFF, sizeof(first_index_));
    std::memset(occurrences_, 0, sizeof(occurrences_));
  }

  // run scans the message that starts at `start` (see scan()); the header index is copied into
  // the message whatever the outcome.
  ScanResult run() {
    uint32_t headers_end = 0;
    ScanResult result = walk(headers_end);
    std::memcpy(out_.first_index, first_index_, sizeof(out_.first_index));
    std::memcpy(out_.occurrences, occurrences_, sizeof(out_.occurrences));
    if (result.status != ScanStatus::Complete) {
      return result;
    }
    return finishMessage(p_, size_, headers_end, out_, limits_);
  }

 private:
  // The ring holds the masks of blocks [classified_ - kRing, classified_); a refill classifies
  // up to kAhead blocks past the current one, so most lines find both their blocks ready.
  static constexpr uint32_t kRing = 4;
  static constexpr uint32_t kAhead = 1;
  static_assert(kAhead < kRing);
  // "\r\n" and ": " as little-endian 16-bit loads.
  static constexpr uint16_t kCrLf = 0x0A0D;
  static constexpr uint16_t kColonSpace = 0x203A;

  ScanResult incomplete(ScanError error) const { return {ScanStatus::Incomplete, error, size_, 0}; }
  static ScanResult invalid(ScanError error, uint32_t at) {
    return {ScanStatus::Invalid, error, at, 0};
  }

  void classifyInto(uint32_t block) {
    const uint64_t at = static_cast<uint64_t>(base_) + static_cast<uint64_t>(block) * kBlockSize;
    BlockMasks m;
    if (at + kBlockSize <= size_) {
      m = Kernel::classify(p_ + at);
    } else {
      // The last, partial block: classify a zero-padded copy, and let every byte from the
      // end of the input on stop both searches (never read past the input).
      char tail[kBlockSize] = {};
      const uint32_t valid = at < size_ ? static_cast<uint32_t>(size_ - at) : 0;
      if (valid > 0) {
        std::memcpy(tail, p_ + at, valid);
      }
      m = Kernel::classify(tail);
      const uint64_t beyond = ~0ull << valid;
      m.special |= beyond;
      m.non_token |= beyond;
    }
    special_[block % kRing] = m.special;
    non_token_[block % kRing] = m.non_token;
  }

  // ensure makes the masks of `block` and the one after it available.
  void ensure(uint32_t block) {
    if (__builtin_expect(block + 2 <= classified_ && block + kRing >= classified_, 1)) {
      return;
    }
    if (block + kRing < classified_) {
      classified_ = block;  // a search went back before the ring (long lines): restart there
    }
    const uint32_t from = classified_ > block ? classified_ : block;
    for (uint32_t b = from; b <= block + kAhead; ++b) {
      classifyInto(b);
    }
    classified_ = block + kAhead + 1;
  }

  // window returns the 64 mask bits for positions [pos, pos + 64) (ensure() ran for pos).
  uint64_t window(const uint64_t* masks, uint32_t pos) const {
    const uint32_t rel = pos - base_;
    const uint32_t block = rel / kBlockSize;
    const uint32_t shift = rel % kBlockSize;
    uint64_t low = masks[block % kRing];
    const uint64_t high = masks[(block + 1) % kRing];
#if defined(__x86_64__)
    // One funnel shift: low >> shift | high << (64 - shift), and just `low` when shift == 0.
    asm("shrdq %%cl, %1, %0" : "+r"(low) : "r"(high), "c"(shift) : "cc");
    return low;
#else
    // Two shifts for the second block so that shift == 0 does not shift by 64.
    return (low >> shift) | ((high << 1) << (63 - shift));
#endif
  }

  // next returns the first position at or after `pos` whose bit is set in `masks`; positions
  // from the end of the input on are set, so the answer is at most size_ + 63.
  uint32_t next(const uint64_t* masks, uint32_t pos) {
    while (true) {
      ensure((pos - base_) / kBlockSize);
      const uint64_t bits = window(masks, pos);
      if (__builtin_expect(bits != 0, 1)) {
        return pos + static_cast<uint32_t>(__builtin_ctzll(bits));
      }
      pos += static_cast<uint32_t>(kBlockSize);
    }
  }

  // lineEnds sets `eol` to the first special byte at or after `line` (the CR of its CRLF, when
  // well formed; size_ or more when none) and `token_end` to the end of the token run that
  // starts the line (<= eol). Returns None when the line ends with CRLF, else the verdict.
  __attribute__((always_inline)) ScanError lineEnds(uint32_t line, uint32_t& eol, uint32_t& token_end,
                                                    bool& need_more) {
    ensure((line - base_) / kBlockSize);
    uint64_t token_bits = window(non_token_, line);
    uint64_t special_bits = window(special_, line);
    token_end = token_bits != 0 ? line + static_cast<uint32_t>(__builtin_ctzll(token_bits))
                                : next(non_token_, line + 64);
    eol = special_bits != 0 ? line + static_cast<uint32_t>(__builtin_ctzll(special_bits))
                            : next(special_, line + 64);
    need_more = false;
    if (__builtin_expect(eol + 1 < size_, 1)) {
      uint16_t pair;
      std::memcpy(&pair, p_ + eol, sizeof(pair));
      if (__builtin_expect(pair == kCrLf, 1)) {
        return ScanError::None;
      }
    }
    if (eol >= size_ || (p_[eol] == '\r' && eol + 1 >= size_)) {
      need_more = true;
      eol = size_;
      token_end = token_end < size_ ? token_end : size_;
      return ScanError::Truncated;
    }
    return p_[eol] == '\n' ? ScanError::BareLineFeed : ScanError::ControlCharacter;
  }

  // addHeader indexes the header line [begin, eol) whose name ends at `name_end`.
  // message-header = field-name HCOLON field-value CRLF; HCOLON = *(SP / HTAB) ":" SWS.
  ScanError addHeader(uint32_t begin, uint32_t eol, uint32_t name_end, uint32_t& at) {
    uint32_t i = name_end;
    if (__builtin_expect(name_end == begin, 0)) {
      at = begin;
      return ScanError::BadHeaderName;
    }
    // Nearly always "Name: value": the colon right after the name, one SP, then the value.
    // `name_end` <= `eol` and p_[eol + 1] is the LF: the pair is inside the input.
    uint16_t pair;
    std::memcpy(&pair, p_ + i, sizeof(pair));
    if (__builtin_expect(pair == kColonSpace && i + 2 < eol && !isWsp(p_[i + 2]), 1)) {
      i += 2;
    } else {
      if (p_[i] != ':') {
        while (i < eol && isWsp(p_[i])) {
          ++i;
        }
        if (i >= eol || p_[i] != ':') {
          at = i;
          // A non-token byte right inside the name is a bad name; else it lacks its colon.
          return (i < eol && i == name_end) ? ScanError::BadHeaderName
                                            : ScanError::BadHeaderLine;
        }
      }
      ++i;  // HCOLON's SWS
      while (i < eol && isWsp(p_[i])) {
        ++i;
      }
    }
    uint32_t value_end = eol;
    if (__builtin_expect(static_cast<unsigned char>(p_[eol - 1]) <= ' ', 0)) {
      while (value_end > i && isWsp(p_[value_end - 1])) {
        --value_end;
      }
    }
    if (__builtin_expect(out_.header_count >= out_.header_capacity, 0)) {
      at = begin;
      return ScanError::TooManyHeaders;
    }
    const uint16_t index = out_.header_count;
    HeaderField& field = out_.headers[index];
    field.name = {begin, name_end - begin};
    field.value = {i, value_end - i};
    // Nearly every name has 24 readable bytes after its start (the rest of its line at least);
    // the last line of a short buffer takes the bounded lookup.
    field.id = __builtin_expect(size_ - begin >= kMaxHeaderNameLength, 1)
                   ? lookupHeaderNameWide(p_ + begin, name_end - begin)
                   : lookupHeaderName(p_ + begin, name_end - begin);
    ++out_.header_count;
    // HeaderId::Other has its own slot; it is never single-valued.
    const int id = static_cast<int>(field.id);
    const int16_t first = first_index_[id];
    if (first < 0) {
      first_index_[id] = static_cast<int16_t>(index);
    } else if (__builtin_expect(kSingleValued[id], 0)) {
      // Compared once the value is final (a continuation line may still extend it).
      pending_conflict_ = static_cast<int32_t>(index);
    }
    occurrences_[id] = static_cast<uint8_t>(occurrences_[id] + (occurrences_[id] != 0xFF));
    return ScanError::None;
  }

  // checkPendingConflict: RFC 3261 §7.3.1 lets a single-valued header repeat only with the
  // same value; different values are ambiguous and rejected.
  ScanError checkPendingConflict(uint32_t& at) {
    const HeaderField& repeat = out_.headers[pending_conflict_];
    pending_conflict_ = -1;
    const HeaderField& first = out_.headers[first_index_[static_cast<int>(repeat.id)]];
    if (!sameValue(p_, first, repeat)) {
      at = repeat.name.offset;
      return ScanError::ConflictingHeader;
    }
    return ScanError::None;
  }

  ScanResult walk(uint32_t& headers_end) {
    uint32_t eol = 0;
    uint32_t token_end = 0;
    bool need_more = false;
    ScanError error = lineEnds(base_, eol, token_end, need_more);
    if (error != ScanError::None) {
      return need_more ? incomplete(error) : invalid(error, eol);
    }
    uint32_t at = 0;
    error = parseStartLine(p_, base_, eol, token_end, out_, at);
    if (error != ScanError::None) {
      return invalid(error, at);
    }
    uint32_t line = eol + 2;
    while (true) {
      if (__builtin_expect(line >= size_, 0)) {
        return incomplete(ScanError::Truncated);
      }
      if (__builtin_expect(line - base_ > limits_.max_message_bytes, 0)) {
        return invalid(ScanError::MessageTooLarge, line);
      }
      const char c = p_[line];
      // One compare sends the rare line starts (the empty line, folding, control bytes) aside.
      if (__builtin_expect(static_cast<unsigned char>(c) <= ' ', 0)) {
        if (c == '\r') {
          if (line + 1 >= size_) {
            return incomplete(ScanError::Truncated);
          }
          if (p_[line + 1] != '\n') {
            return invalid(ScanError::ControlCharacter, line);
          }
          break;
        }
        if (c == '\n') {
          return invalid(ScanError::BareLineFeed, line);
        }
        if (isWsp(c)) {
          error = lineEnds(line, eol, token_end, need_more);
          if (error != ScanError::None) {
            return need_more ? incomplete(error) : invalid(error, eol);
          }
          error = extendFolded(p_, line, eol, out_);
          if (error != ScanError::None) {
            return invalid(error, line);
          }
          line = eol + 2;
          continue;
        }
        // Any other control byte: lineEnds() reports it where it stands.
      }
      error = lineEnds(line, eol, token_end, need_more);
      if (__builtin_expect(error != ScanError::None, 0)) {
        return need_more ? incomplete(error) : invalid(error, eol);
      }
      if (__builtin_expect(pending_conflict_ >= 0, 0)) {
        error = checkPendingConflict(at);
        if (error != ScanError::None) {
          return invalid(error, at);
        }
      }
      error = addHeader(line, eol, token_end, at);
      if (__builtin_expect(error != ScanError::None, 0)) {
        return invalid(error, at);
      }
      line = eol + 2;
    }
    if (pending_conflict_ >= 0) {
      error = checkPendingConflict(at);
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
  uint32_t classified_ = 0;       // blocks [0, classified_) have been classified
  int32_t pending_conflict_ = -1;  // a repeated single-valued header awaiting its final value
  uint64_t special_[kRing] = {};
  uint64_t non_token_[kRing] = {};
  // The message's first_index/occurrences plus one slot for HeaderId::Other, so recording a
  // header needs no branch on whether it is known.
  int16_t first_index_[kKnownHeaderCount + 1];
  uint8_t occurrences_[kKnownHeaderCount + 1];
};

}  // namespace sipshield::parser::detail
