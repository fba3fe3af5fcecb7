#pragma once

// Internal: the AVX2 classification of a via-parm's host runs (Avx2Steps, for
// parseViaParmFast in parser/via_fast_path.h), shared by parser/via_avx2.cc and
// parser/validate_avx2.cc. Include it after via_fast_path.h, inside the region those files
// compile for BMI1/BMI2. Everything here has internal linkage (each file gets its own copy);
// run it only on a CPU with AVX2 (detail::viaAvx2Usable()).

#include <cstdint>
#include <cstring>

#include "parser/block_cursor.h"
#include "parser/via.h"

namespace sipshield::parser {
namespace {

// The constants of hostBits32Avx2, each byte splatted over 32.
struct alignas(32) HostClassAvx2Constants {
  char fold[32];         // 0x20: ASCII case
  char alpha_add[32];    // 'a'..'z' (folded) onto the top of the signed bytes
  char alpha_above[32];
  char digit_add[32];    // '-'..'9' onto the top of the signed bytes
  char digit_above[32];
  char slash[32];
};

constexpr HostClassAvx2Constants makeHostClassAvx2Constants() {
  HostClassAvx2Constants k{};
  for (int i = 0; i < 32; ++i) {
    k.fold[i] = 0x20;
    k.alpha_add[i] = static_cast<char>(128 - 'a' - 26);
    k.alpha_above[i] = static_cast<char>(127 - 26);
    k.digit_add[i] = static_cast<char>(128 - '-' - 13);
    k.digit_above[i] = static_cast<char>(127 - 13);
    k.slash[i] = '/';
  }
  return k;
}

constexpr HostClassAvx2Constants kHostClassAvx2 = makeHostClassAvx2Constants();

// hostBits32Avx2 is hostBits16 for the 32 bytes at `p` (all readable), on a CPU with AVX2
// only (the caller checks). Inline assembly rather than intrinsics: the code around it needs
// no AVX2 target, so it keeps its registers and stack frame as they are (256-bit values in a
// function make GCC realign its stack and give up a register), and the constants are memory
// operands instead of six loads. It leaves the upper halves of ymm0..2 dirty: call
// avx2Done() after the last step, before any SSE code.
[[gnu::always_inline]] inline uint64_t hostBits32Avx2(const char* p) {
  uint64_t bits;  // vpmovmskb zero-extends: no extra move for the 64-bit windows
  // x in [lo, lo + n) as an unsigned byte  <=>  (x + 128 - lo - n) as a signed byte > 127 - n.
  asm("vmovdqu %[bytes], %%ymm0\n\t"
      "vpor %[fold], %%ymm0, %%ymm1\n\t"            // folded to lower case
      "vpaddb %[alpha_add], %%ymm1, %%ymm1\n\t"
      "vpcmpgtb %[alpha_above], %%ymm1, %%ymm1\n\t"  // a letter
      "vpaddb %[digit_add], %%ymm0, %%ymm2\n\t"
      "vpcmpgtb %[digit_above], %%ymm2, %%ymm2\n\t"  // "-./0123456789"
      "vpor %%ymm2, %%ymm1, %%ymm1\n\t"
      "vpcmpeqb %[slash], %%ymm0, %%ymm0\n\t"
      "vpandn %%ymm1, %%ymm0, %%ymm0\n\t"           // but not '/'
      "vpmovmskb %%ymm0, %k[bits]"
      : [bits] "=r"(bits)
      : [bytes] "m"(*reinterpret_cast<const char(*)[32]>(p)), [fold] "m"(kHostClassAvx2.fold),
        [alpha_add] "m"(kHostClassAvx2.alpha_add), [alpha_above] "m"(kHostClassAvx2.alpha_above),
        [digit_add] "m"(kHostClassAvx2.digit_add), [digit_above] "m"(kHostClassAvx2.digit_above),
        [slash] "m"(kHostClassAvx2.slash)
      : "xmm0", "xmm1", "xmm2");
  return bits;
}

// avx2Done clears the upper halves of the ymm registers after hostBits32Avx2 (SSE code after
// dirty upper halves is slow on many CPUs).
[[gnu::always_inline]] inline void avx2Done() {
  asm volatile("vzeroupper" ::: "xmm0", "xmm1", "xmm2");
}

// nonHostStepsAvx2 is nonHostSteps in 32-byte steps: it reads p[0, count rounded up to 32).
[[gnu::always_inline]] inline detail::HostWindows nonHostStepsAvx2(const char* p,
                                                                  uint32_t count) {
  uint64_t low = hostBits32Avx2(p);
  uint64_t high = 0;
  if (count > 32) {
    low |= hostBits32Avx2(p + 32) << 32;
    if (count > 64) {
      high = hostBits32Avx2(p + 64);
      if (count > 96) {
        high |= hostBits32Avx2(p + 96) << 32;
      }
    }
  }
  avx2Done();
  return {~low, ~high};  // steps not classified are "not host"
}

// nonHostStepsCopyAvx2 is nonHostStepsCopy in 32-byte steps, on a CPU with AVX2 only.
[[gnu::noinline]] detail::HostWindows nonHostStepsCopyAvx2(const char* p, uint32_t base,
                                                          uint32_t count, size_t readable) {
  char copy[2 * kBlockSize] = {};
  const size_t valid = readable - base;
  std::memcpy(copy, p + base, valid < sizeof(copy) ? valid : sizeof(copy));
  return nonHostStepsAvx2(copy, count);
}

// nonHostStepsAtAvx2 is nonHostStepsAt in 32-byte steps, on a CPU with AVX2 only (the copy
// is for the last 32 bytes of a buffer).
[[gnu::always_inline]] inline detail::HostWindows nonHostStepsAtAvx2(const char* p,
                                                                    uint32_t base, uint32_t last,
                                                                    size_t readable) {
  const uint32_t count = last - base + 1;  // past 128: the steps stop there (no clamp needed)
  // The steps end before base + count + 31 <= last + 32.
  if (__builtin_expect(readable - last >= 32, 1)) {
    return nonHostStepsAvx2(p + base, count);
  }
  return nonHostStepsCopyAvx2(p, base, count, readable);
}

// The host runs in AVX2 steps.
struct Avx2Steps {
  static detail::HostWindows stepsAt(const char* p, uint32_t begin, uint32_t last,
                                     size_t readable) {
    return nonHostStepsAtAvx2(p, begin, last, readable);
  }
};

}  // namespace
}  // namespace sipshield::parser
