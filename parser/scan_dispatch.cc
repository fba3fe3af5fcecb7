#include "parser/scan_kernel.h"

namespace sipshield::parser {
namespace {

FindSpecialFn kernelFor(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return findSpecialAvx2;
    case ScanIsa::Sse42:
      return findSpecialSse42;
    case ScanIsa::Scalar:
      break;
  }
  return findSpecialScalar;
}

ClassifyBlockFn classifierFor(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return classifyBlockAvx2;
    case ScanIsa::Sse42:
      return classifyBlockSse42;
    case ScanIsa::Scalar:
      break;
  }
  return classifyBlockScalar;
}

FindLineFn lineKernelFor(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return findLineAvx2;
    case ScanIsa::Sse42:
      return findLineSse42;
    case ScanIsa::Scalar:
      break;
  }
  return findLineScalar;
}

ScanIsa g_active_isa = bestScanIsa();

}  // namespace

namespace detail {
FindSpecialFn g_find_special = kernelFor(g_active_isa);
ClassifyBlockFn g_classify_block = classifierFor(g_active_isa);
FindLineFn g_find_line = lineKernelFor(g_active_isa);
}  // namespace detail

bool scanIsaSupported(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return __builtin_cpu_supports("avx2");
    case ScanIsa::Sse42:
      return __builtin_cpu_supports("sse4.2");
    case ScanIsa::Scalar:
      break;
  }
  return true;
}

ScanIsa bestScanIsa() {
  __builtin_cpu_init();
  if (scanIsaSupported(ScanIsa::Avx2)) {
    return ScanIsa::Avx2;
  }
  if (scanIsaSupported(ScanIsa::Sse42)) {
    return ScanIsa::Sse42;
  }
  return ScanIsa::Scalar;
}

std::string_view scanIsaName(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return "avx2";
    case ScanIsa::Sse42:
      return "sse4.2";
    case ScanIsa::Scalar:
      break;
  }
  return "scalar";
}

ScanIsa activeScanIsa() { return g_active_isa; }

bool setScanIsa(ScanIsa isa) {
  if (!scanIsaSupported(isa)) {
    return false;
  }
  g_active_isa = isa;
  detail::g_find_special = kernelFor(isa);
  detail::g_classify_block = classifierFor(isa);
  detail::g_find_line = lineKernelFor(isa);
  return true;
}

}  // namespace sipshield::parser
