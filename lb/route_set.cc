#include "lb/route_set.h"

#include "lb/proxy_rewrite.h"
#include "parser/name_addr.h"

namespace sipshield::lb {

using parser::HeaderField;
using parser::HeaderId;
using parser::Span;

size_t leadingRoutes(parser::ByteView input, const parser::SipMessage& message,
                     std::span<RouteElement> out) {
  size_t found = 0;
  const HeaderField* first = message.first(HeaderId::Route);
  if (first == nullptr) {
    return 0;
  }
  for (auto line = static_cast<uint16_t>(first - message.headers);
       line < message.header_count && found < out.size(); ++line) {
    const HeaderField& route = message.headers[line];
    if (route.id != HeaderId::Route) {
      continue;
    }
    uint32_t pos = route.value.offset;
    Span element;
    bool more = parser::nextListElement(input, route.value.end(), &pos, element);
    while (more && found < out.size()) {
      parser::NameAddr addr;
      if (!parser::parseNameAddr(input, element, addr)) {
        return found;
      }
      RouteElement& e = out[found++];
      e.uri = addr.uri;
      e.element = element;
      e.header = line;
      Span next;
      more = parser::nextListElement(input, route.value.end(), &pos, next);
      e.next_on_line = more ? next.offset : 0;
      element = next;
    }
  }
  return found;
}

size_t routeCuts(parser::ByteView input, const parser::SipMessage& message,
                 std::span<const RouteElement> routes, std::span<Span> cuts) {
  size_t count = 0;
  size_t i = 0;
  while (i < routes.size() && count < cuts.size()) {
    // The removed elements of one line: routes[i, j).
    size_t j = i + 1;
    while (j < routes.size() && routes[j].header == routes[i].header) {
      ++j;
    }
    const RouteElement& last = routes[j - 1];
    const uint32_t begin = routes[i].element.offset;
    // Elements are listed from a line's first on, so a line's removed ones are its leading
    // ones: the whole line when none follows the last removed, else up to the first kept.
    cuts[count++] = last.next_on_line == 0 ? headerLine(input, message.headers[last.header])
                                           : Span{begin, last.next_on_line - begin};
    i = j;
  }
  return count;
}

}  // namespace sipshield::lb
