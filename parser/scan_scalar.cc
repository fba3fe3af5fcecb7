#include <array>
#include <cstdint>
#include <cstring>

#include "parser/char_class.h"
#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/scan_walk.h"
#include "parser/sip_message.h"

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

struct ScalarKernel {
  struct Constants {};
  static Constants constants() { return {}; }
  static BlockMasks classify(const Constants& /*unused*/, const char* p) {
    return classifyBlockScalar(p);
  }
  static HeaderId lookupName(const char* name, uint32_t length) {
    return detail::lookupHeaderNameWide(name, length);
  }
};

}  // namespace

// The reference structural kernel: one table lookup per byte and class. Every other kernel
// must agree with it on every input.
BlockMasks classifyBlockScalar(const char* p) {
  BlockMasks m{0, 0};
  for (size_t i = 0; i < kBlockSize; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    m.special |= static_cast<uint64_t>(kSpecial[c]) << i;
    m.non_token |= static_cast<uint64_t>(!kTokenChar[c]) << i;
  }
  return m;
}

ScanResult walkScalar(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                      const ScanLimits& limits) {
  return detail::LineWalker<ScalarKernel>(p, size, start, out, limits).run();
}

}  // namespace sipshield::parser
