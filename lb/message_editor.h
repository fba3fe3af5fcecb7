#pragma once

#include <cstdint>
#include <string_view>

#include "parser/span.h"

namespace sipshield::lb {

// MessageEditor copies a message into an output buffer while applying a few edits (insert,
// replace, remove) at offsets of the input: the stateless-proxy rewrite without building
// the message twice. Fixed capacity, no allocation. Not thread-safe (one per worker/packet).
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
