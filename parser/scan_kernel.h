#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipshield::parser {

// The scanner's one hot loop: find where a line ends or where a forbidden byte sits.
// A "special" byte is a control character other than HTAB (0x00-0x08, 0x0A-0x1F: CR and LF
// included) or DEL (0x7F). Kernels never read outside [p, p + n).
using FindSpecialFn = size_t (*)(const char* p, size_t n);

// findSpecial* return the index of the first special byte in [p, p + n), or n if none.
size_t findSpecialScalar(const char* p, size_t n);
size_t findSpecialSse42(const char* p, size_t n);
size_t findSpecialAvx2(const char* p, size_t n);

// The line kernel: one pass over a header line yields both where it ends and where its name
// ends. `special` is the index of the first special byte in [p, p + n) (as findSpecial), and
// `non_token` the index of the first byte that is not an RFC 3261 token character, n when
// none; a special byte is never a token character, so non_token <= special.
struct LineEnds {
  size_t special;
  size_t non_token;
};

// findLine* never read outside [p, p + n) and return identical results.
using FindLineFn = LineEnds (*)(const char* p, size_t n);
LineEnds findLineScalar(const char* p, size_t n);
LineEnds findLineSse42(const char* p, size_t n);
LineEnds findLineAvx2(const char* p, size_t n);

// The structural kernel: classify 64 bytes at once (simdjson stage 1 style). Bit i of each
// mask describes byte p[i]: `special` as for findSpecial (control bytes but HTAB, and DEL),
// `non_token` for every byte that is not an RFC 3261 token character (so specials too).
// Walking these masks with count-trailing-zeros finds line ends and token ends without a
// per-byte loop; BlockCursor (parser/block_cursor.h) does that walk.
struct BlockMasks {
  uint64_t special;
  uint64_t non_token;
};

inline constexpr size_t kBlockSize = 64;

// classifyBlock* read exactly the 64 bytes [p, p + 64); all three return identical masks.
using ClassifyBlockFn = BlockMasks (*)(const char* p);
BlockMasks classifyBlockScalar(const char* p);
BlockMasks classifyBlockSse42(const char* p);
BlockMasks classifyBlockAvx2(const char* p);

enum class ScanIsa { Scalar, Sse42, Avx2 };

// bestScanIsa is the fastest kernel this CPU supports (checked with cpuid once).
[[nodiscard]] ScanIsa bestScanIsa();
[[nodiscard]] std::string_view scanIsaName(ScanIsa isa);
[[nodiscard]] bool scanIsaSupported(ScanIsa isa);

// activeScanIsa / setScanIsa choose the kernel scan() uses; bestScanIsa() at start. setScanIsa
// is for start-up and tests only: not thread-safe against running scans. Returns false (and
// changes nothing) when the CPU lacks the ISA.
[[nodiscard]] ScanIsa activeScanIsa();
bool setScanIsa(ScanIsa isa);

namespace detail {
extern FindSpecialFn g_find_special;
extern ClassifyBlockFn g_classify_block;
extern FindLineFn g_find_line;
}  // namespace detail

}  // namespace sipshield::parser
