#include "filters/packet_meta.h"

namespace sipshield::filters {

std::string_view trustClassName(TrustClass c) {
  switch (c) {
    case TrustClass::Trusted: return "trusted";
    case TrustClass::Verified: return "verified";
    case TrustClass::Unverified: return "unverified";
  }
  return "?";
}

std::string_view methodClassName(MethodClass c) {
  switch (c) {
    case MethodClass::Invite: return "invite";
    case MethodClass::Register: return "register";
    case MethodClass::Options: return "options";
    case MethodClass::Other: return "other";
    case MethodClass::Response: return "response";
  }
  return "?";
}

std::string_view actionKindName(ActionKind kind) {
  switch (kind) {
    case ActionKind::Drop: return "drop";
    case ActionKind::Ban: return "ban";
    case ActionKind::Reply: return "reply";
    case ActionKind::Log: return "log";
  }
  return "?";
}

}  // namespace sipshield::filters
