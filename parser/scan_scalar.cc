#include <array>
#include <cstdint>

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

}  // namespace sipshield::parser
