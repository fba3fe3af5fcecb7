#pragma once

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "parser/sip_message.h"
#include "parser/validate.h"

namespace sipshield::parser::testing {

// Paths are given by meson as compile definitions so tests run from any directory.
inline std::string corpusPath(const std::string& name) {
  return std::string(SIPSHIELD_CORPUS_DIR) + "/" + name;
}
inline std::string messagePath(const std::string& name) {
  return std::string(SIPSHIELD_TEST_DATA_DIR) + "/messages/" + name;
}

// kCorpusNames are the realistic corpus's 18 messages (bench/corpus), in order.
inline constexpr const char* kCorpusNames[] = {
    "01_invite_sdp.sip",       "02_100_trying.sip",      "03_180_ringing.sip",
    "04_200_ok_invite_sdp.sip", "05_ack.sip",             "06_bye.sip",
    "07_200_ok_bye.sip",       "08_register_initial.sip", "09_401_unauthorized.sip",
    "10_register_digest.sip",  "11_200_ok_register.sip", "12_options_keepalive.sip",
    "13_cancel.sip",           "14_compact_message.sip", "15_folded_subscribe.sip",
    "16_486_multivia_line.sip", "17_scanner_options.sip", "18_notify_mwi.sip",
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// Scanned holds a message and its summary for one input kept alive by the caller.
struct Scanned {
  ParsedMessage<kDefaultHeaderCapacity> parsed;
  SipSummary summary;
  ScanResult result;

  ScanResult run(const std::string& bytes, const ScanLimits& limits = {}) {
    result = scanAndValidate(ByteView(bytes), parsed.message, summary, limits);
    return result;
  }
  const SipMessage& msg() const { return parsed.message; }
};

// mutate applies 1..3 random one-byte edits (replace, insert, erase) from `alphabet`.
inline std::string mutate(std::string s, std::mt19937& rng, const std::string& alphabet) {
  int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    size_t at = rng() % (s.size() + 1);
    char c = alphabet[rng() % alphabet.size()];
    switch (rng() % 3) {
      case 0:
        if (at < s.size()) {
          s[at] = c;
        }
        break;
      case 1:
        s.insert(at, 1, c);
        break;
      default:
        if (at < s.size()) {
          s.erase(at, 1);
        }
    }
  }
  return s;
}

}  // namespace sipshield::parser::testing
