#include "parser/header_id.h"

#include <array>

#include "parser/char_class.h"

namespace sipshield::parser {
namespace {

struct HeaderInfo {
  std::string_view name;
  char compact;
  bool single_valued;
};

constexpr std::array<HeaderInfo, kKnownHeaderCount> kHeaders = {{
#define SIPSHIELD_HEADER_INFO(id, text, compact, single) {text, compact, single},
    SIPSHIELD_HEADERS(SIPSHIELD_HEADER_INFO)
#undef SIPSHIELD_HEADER_INFO
}};

// Headers bucketed by name length so a lookup compares against a handful of candidates.
constexpr size_t kMaxNameLength = 20;

struct LengthBuckets {
  // For each length: up to 8 candidate header indices, terminated by -1.
  std::array<std::array<int8_t, 8>, kMaxNameLength + 1> by_length{};
  std::array<int8_t, 26> by_compact{};
};

constexpr LengthBuckets makeBuckets() {
  LengthBuckets b{};
  for (auto& row : b.by_length) {
    for (auto& slot : row) {
      slot = -1;
    }
  }
  for (auto& slot : b.by_compact) {
    slot = -1;
  }
  for (size_t i = 0; i < kHeaders.size(); ++i) {
    size_t n = kHeaders[i].name.size();
    size_t k = 0;
    while (b.by_length[n][k] >= 0) {
      ++k;
    }
    b.by_length[n][k] = static_cast<int8_t>(i);
    if (kHeaders[i].compact != 0) {
      b.by_compact[kHeaders[i].compact - 'a'] = static_cast<int8_t>(i);
    }
  }
  return b;
}

constexpr LengthBuckets kBuckets = makeBuckets();

// Known names hold only letters and '-', so OR-ing 0x20 folds case without false matches for
// the token characters a validated name can contain.
bool equalsFolded(const char* input, std::string_view canonical) {
  for (size_t i = 0; i < canonical.size(); ++i) {
    if ((static_cast<unsigned char>(input[i]) | 0x20) !=
        (static_cast<unsigned char>(canonical[i]) | 0x20)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view headerName(HeaderId id) {
  auto index = static_cast<size_t>(id);
  return index < kHeaders.size() ? kHeaders[index].name : std::string_view("Other");
}

bool isSingleValued(HeaderId id) {
  auto index = static_cast<size_t>(id);
  return index < kHeaders.size() && kHeaders[index].single_valued;
}

HeaderId classifyHeaderName(const char* name, size_t length) {
  if (length == 1) {
    unsigned char c = static_cast<unsigned char>(name[0]) | 0x20;
    if (c >= 'a' && c <= 'z' && kBuckets.by_compact[c - 'a'] >= 0) {
      return static_cast<HeaderId>(kBuckets.by_compact[c - 'a']);
    }
    return HeaderId::Other;
  }
  if (length > kMaxNameLength) {
    return HeaderId::Other;
  }
  for (int8_t candidate : kBuckets.by_length[length]) {
    if (candidate < 0) {
      break;
    }
    if (equalsFolded(name, kHeaders[candidate].name)) {
      return static_cast<HeaderId>(candidate);
    }
  }
  return HeaderId::Other;
}

}  // namespace sipshield::parser
