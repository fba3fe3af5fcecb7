#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parser/sip_message.h"

namespace sipshield::parser {

// The structural kernel: classify 64 bytes at once (simdjson stage 1 style). Bit i of each
// mask describes byte p[i]: `special` for control bytes but HTAB (CR and LF included) and DEL,
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

// The line walk (parser/scan_walk.h) instantiated per ISA with its classifier inlined: scans
// the message whose start line begins at `start` of [p, p + size) (leading CRLFs and the
// keepalive case are handled by scan()). Same contract and results as scan(); never reads
// outside [p, p + size). All three return identical results.
using WalkFn = ScanResult (*)(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                              const ScanLimits& limits);
ScanResult walkScalar(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                      const ScanLimits& limits);
ScanResult walkSse42(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                     const ScanLimits& limits);
ScanResult walkAvx2(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                    const ScanLimits& limits);

// walkAvx2 first tries the chunk walk (parser/scan_chunk_walk.h), which completes the common
// message for fewer instructions, and leaves every other message to the line walk. Both
// halves are exposed for the tests that hold them to the same results; only on a CPU with
// AVX2, and only after scan()'s preparation of `out` (as for every WalkFn).
//  - walkAvx2Lines is the line walk alone: same contract and results as walkAvx2.
//  - walkAvx2Chunk is the chunk walk alone: returns true with `result` set when it completed
//    the scan (then `result` and `out` are what walkAvx2Lines gives), false when the message
//    needs the line walk (then `out` may hold partial fields). Never reads outside
//    [p, p + size).
ScanResult walkAvx2Lines(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                         const ScanLimits& limits);
bool walkAvx2Chunk(const char* p, uint32_t size, uint32_t start, SipMessage& out,
                   const ScanLimits& limits, ScanResult& result);

// lookupHeaderNameAvx2 is the AVX2 walk's header-name lookup (the walk inlines its own copy;
// this one is for tests): the HeaderId of the name [name, name + length), HeaderId::Other when
// unknown, the same as detail::lookupHeaderNameWide. It reads exactly [name, name + 24), which
// must be readable. Thread-safe (no state). Only on a CPU with AVX2.
HeaderId lookupHeaderNameAvx2(const char* name, size_t length);

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
extern ClassifyBlockFn g_classify_block;
extern WalkFn g_walk;
}  // namespace detail

}  // namespace sipshield::parser
