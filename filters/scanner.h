#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "filters/packet_meta.h"
#include "parser/validate.h"

namespace sipshield::filters {

// Which headers a scanner pattern is looked for in (bits of ScannerPattern::fields).
inline constexpr uint8_t kFieldUserAgent = 1;
inline constexpr uint8_t kFieldFrom = 2;
inline constexpr uint8_t kFieldTo = 4;

// ScannerPattern is one signature of a SIP scanning tool: a case-insensitive substring.
struct ScannerPattern {
  std::string text;  // lower-cased by ScannerConfig::build
  uint8_t fields = kFieldUserAgent;
};

// defaultScannerPatterns returns the built-in signatures (User-Agent and From/To of
// SIPVicious, sipcli, sip-scan, VaxSIPUserAgent, sundayddr, SIPsak floods, ...).
[[nodiscard]] std::vector<ScannerPattern> defaultScannerPatterns();

// ScannerConfig is the [shield.scanner] rule: signatures of well-known SIP scanners (SIPVicious
// "friendly-scanner", sipcli, sip-scan, VaxSIPUserAgent, ...) in User-Agent, From and To.
// Operators add patterns; a match drops or bans the source. At most 64 patterns.
struct ScannerConfig {
  static constexpr size_t kMaxPatterns = 64;

  RuleHeader header{"scanner", {}, false, 0xffff};
  bool enabled = true;
  std::vector<ScannerPattern> patterns = defaultScannerPatterns();
  // Built, per field (user-agent, from, to): for each lower-cased byte, the patterns of that
  // field that start with it (bit i = patterns[i]); a byte no pattern starts with costs one
  // table load.
  std::array<std::array<uint64_t, 256>, 3> first_byte{};

  // build lower-cases the patterns and fills first_byte. Returns "" or why it cannot.
  [[nodiscard]] std::string build();
};

// matchScanner returns the index of the first pattern found in the message's User-Agent, From
// or To, or -1. One pass per header over its bytes; allocation-free; thread-safe.
[[nodiscard]] int matchScanner(const ScannerConfig& config, parser::ByteView in,
                               const parser::SipMessage& message);

}  // namespace sipshield::filters
