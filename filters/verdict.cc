#include "filters/verdict.h"

namespace sipshield::filters {
namespace {

constexpr std::array<std::string_view, kShieldReasonCount> kReasonNames = {{
#define SIPSHIELD_SHIELD_REASON_NAME(name, text) text,
    SIPSHIELD_SHIELD_REASONS(SIPSHIELD_SHIELD_REASON_NAME)
#undef SIPSHIELD_SHIELD_REASON_NAME
}};

constexpr std::array<std::string_view, kRuleCounterCount> kRuleCounterNames = {{
#define SIPSHIELD_RULE_COUNTER_NAME(name, text) text,
    SIPSHIELD_RULE_COUNTERS(SIPSHIELD_RULE_COUNTER_NAME)
#undef SIPSHIELD_RULE_COUNTER_NAME
}};

}  // namespace

std::string_view shieldReasonName(ShieldReason reason) {
  const auto index = static_cast<size_t>(reason);
  return index < kReasonNames.size() ? kReasonNames[index] : std::string_view("unknown");
}

std::string_view ruleCounterName(RuleCounter counter) {
  const auto index = static_cast<size_t>(counter);
  return index < kRuleCounterNames.size() ? kRuleCounterNames[index]
                                          : std::string_view("unknown");
}

std::string_view reasonPhrase(uint16_t status) {
  switch (status) {
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 500: return "Server Internal Error";
    case 503: return "Service Unavailable";
    case 603: return "Decline";
    default: return "Rejected";
  }
}

}  // namespace sipshield::filters
