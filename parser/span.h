#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipshield::parser {

// Span is an offset/length view into the buffer that was scanned. Offsets (not pointers)
// keep a parsed message valid when its buffer is moved as a whole, and keep the struct small.
struct Span {
  uint32_t offset = 0;
  uint32_t length = 0;

  [[nodiscard]] constexpr bool empty() const { return length == 0; }
  [[nodiscard]] constexpr uint32_t end() const { return offset + length; }

  // view returns the bytes this span covers inside `base`, the buffer it was made from.
  [[nodiscard]] std::string_view view(const char* base) const {
    return std::string_view(base + offset, length);
  }
  [[nodiscard]] std::string_view view(const uint8_t* base) const {
    return view(reinterpret_cast<const char*>(base));
  }
};

// ByteView is the read-only input every parser entry point takes: the caller owns the bytes.
struct ByteView {
  const char* data = nullptr;
  size_t size = 0;

  ByteView() = default;
  ByteView(const char* d, size_t n) : data(d), size(n) {}
  ByteView(const uint8_t* d, size_t n) : data(reinterpret_cast<const char*>(d)), size(n) {}
  explicit ByteView(std::string_view s) : data(s.data()), size(s.size()) {}

  [[nodiscard]] std::string_view view(Span s) const { return s.view(data); }
};

}  // namespace sipshield::parser
