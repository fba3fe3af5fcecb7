#include "parser/scan_kernel.h"

namespace sipshield::parser {
namespace {

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

WalkFn walkFor(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::Avx2:
      return walkAvx2;
    case ScanIsa::Sse42:
      return walkSse42;
    case ScanIsa::Scalar:
      break;
  }
  return walkScalar;
}

ScanIsa g_active_isa = bestScanIsa();

}  // namespace

namespace detail {
ClassifyBlockFn g_classify_block = classifierFor(g_active_isa);
WalkFn g_walk = walkFor(g_active_isa);
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
  detail::g_classify_block = classifierFor(isa);
  detail::g_walk = walkFor(isa);
  return true;
}

}  // namespace sipshield::parser
