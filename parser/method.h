#pragma once

#include <cstdint>
#include <string_view>

namespace sipshield::parser {

// SIP methods of RFC 3261 and its common extensions. Method names are case-sensitive
// (RFC 3261 §7.1): "invite" is a valid extension method, not INVITE.
#define SIPSHIELD_METHODS(X) \
  X(Invite, "INVITE")        \
  X(Ack, "ACK")              \
  X(Bye, "BYE")              \
  X(Cancel, "CANCEL")        \
  X(Register, "REGISTER")    \
  X(Options, "OPTIONS")      \
  X(Prack, "PRACK")          \
  X(Subscribe, "SUBSCRIBE")  \
  X(Notify, "NOTIFY")        \
  X(Publish, "PUBLISH")      \
  X(Info, "INFO")            \
  X(Refer, "REFER")          \
  X(Message, "MESSAGE")      \
  X(Update, "UPDATE")

// Method is a request method; Other marks a valid extension method (its token is in the span).
enum class Method : uint8_t {
#define SIPSHIELD_METHOD_ENUM(name, text) name,
  SIPSHIELD_METHODS(SIPSHIELD_METHOD_ENUM)
#undef SIPSHIELD_METHOD_ENUM
  Other,
};

// classifyMethod maps a method token (case-sensitive) to its Method; unknown gives Other.
[[nodiscard]] Method classifyMethod(std::string_view token);

// methodName returns the token of a known method, "OTHER" for Method::Other.
[[nodiscard]] std::string_view methodName(Method method);

}  // namespace sipshield::parser
