#include "parser/method.h"

#include <array>
#include <cstdint>

namespace sipshield::parser {
std::string_view methodName(Method method) {
  auto index = static_cast<size_t>(method);
  return index < std::size(detail::kMethodNames) ? detail::kMethodNames[index]
                                                : std::string_view("OTHER");
}

}  // namespace sipshield::parser
