#include "parser/method.h"

#include <array>
#include <cstdint>

namespace sipshield::parser {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Method::Other)> kMethodNames = {{
#define SIPSHIELD_METHOD_NAME(name, text) text,
    SIPSHIELD_METHODS(SIPSHIELD_METHOD_NAME)
#undef SIPSHIELD_METHOD_NAME
}};

// (first letter & 31, length) picks the one candidate a token can be: no two known methods
// share both (checked at compile time), so a lookup is one table load and one compare.
constexpr size_t kMaxMethodLength = 15;
constexpr size_t methodSlot(char first, size_t length) {
  return (static_cast<size_t>(static_cast<unsigned char>(first)) & 31) * (kMaxMethodLength + 1) +
         length;
}

constexpr std::array<uint8_t, 32 * (kMaxMethodLength + 1)> makeMethodSlots() {
  std::array<uint8_t, 32 * (kMaxMethodLength + 1)> t{};
  for (uint8_t& slot : t) {
    slot = 0xFF;
  }
  for (size_t i = 0; i < kMethodNames.size(); ++i) {
    t[methodSlot(kMethodNames[i][0], kMethodNames[i].size())] = static_cast<uint8_t>(i);
  }
  return t;
}

constexpr std::array<uint8_t, 32 * (kMaxMethodLength + 1)> kMethodSlots = makeMethodSlots();

constexpr bool methodSlotsUnique() {
  for (size_t i = 0; i < kMethodNames.size(); ++i) {
    if (kMethodNames[i].size() > kMaxMethodLength ||
        kMethodSlots[methodSlot(kMethodNames[i][0], kMethodNames[i].size())] != i) {
      return false;
    }
  }
  return true;
}
static_assert(methodSlotsUnique(), "two methods share a first letter and length");

}  // namespace

Method classifyMethod(std::string_view token) {
  if (token.empty() || token.size() > kMaxMethodLength) {
    return Method::Other;
  }
  const uint8_t candidate = kMethodSlots[methodSlot(token[0], token.size())];
  if (candidate == 0xFF || kMethodNames[candidate] != token) {
    return Method::Other;
  }
  return static_cast<Method>(candidate);
}

std::string_view methodName(Method method) {
  auto index = static_cast<size_t>(method);
  return index < kMethodNames.size() ? kMethodNames[index] : std::string_view("OTHER");
}

}  // namespace sipshield::parser
