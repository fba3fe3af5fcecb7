#include "lb/message_editor.h"

#include <cstring>

namespace sipshield::lb {

bool MessageEditor::replace(uint32_t offset, uint32_t remove, std::string_view text) {
  if (count_ == kMaxEdits) {
    return false;
  }
  // Keep the table sorted by offset (insertion sort: a handful of entries). Inserts at one
  // offset keep the order they were added in.
  int i = count_;
  while (i > 0 && edits_[i - 1].offset > offset) {
    edits_[i] = edits_[i - 1];
    --i;
  }
  edits_[i] = {offset, remove, text};
  ++count_;
  return true;
}

size_t MessageEditor::write(parser::ByteView input, uint8_t* out, size_t capacity) {
  size_t written = 0;
  uint32_t cursor = 0;
  auto copy = [&](const char* from, size_t length) {
    if (written + length > capacity) {
      return false;
    }
    if (length == 0) {
      return true;  // a removal's empty text may have a null data pointer
    }
    std::memcpy(out + written, from, length);
    written += length;
    return true;
  };
  for (int i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if (e.offset < cursor || e.offset + e.remove > input.size) {
      return 0;  // overlapping or out of range: a bug in the caller, never a partial message
    }
    if (!copy(input.data + cursor, e.offset - cursor) || !copy(e.text.data(), e.text.size())) {
      return 0;
    }
    cursor = e.offset + e.remove;
  }
  if (!copy(input.data + cursor, input.size - cursor)) {
    return 0;
  }
  return written;
}

}  // namespace sipshield::lb
