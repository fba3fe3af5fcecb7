// The via-parm fast path with its host runs classified in AVX2 steps (parser/via_fast_path.h
// instantiated here). The classification is inline assembly rather than intrinsics: the code
// around it then keeps its registers and stack frame as they are (256-bit values in a function
// make GCC realign its stack and give up a register), and the constants are memory operands
// instead of six loads. The rest is compiled for BMI1/BMI2 (tzcnt, shifts); parseViaParm calls
// it only when the scanner's kernel is AVX2 and viaAvx2Usable() (parser/via.cc).
#include <array>
#include <cstdint>
#include <cstring>

#include "parser/block_cursor.h"
#include "parser/lexer.h"
#include "parser/via.h"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("bmi,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("bmi,bmi2")
#endif
#include "parser/via_fast_path.h"
#include "parser/via_avx2_steps.h"

namespace sipshield::parser {
namespace detail {

bool parseViaParmAvx2(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                      uint32_t* stop) {
  return parseViaParmFast<Avx2Steps>(buffer, begin, end, entry, stop);
}

}  // namespace detail
}  // namespace sipshield::parser

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace sipshield::parser::detail {

bool viaAvx2Usable() {
  static const bool usable = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
           __builtin_cpu_supports("bmi2");
  }();
  return usable;
}

}  // namespace sipshield::parser::detail

#else  // not x86-64: no AVX2 steps; parseViaParm never asks for them

namespace sipshield::parser::detail {

bool parseViaParmAvx2(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                      uint32_t* stop) {
  return parseViaParmGeneral(buffer, begin, end, entry, stop);
}

bool viaAvx2Usable() { return false; }

}  // namespace sipshield::parser::detail

#endif
