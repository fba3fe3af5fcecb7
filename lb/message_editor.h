#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parser/span.h"

namespace sipshield::lb {

// MessageEditor holds a few edits (insert, replace, remove) at offsets of a message and
// applies them either while copying it into an output buffer (write) or inside the buffer
// it was received in (applyInPlace): the stateless-proxy rewrite without building the message
// twice. Fixed capacity, no allocation. Not thread-safe (one per worker/packet).
class MessageEditor {
 public:
  static constexpr int kMaxEdits = 12;

  // replace swaps [offset, offset + remove) of the input for `text`; remove == 0 inserts.
  // `text` must stay valid until write(). Returns false when the edit table is full.
  bool replace(uint32_t offset, uint32_t remove, std::string_view text);
  bool insert(uint32_t offset, std::string_view text) { return replace(offset, 0, text); }
  bool remove(parser::Span span) { return replace(span.offset, span.length, {}); }

  // write copies `input` with every edit applied into `out`. Edits may be added in any order
  // but must not overlap. Returns the output length, or 0 when edits overlap or the result
  // would exceed `capacity`.
  [[nodiscard]] size_t write(parser::ByteView input, uint8_t* out, size_t capacity);

  // InPlace is where applyInPlace left the rewritten message: `data` is null when it could not
  // be applied (overlapping or out-of-range edits, or not enough room either side).
  // `unchanged_tail` is how many of its last bytes are the input's last bytes, where they
  // were (no edit touched them and they did not move): what follows the last edit when the
  // rest moved, 0 when everything after the first edit moved.
  struct InPlace {
    uint8_t* data = nullptr;
    size_t length = 0;
    size_t unchanged_tail = 0;
  };

  // applyInPlace applies the edits to the `length` bytes at `begin` inside the buffer they
  // live in, which has `headroom` writable bytes before `begin` and `tailroom` after
  // `begin + length`. Only the bytes that must move are moved: when the message grows and the
  // growth fits the headroom, everything before the last edit moves toward the headroom and
  // the bytes after the last edit (the body) stay where they are; when it shrinks, the bytes
  // before the last edit move forward. Growth that does not fit the headroom but fits the
  // tailroom keeps the start in place and moves what follows the first edit (the body too).
  // The edit texts must not point into the buffer. Gives the same bytes as write(). Returns
  // where the message now starts and its length, or {nullptr, 0} (buffer untouched) when the
  // edits overlap, fall outside `length`, or the growth fits neither side. Not thread-safe.
  [[nodiscard]] InPlace applyInPlace(uint8_t* begin, size_t length, size_t headroom,
                                     size_t tailroom) const;

  // growth returns the output length minus the input length (negative when it shrinks).
  [[nodiscard]] int64_t growth() const;

  // size returns the number of edits held.
  [[nodiscard]] int size() const { return count_; }

  void clear() { count_ = 0; }

 private:
  struct Edit {
    uint32_t offset;
    uint32_t remove;
    std::string_view text;
  };
  Edit edits_[kMaxEdits];
  int count_ = 0;
};

}  // namespace sipshield::lb
