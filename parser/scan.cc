#include <array>
#include <cstring>

#include "parser/scan_entry.h"
#include "parser/sip_message.h"

namespace sipshield::parser {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(ScanError::BadMaxForwards) + 1>
    kScanErrorNames = {{
#define SIPSHIELD_SCAN_ERROR_NAME(name, text) text,
        SIPSHIELD_SCAN_ERRORS(SIPSHIELD_SCAN_ERROR_NAME)
#undef SIPSHIELD_SCAN_ERROR_NAME
    }};

}  // namespace

std::string_view scanErrorName(ScanError error) {
  auto index = static_cast<size_t>(error);
  return index < kScanErrorNames.size() ? kScanErrorNames[index] : std::string_view("unknown");
}

ScanResult scan(ByteView input, SipMessage& out, const ScanLimits& limits) {
  return detail::scanEntry(input, out, limits);
}

}  // namespace sipshield::parser
