// scanAndValidate() with the via-parm fast path and its AVX2 steps inlined (parser/
// validate_impl.h instantiated with parser/via_fast_path.h and parser/via_avx2_steps.h): no
// call per via-parm. Compiled for BMI1/BMI2 like parser/via_avx2.cc; scanAndValidate() calls
// it only when detail::viaParmAvx2Active() (the AVX2 scan kernel on a CPU with AVX2, BMI1 and
// BMI2).
#include <cstdint>

#include "parser/block_cursor.h"
#include "parser/lexer.h"
#include "parser/validate.h"
#include "parser/via.h"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("bmi,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("bmi,bmi2")
#endif
#include "parser/validate_impl.h"
#include "parser/via_fast_path.h"
#include "parser/via_avx2_steps.h"

namespace sipshield::parser {
namespace {

// ViaInlineAvx2 parses via-parms with the AVX2 fast path inline (one copy in checkVias for the
// first two, one in checkMoreVias for the rest).
struct ViaInlineAvx2 {
  [[gnu::always_inline]] static bool parse(ByteView buffer, uint32_t begin, uint32_t end,
                                           ViaEntry& entry, uint32_t* stop) {
    return parseViaParmFast<Avx2Steps>(buffer, begin, end, entry, stop);
  }
};

}  // namespace

namespace detail {

// One instantiation per ViaCheck, chosen per call: a process uses one (the pipeline Used, the
// scan tool Every), so only its copy is hot.
ScanResult scanAndValidateAvx2(ByteView input, SipMessage& message, SipSummary& summary,
                               const ScanLimits& limits, ViaCheck vias) {
  if (vias == ViaCheck::Used) {
    return scanAndValidateWith<ViaInlineAvx2, ViaCheck::Used>(input, message, summary, limits);
  }
  return scanAndValidateWith<ViaInlineAvx2, ViaCheck::Every>(input, message, summary, limits);
}

}  // namespace detail
}  // namespace sipshield::parser

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else  // not x86-64: no AVX2 steps; scanAndValidate never asks for them

namespace sipshield::parser::detail {

ScanResult scanAndValidateAvx2(ByteView input, SipMessage& message, SipSummary& summary,
                               const ScanLimits& limits, ViaCheck vias) {
  const ScanResult result = scan(input, message, limits);
  if (!result.ok()) {
    return result;
  }
  const ScanResult checked = validate(input, message, summary, vias);
  return checked.ok() ? result : checked;
}

}  // namespace sipshield::parser::detail

#endif
