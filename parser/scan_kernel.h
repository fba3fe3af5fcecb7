#pragma once

#include <cstddef>
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
}  // namespace detail

}  // namespace sipshield::parser
