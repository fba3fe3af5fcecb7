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

int64_t MessageEditor::growth() const {
  int64_t delta = 0;
  for (int i = 0; i < count_; ++i) {
    delta += static_cast<int64_t>(edits_[i].text.size()) - static_cast<int64_t>(edits_[i].remove);
  }
  return delta;
}

MessageEditor::InPlace MessageEditor::applyInPlace(uint8_t* begin, size_t length,
                                                   size_t headroom, size_t tailroom) const {
  // The message is pieces of the input (before, between and after the edits) with the edit
  // texts between them. Check everything before moving a byte: a failure leaves the buffer as
  // it was, so the caller can still copy the original message.
  uint64_t cursor = 0;
  int64_t delta = 0;
  for (int i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if (e.offset < cursor || static_cast<uint64_t>(e.offset) + e.remove > length) {
      return {};
    }
    cursor = static_cast<uint64_t>(e.offset) + e.remove;
    delta += static_cast<int64_t>(e.text.size()) - static_cast<int64_t>(e.remove);
  }
  // shift of the start: negative = the message starts earlier (into the headroom).
  int64_t start_shift = 0;
  if (delta >= 0 && static_cast<uint64_t>(delta) <= headroom) {
    start_shift = -delta;  // the last piece (the body) keeps its place
  } else if (delta >= 0 && static_cast<uint64_t>(delta) <= tailroom) {
    start_shift = 0;  // the first piece keeps its place; the rest moves toward the tail
  } else if (delta < 0) {
    start_shift = -delta;  // shrinking: the body keeps its place, the head moves forward
  } else {
    return {};
  }
  // Piece k is input [from[k], to[k]); it moves by shift[k] = start_shift + (growth of the
  // edits before it). Pieces moving toward the start go first, left to right, then pieces
  // moving toward the end, right to left: neither order overwrites a piece not yet moved
  // (output pieces keep their order and never overlap). The texts go last, into gaps no
  // source needs.
  const int pieces = count_ + 1;
  uint64_t from[kMaxEdits + 1];
  uint64_t to[kMaxEdits + 1];
  int64_t shift[kMaxEdits + 1];
  int64_t moved = start_shift;
  for (int k = 0; k < pieces; ++k) {
    from[k] = k == 0 ? 0 : static_cast<uint64_t>(edits_[k - 1].offset) + edits_[k - 1].remove;
    to[k] = k == count_ ? length : edits_[k].offset;
    shift[k] = moved;
    if (k < count_) {
      moved += static_cast<int64_t>(edits_[k].text.size()) -
               static_cast<int64_t>(edits_[k].remove);
    }
  }
  for (int k = 0; k < pieces; ++k) {
    if (shift[k] < 0 && to[k] > from[k]) {
      std::memmove(begin + from[k] + shift[k], begin + from[k], to[k] - from[k]);
    }
  }
  for (int k = pieces - 1; k >= 0; --k) {
    if (shift[k] > 0 && to[k] > from[k]) {
      std::memmove(begin + from[k] + shift[k], begin + from[k], to[k] - from[k]);
    }
  }
  for (int i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if (!e.text.empty()) {
      // Edit i's text follows piece i, which moved by shift[i].
      std::memcpy(begin + e.offset + shift[i], e.text.data(), e.text.size());
    }
  }
  const size_t unchanged_tail = shift[count_] == 0 ? to[count_] - from[count_] : 0;
  return {begin + start_shift, static_cast<size_t>(static_cast<int64_t>(length) + delta),
          unchanged_tail};
}

}  // namespace sipshield::lb
