#include <array>
#include <cstdint>

#include "parser/char_class.h"
#include "parser/scan_kernel.h"

namespace sipshield::parser {
namespace {

constexpr std::array<bool, 256> makeSpecialTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) {
    t[c] = c != '\t';
  }
  t[0x7F] = true;
  return t;
}

constexpr std::array<bool, 256> kSpecial = makeSpecialTable();

}  // namespace

// The reference kernel: every other kernel must agree with it on every input.
size_t findSpecialScalar(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (kSpecial[static_cast<unsigned char>(p[i])]) {
      return i;
    }
  }
  return n;
}

LineEnds findLineScalar(const char* p, size_t n) {
  size_t i = 0;
  while (i < n && kTokenChar[static_cast<unsigned char>(p[i])]) {
    ++i;
  }
  return {i + findSpecialScalar(p + i, n - i), i};
}

// The reference structural kernel: one table lookup per byte and class.
BlockMasks classifyBlockScalar(const char* p) {
  BlockMasks m{0, 0};
  for (size_t i = 0; i < kBlockSize; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    m.special |= static_cast<uint64_t>(kSpecial[c]) << i;
    m.non_token |= static_cast<uint64_t>(!kTokenChar[c]) << i;
  }
  return m;
}

}  // namespace sipshield::parser
