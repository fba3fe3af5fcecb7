#include "filters/scanner.h"

#include <bit>

namespace sipshield::filters {
namespace {

inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int findIn(const ScannerConfig& config, std::string_view text, int field_index) {
  const std::array<uint64_t, 256>& first = config.first_byte[static_cast<size_t>(field_index)];
  const size_t n = text.size();
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  for (size_t i = 0; i < n; ++i) {
    uint64_t candidates = first[lower(bytes[i])];
    while (candidates != 0) {
      const int p = std::countr_zero(candidates);
      candidates &= candidates - 1;
      const ScannerPattern& pattern = config.patterns[static_cast<size_t>(p)];
      if (pattern.text.size() > n - i) {
        continue;
      }
      size_t k = 1;
      while (k < pattern.text.size() &&
             lower(static_cast<uint8_t>(text[i + k])) == static_cast<uint8_t>(pattern.text[k])) {
        ++k;
      }
      if (k == pattern.text.size()) {
        return p;
      }
    }
  }
  return -1;
}

}  // namespace

std::string ScannerConfig::build() {
  if (patterns.size() > kMaxPatterns) {
    return "at most " + std::to_string(kMaxPatterns) + " patterns, got " +
           std::to_string(patterns.size());
  }
  for (auto& table : first_byte) {
    table.fill(0);
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    ScannerPattern& p = patterns[i];
    if (p.text.empty()) {
      return "pattern " + std::to_string(i) + " is empty";
    }
    for (char& c : p.text) {
      c = static_cast<char>(lower(static_cast<uint8_t>(c)));
    }
    for (int f = 0; f < 3; ++f) {
      if ((p.fields & (1u << f)) != 0) {
        first_byte[static_cast<size_t>(f)][static_cast<uint8_t>(p.text[0])] |= uint64_t{1} << i;
      }
    }
  }
  return "";
}

std::vector<ScannerPattern> defaultScannerPatterns() {
  constexpr uint8_t kAll = kFieldUserAgent | kFieldFrom | kFieldTo;
  return {
      {"friendly-scanner", kAll},  // SIPVicious svmap/svwar default User-Agent
      {"sipvicious", kAll},
      {"sipcli", kFieldUserAgent},
      {"sip-scan", kFieldUserAgent},
      {"vaxsipuseragent", kFieldUserAgent},
      {"sundayddr", kFieldUserAgent},
      {"iWar", kFieldUserAgent},
      {"sipsak", kFieldUserAgent},
      {"smap", kFieldUserAgent},  // "smap 0.6.0"
      {"pplsip", kFieldUserAgent},
      {"sipptk", kFieldUserAgent},
  };
}

int matchScanner(const ScannerConfig& config, parser::ByteView in,
                 const parser::SipMessage& message) {
  // Every User-Agent line (a scanner may add a second one to hide behind the first).
  if (message.has(parser::HeaderId::UserAgent)) {
    for (uint16_t i = 0; i < message.header_count; ++i) {
      if (message.headers[i].id == parser::HeaderId::UserAgent) {
        const int p = findIn(config, in.view(message.headers[i].value), 0);
        if (p >= 0) {
          return p;
        }
      }
    }
  }
  if (const parser::HeaderField* from = message.first(parser::HeaderId::From)) {
    const int p = findIn(config, in.view(from->value), 1);
    if (p >= 0) {
      return p;
    }
  }
  if (const parser::HeaderField* to = message.first(parser::HeaderId::To)) {
    return findIn(config, in.view(to->value), 2);
  }
  return -1;
}

}  // namespace sipshield::filters
