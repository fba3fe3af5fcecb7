#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sipshield::net {

// The Internet-checksum kernels behind checksumAdd (src/net/checksum.h), one per ISA, chosen
// once at start-up (STYLE.md "SIMD goes in per-ISA kernel files"). The portable kernel is the
// reference; every kernel returns exactly the value it returns, for every input. Tests and
// benchmarks call the kernels directly; everything else calls checksumAdd.

enum class ChecksumIsa { Portable, Avx2 };

// checksumIsaSupported returns whether this CPU runs `isa` (cpuid, checked once). Thread-safe.
[[nodiscard]] bool checksumIsaSupported(ChecksumIsa isa);
// checksumIsaName returns "portable" or "avx2".
[[nodiscard]] std::string_view checksumIsaName(ChecksumIsa isa);
// activeChecksumIsa returns the kernel checksumAdd uses for long inputs: the best one the CPU
// supports. Thread-safe.
[[nodiscard]] ChecksumIsa activeChecksumIsa();
// setChecksumIsa makes checksumAdd use `isa` for long inputs, so a benchmark can compare the
// kernels inside one process. For start-up, tests and benchmarks only: not thread-safe against
// running checksums. Returns false (and changes nothing) when the CPU lacks `isa`.
bool setChecksumIsa(ChecksumIsa isa);

// checksumAddPortable is checksumAdd's contract (checksum.h) in plain C++ for any CPU.
// Thread-safe, allocation-free, any alignment and length.
[[nodiscard]] uint64_t checksumAddPortable(const uint8_t* data, size_t length, uint64_t sum);
// checksumAddAvx2 is the same with 256-bit loads. Call it only when
// checksumIsaSupported(ChecksumIsa::Avx2); it never reads outside [data, data + length).
[[nodiscard]] uint64_t checksumAddAvx2(const uint8_t* data, size_t length, uint64_t sum);

// checksumAddMarkedAvx2 is checksumAddMarked (checksum.h) with the AVX2 kernel, in one pass.
[[nodiscard]] uint64_t checksumAddMarkedAvx2(const uint8_t* data, size_t length, uint64_t sum,
                                             uint64_t& at_mark);

// checksumAddWith runs kernel `isa` (which must be supported). For tests and benchmarks.
[[nodiscard]] uint64_t checksumAddWith(ChecksumIsa isa, const uint8_t* data, size_t length,
                                       uint64_t sum);

namespace detail {

// finishChecksum turns `acc`, the plain sum of the chunk's little-endian 32-bit words (the
// last one zero-padded), into checksumAdd's result: folded to 16 bits, swapped to big-endian
// order once (RFC 1071 §2: the one's-complement sum does not depend on byte order) and added
// to the running sum. Every kernel sums the same words, so every kernel returns the same value.
inline uint64_t finishChecksum(uint64_t acc, uint64_t sum) {
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  return sum + static_cast<uint16_t>(((acc & 0xFF) << 8) | (acc >> 8));
}

// loadTail returns the last `length` (< 8) bytes at `data` as a little-endian word padded
// with zeros, as a memcpy into a zeroed uint64_t would, but with fixed-size loads: a
// variable-length memcpy is a library call whose narrow stores the wide reload cannot forward
// from (about 10 ns per call, more than summing 64 bytes).
inline uint64_t loadTail(const uint8_t* data, size_t length) {
  uint64_t tail = 0;
  unsigned shift = 0;
  if ((length & 4) != 0) {
    uint32_t word;
    std::memcpy(&word, data, 4);
    tail = word;
    data += 4;
    shift = 32;
  }
  if ((length & 2) != 0) {
    uint16_t half;
    std::memcpy(&half, data, 2);
    tail |= static_cast<uint64_t>(half) << shift;
    data += 2;
    shift += 16;
  }
  if ((length & 1) != 0) {
    tail |= static_cast<uint64_t>(*data) << shift;  // an odd last byte is the high half (RFC)
  }
  return tail;
}

// The AVX2 kernel pays off from this length on; shorter chunks (pseudo-headers, IPv4
// headers) stay on the portable kernel, which checksumAdd calls without an indirect jump.
inline constexpr size_t kChecksumAvx2MinBytes = 64;

// Set during static initialisation from cpuid (or by setChecksumIsa); read by checksumAdd.
extern bool g_checksum_avx2;

}  // namespace detail

}  // namespace sipshield::net
