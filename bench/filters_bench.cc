// filters_bench: the DoS shield's cost per packet — each filter alone, then the whole chain
// (pre-parse + post-parse, every stage enabled) on a real corpus INVITE, for one steady source
// and for a spoofed-source flood (a new address every packet, the worst case for the tables).
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "filters/acl.h"
#include "filters/ban_table.h"
#include "filters/filter_chain.h"
#include "filters/flood.h"
#include "filters/hop_count.h"
#include "filters/prefix_map.h"
#include "filters/rate_limit.h"
#include "filters/sanity.h"
#include "filters/scanner.h"
#include "parser/validate.h"

namespace {

using namespace sipshield;
using namespace sipshield::filters;

std::string readCorpus(const std::string& name) {
  std::ifstream in(std::string(SIPSHIELD_CORPUS_DIR) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// randomPrefixes makes `n` random prefixes (1 in 5 IPv6), as a large ACL or blocklist.
std::vector<PrefixMap::Entry> randomPrefixes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PrefixMap::Entry> entries;
  for (size_t i = 0; i < n; ++i) {
    Address a;
    if (i % 5 == 0) {
      a.v6 = 1;
      const uint64_t hi = rng();
      const uint64_t lo = rng();
      for (int b = 0; b < 8; ++b) {
        a.bytes[b] = static_cast<uint8_t>(hi >> (56 - 8 * b));
        a.bytes[8 + b] = static_cast<uint8_t>(lo >> (56 - 8 * b));
      }
      a.bytes[0] = 0x20;  // global unicast 2000::/3, like real tables
      entries.push_back({prefixOf(a, static_cast<uint8_t>(32 + rng() % 33)),
                         static_cast<uint32_t>(i & 1)});
    } else {
      a = Address::v4(static_cast<uint32_t>(rng()));
      entries.push_back({prefixOf(a, static_cast<uint8_t>(12 + rng() % 21)),
                         static_cast<uint32_t>(i & 1)});
    }
  }
  return entries;
}

std::vector<Address> randomSources(size_t n, bool v6, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Address> out(n);
  for (Address& a : out) {
    if (v6) {
      a.v6 = 1;
      a.bytes[0] = 0x20;
      for (int b = 1; b < 16; ++b) {
        a.bytes[b] = static_cast<uint8_t>(rng());
      }
    } else {
      a = Address::v4(static_cast<uint32_t>(rng()));
    }
  }
  return out;
}

// Longest-prefix match over range(0) prefixes (ACL, trusted, operator bans).
void BM_PrefixMapLookup(benchmark::State& state) {
  PrefixMap map;
  map.build(randomPrefixes(static_cast<size_t>(state.range(0)), 1));
  const auto sources = randomSources(4096, state.range(1) != 0, 2);
  size_t i = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    hits += map.lookup(sources[i++ & 4095]) != PrefixMap::kNoMatch;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(state.iterations());
  state.counters["memory_MiB"] = static_cast<double>(map.memoryBytes()) / (1 << 20);
}
BENCHMARK(BM_PrefixMapLookup)->ArgNames({"prefixes", "v6"})
    ->Args({1000, 0})->Args({100000, 0})->Args({1000000, 0})->Args({100000, 1});

// One token-bucket take: a steady source (hot bucket) or a new source each packet.
void BM_RateLimitTake(benchmark::State& state) {
  RateLimiter limiter(1u << 16);
  RateLimitRule rule;
  rule.header.name = "per-source";
  rule.rate = 1e6;
  rule.burst = 1e6;
  rule.finalize();
  const bool spoofed = state.range(0) != 0;
  const auto sources = randomSources(1u << 16, false, 3);
  size_t i = 0;
  uint64_t now = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.take(rule, sources[spoofed ? (i & 0xffff) : 0], now));
    ++i;
    now += (i & 1023) == 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RateLimitTake)->ArgName("spoofed")->Arg(0)->Arg(1);

// Ban lookup with 10k live bans of /32 and /24.
void BM_BanMatch(benchmark::State& state) {
  BanTable bans(1u << 14);
  const auto banned = randomSources(10000, false, 4);
  for (size_t i = 0; i < banned.size(); ++i) {
    (void)bans.ban(prefixOf(banned[i], i % 2 == 0 ? 32 : 24), 0, 1ull << 40,
                   ShieldReason::Flood, 0, 0);
  }
  const auto sources = randomSources(4096, false, 5);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bans.match(sources[i++ & 4095], 1000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BanMatch);

// Count-min update for source + prefix (4 rows x 16k).
void BM_FloodObserve(benchmark::State& state) {
  FloodDetector flood(1u << 14, 4);
  FloodConfig config;
  config.enabled = true;
  config.source_threshold = 1u << 30;
  config.prefix_threshold = 1u << 30;
  const auto sources = randomSources(1u << 16, false, 6);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(flood.observe(config, sources[i++ & 0xffff], 1000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FloodObserve);

void BM_HopCountCheck(benchmark::State& state) {
  HopCountTable table(1u << 15);
  HopCountConfig config;
  const auto sources = randomSources(4096, false, 7);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(config, sources[i++ & 4095], 52, true, 1000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HopCountCheck);

struct Parsed {
  std::string bytes;
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  explicit Parsed(std::string b) : bytes(std::move(b)) {
    (void)parser::scanAndValidate(parser::ByteView(bytes), parsed.message, summary);
  }
};

void BM_Sanity(benchmark::State& state) {
  Parsed p(readCorpus("01_invite_sdp.sip"));
  SanityConfig config;
  for (auto _ : state) {
    benchmark::DoNotOptimize(checkSanity(config, static_cast<uint32_t>(p.bytes.size()),
                                         p.parsed.message, p.summary));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sanity);

// Scanner fingerprints (11 default patterns) over User-Agent, From and To of a real INVITE.
void BM_ScannerFingerprints(benchmark::State& state) {
  Parsed p(readCorpus(state.range(0) != 0 ? "17_scanner_options.sip" : "01_invite_sdp.sip"));
  ScannerConfig config;
  (void)config.build();
  for (auto _ : state) {
    benchmark::DoNotOptimize(matchScanner(config, parser::ByteView(p.bytes), p.parsed.message));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScannerFingerprints)->ArgName("scanner_msg")->Arg(0)->Arg(1);

// The whole chain with every stage on: ACL of 100k prefixes, bans, flood sketch, hop count,
// two pre-parse and two post-parse rate limits, sanity, scanner, overload (not overloaded).
std::shared_ptr<ShieldRules> fullRules() {
  auto rules = std::make_shared<ShieldRules>();
  for (const auto& e : randomPrefixes(100000, 8)) {
    (e.value == 0 ? rules->acl.allow : rules->acl.deny).push_back(e.prefix);
  }
  rules->acl.deny.clear();  // allow-listed prefixes only, default allow: nothing is denied
  rules->flood.enabled = true;
  rules->flood.source_threshold = 1u << 30;
  rules->flood.prefix_threshold = 1u << 30;
  rules->hop_count.enabled = true;
  rules->overload.enabled = true;
  auto rule = [](const char* name, RateKey key, uint8_t methods) {
    RateLimitRule r;
    r.header.name = name;
    r.key = key;
    r.methods = methods;
    r.rate = 1e9;
    r.burst = 1e9;
    return r;
  };
  rules->rate_limits = {rule("src", RateKey::Source, kAllMethodClasses),
                        rule("pfx", RateKey::Prefix, kAllMethodClasses),
                        rule("invite-src", RateKey::Source, bit(MethodClass::Invite)),
                        rule("invite-ceiling", RateKey::Global, bit(MethodClass::Invite))};
  if (!rules->finalize().empty()) {
    std::abort();
  }
  return rules;
}

void BM_Chain(benchmark::State& state) {
  const bool spoofed = state.range(0) != 0;
  const bool empty = state.range(1) != 0;
  FilterChain chain;
  auto rules = fullRules();
  ShieldRules none;
  none.enabled = false;
  (void)none.finalize();
  chain.setRules(empty ? &none : rules.get(), nullptr);
  Parsed p(readCorpus("01_invite_sdp.sip"));
  const auto sources = randomSources(1u << 16, false, 9);
  size_t i = 0;
  uint64_t now = 1000;
  uint64_t passed = 0;
  for (auto _ : state) {
    PacketMeta meta;
    meta.source = sources[spoofed ? (i & 0xffff) : 0];
    meta.ttl = 52;
    meta.length = static_cast<uint32_t>(p.bytes.size());
    Verdict v = chain.preParse(meta, now);
    if (v.pass()) {
      v = chain.postParse(meta, parser::ByteView(p.bytes), p.parsed.message, p.summary, now);
    }
    passed += v.pass();
    ++i;
    now += (i & 1023) == 0;
  }
  benchmark::DoNotOptimize(passed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Chain)->ArgNames({"spoofed", "shield_off"})->Args({0, 0})->Args({1, 0})->Args({0, 1});

}  // namespace

BENCHMARK_MAIN();
