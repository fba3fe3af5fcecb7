#include "parser/validate.h"

#include "parser/validate_impl.h"
#include "parser/via.h"

namespace sipshield::parser {
namespace {

// ViaByCall parses a via-parm with parseViaParm (which picks the SSE2 or AVX2 steps).
struct ViaByCall {
  static bool parse(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                    uint32_t* stop) {
    return parseViaParm(buffer, begin, end, entry, stop);
  }
};

// scanAndValidateByCall is scanAndValidate without the AVX2 steps inline. Out of line: the
// AVX2 instantiation is the common case.
[[gnu::noinline]] ScanResult scanAndValidateByCall(ByteView input, SipMessage& message,
                                                   SipSummary& summary,
                                                   const ScanLimits& limits, ViaCheck vias) {
  return vias == ViaCheck::Used
             ? scanAndValidateWith<ViaByCall, ViaCheck::Used>(input, message, summary, limits)
             : scanAndValidateWith<ViaByCall, ViaCheck::Every>(input, message, summary, limits);
}

}  // namespace

ScanResult validate(ByteView buffer, const SipMessage& message, SipSummary& summary,
                    ViaCheck vias) {
  return vias == ViaCheck::Used ? validateMessage<ViaByCall, ViaCheck::Used>(buffer, message, summary)
                                : validateMessage<ViaByCall, ViaCheck::Every>(buffer, message,
                                                                              summary);
}

// The via-parms' classification follows the scanner's kernel (detail::viaParmAvx2Active): with
// the AVX2 one, the instantiation that inlines the AVX2 steps (parser/validate_avx2.cc).
ScanResult scanAndValidate(ByteView input, SipMessage& message, SipSummary& summary,
                           const ScanLimits& limits, ViaCheck vias) {
  if (__builtin_expect(detail::viaParmAvx2Active(), 1)) {
    return detail::scanAndValidateAvx2(input, message, summary, limits, vias);
  }
  return scanAndValidateByCall(input, message, summary, limits, vias);
}

}  // namespace sipshield::parser
