#include "parser/method.h"

#include <array>

namespace sipshield::parser {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Method::Other)> kMethodNames = {{
#define SIPSHIELD_METHOD_NAME(name, text) text,
    SIPSHIELD_METHODS(SIPSHIELD_METHOD_NAME)
#undef SIPSHIELD_METHOD_NAME
}};

}  // namespace

Method classifyMethod(std::string_view token) {
  // Dispatch on the first letter: at most two candidates share one.
  if (token.empty()) {
    return Method::Other;
  }
  for (size_t i = 0; i < kMethodNames.size(); ++i) {
    if (kMethodNames[i][0] == token[0] && kMethodNames[i] == token) {
      return static_cast<Method>(i);
    }
  }
  return Method::Other;
}

std::string_view methodName(Method method) {
  auto index = static_cast<size_t>(method);
  return index < kMethodNames.size() ? kMethodNames[index] : std::string_view("OTHER");
}

}  // namespace sipshield::parser
