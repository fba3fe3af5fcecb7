#pragma once

// Shared helpers for the filter tests: addresses from text, scanned SIP messages, and a
// FilterChain wired to inline rules with a fake clock.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "filters/address.h"
#include "filters/filter_chain.h"
#include "filters/shield_rules.h"
#include "parser/validate.h"

namespace sipshield::filters::testing {

inline Address addr(std::string_view text) {
  Address a;
  EXPECT_TRUE(parseAddress(text, a)) << text;
  return a;
}

inline Prefix pfx(std::string_view text) {
  Prefix p;
  const std::string error = parsePrefix(text, p);
  EXPECT_EQ(error, "") << text;
  return p;
}

// Msg is one SIP message scanned and validated like the pipeline does.
struct Msg {
  std::string bytes;
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  parser::ScanResult result;

  explicit Msg(std::string b) : bytes(std::move(b)) {
    result = parser::scanAndValidate(parser::ByteView(bytes), parsed.message, summary, {},
                                     parser::ViaCheck::Used);
    EXPECT_EQ(result.status, parser::ScanStatus::Complete) << bytes;
  }
  [[nodiscard]] parser::ByteView in() const { return parser::ByteView(bytes); }
};

// request builds a minimal valid request; `extra` is inserted as header lines.
inline std::string request(std::string_view method, std::string_view extra = "",
                           std::string_view to_tag = "", int max_forwards = 70) {
  std::string m(method);
  std::string s = m + " sip:bob@example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-test-1\r\n";
  if (max_forwards >= 0) {
    s += "Max-Forwards: " + std::to_string(max_forwards) + "\r\n";
  }
  s += "From: <sip:alice@example.com>;tag=abc\r\n";
  s += "To: <sip:bob@example.com>";
  if (!to_tag.empty()) {
    s += ";tag=" + std::string(to_tag);
  }
  s += "\r\nCall-ID: call-1@test\r\nCSeq: 1 " + m + "\r\n";
  s += std::string(extra);
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

inline std::string response(int status = 200) {
  return "SIP/2.0 " + std::to_string(status) +
         " OK\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-test-1\r\n"
         "From: <sip:alice@example.com>;tag=abc\r\nTo: <sip:bob@example.com>;tag=xyz\r\n"
         "Call-ID: call-1@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

inline constexpr uint64_t kT0 = 1'000'000;  // fake clock start, ms

// ChainHarness runs packets through a FilterChain with a fake clock (ms).
struct ChainHarness {
  std::shared_ptr<ShieldRules> rules = std::make_shared<ShieldRules>();
  std::unique_ptr<FilterChain> chain;
  uint64_t now = kT0;

  explicit ChainHarness(const StateSizes& sizes = small()) {
    chain = std::make_unique<FilterChain>(sizes);
  }
  static StateSizes small() {
    StateSizes s;
    s.buckets = 4096;
    s.bans = 1024;
    s.verified = 1024;
    s.hop_prefixes = 1024;
    s.sketch_width = 4096;
    return s;
  }
  // install finalizes the rules and hands them to the chain (a reload when called again).
  void install() {
    const std::string error = rules->finalize();
    ASSERT_EQ(error, "");
    chain->setRules(rules.get(), nullptr);
  }
  Verdict pre(std::string_view source, uint8_t ttl = 0, uint32_t length = 400) {
    PacketMeta meta;
    meta.source = addr(source);
    meta.ttl = ttl;
    meta.length = length;
    return chain->preParse(meta, now);
  }
  // full runs both stages on `msg` and returns the deciding verdict.
  Verdict full(std::string_view source, const Msg& msg, uint8_t ttl = 0) {
    PacketMeta meta;
    meta.source = addr(source);
    meta.ttl = ttl;
    meta.length = static_cast<uint32_t>(msg.bytes.size());
    Verdict v = chain->preParse(meta, now);
    if (!v.pass()) {
      return v;
    }
    return chain->postParse(meta, msg.in(), msg.parsed.message, msg.summary, now);
  }
  uint64_t counter(std::string_view rule, RuleCounter c) const {
    uint64_t out[kRuleCounterCount] = {};
    EXPECT_TRUE(chain->ruleCounters(hashName(rule), out)) << rule;
    return out[static_cast<size_t>(c)];
  }
};

}  // namespace sipshield::filters::testing
