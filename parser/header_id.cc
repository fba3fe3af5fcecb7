#include "parser/header_id.h"

#include "parser/header_lookup.h"

namespace sipshield::parser {

std::string_view headerName(HeaderId id) {
  auto index = static_cast<size_t>(id);
  return index < detail::kHeaders.size() ? detail::kHeaders[index].name
                                         : std::string_view("Other");
}

bool isSingleValued(HeaderId id) {
  auto index = static_cast<size_t>(id);
  return index < detail::kHeaders.size() && detail::kHeaders[index].single_valued;
}

HeaderId classifyHeaderName(const char* name, size_t length) {
  return detail::lookupHeaderName(name, length);
}

}  // namespace sipshield::parser
