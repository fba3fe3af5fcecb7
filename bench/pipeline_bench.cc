// pipeline_bench: the whole per-packet path (scan, validate, dispatch, rewrite) without I/O,
// on the realistic corpus: ns per packet and packets/s per core for client requests
// (INVITE forwarding) and backend responses (MAC check + Via pop).
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/snapshot_publisher.h"
#include "src/pipeline.h"
#include "src/runtime.h"

namespace {

using namespace sipshield;

std::string readCorpus(const std::string& name) {
  std::ifstream in(std::string(SIPSHIELD_CORPUS_DIR) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Fixture: a pipeline with two backends, as the daemon builds it.
struct Bench {
  std::unique_ptr<lb::AffinityTable> affinity;
  lb::SnapshotPublisher<RuntimeSnapshot> publisher{1};
  std::unique_ptr<Pipeline> pipeline;
  TxBatch tx{64};
  std::shared_ptr<const lb::BranchSigner> signer;

  Bench() {
    lb::AffinityConfig config;
    config.capacity = 1u << 20;
    affinity = std::move(lb::AffinityTable::create(config).value());
    lb::BackendPool pool;
    (void)pool.addBackend({"a", "198.18.0.31:5060", 100});
    (void)pool.addBackend({"b", "198.18.0.32:5060", 100});
    std::vector<uint8_t> secret(16, 7);
    signer = std::make_shared<const lb::BranchSigner>(
        std::move(lb::BranchSigner::create(secret, 1).value()));
    auto snapshot = std::make_unique<RuntimeSnapshot>();
    snapshot->dispatch = std::shared_ptr<const lb::DispatchSnapshot>(
        std::move(pool.buildSnapshot().value()));
    snapshot->backend_addresses = {*net::Endpoint::parse("198.18.0.31:5060"),
                                   *net::Endpoint::parse("198.18.0.32:5060")};
    ServerConfig server;
    snapshot->locals = buildLocals(server, {*net::Endpoint::parse("198.18.0.10:5060")});
    snapshot->signer = signer;
    publisher.publish(std::move(snapshot));
    pipeline = std::make_unique<Pipeline>(publisher, publisher.registerReader().value(),
                                          affinity.get());
  }
};

// Distinct Call-IDs per packet, as real traffic has: rewrite the Call-ID's first 8 bytes.
std::vector<std::string> variants(const std::string& message, int count) {
  std::vector<std::string> out;
  size_t at = message.find("Call-ID: ") + 9;
  for (int i = 0; i < count; ++i) {
    std::string m = message;
    char digits[9];
    std::snprintf(digits, sizeof(digits), "%08x", i);
    m.replace(at, 8, digits);
    out.push_back(std::move(m));
  }
  return out;
}

void runBursts(benchmark::State& state, Bench& bench, const std::vector<std::string>& messages,
               const net::Endpoint& source) {
  std::vector<RxPacket> packets(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    packets[i].data = reinterpret_cast<const uint8_t*>(messages[i].data());
    packets[i].length = static_cast<uint32_t>(messages[i].size());
    packets[i].source = source;
  }
  size_t bytes = 0;
  for (const auto& m : messages) {
    bytes += m.size();
  }
  uint64_t now = 1'000'000'000;
  size_t sent = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < packets.size(); i += kMaxBurst) {
      size_t n = std::min<size_t>(kMaxBurst, packets.size() - i);
      bench.tx.clear();
      bench.pipeline->processBurst(std::span<const RxPacket>(&packets[i], n), bench.tx, now);
      sent += bench.tx.size();
    }
    now += 1000;
  }
  benchmark::DoNotOptimize(sent);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * packets.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["forwarded_share"] =
      static_cast<double>(sent) / static_cast<double>(state.iterations() * packets.size());
}

void BM_ForwardInvite(benchmark::State& state) {
  Bench bench;
  auto messages = variants(readCorpus("01_invite_sdp.sip"), 4096);
  runBursts(state, bench, messages, *net::Endpoint::parse("203.0.113.41:5060"));
}
BENCHMARK(BM_ForwardInvite);

// The same with 64 distinct INVITEs (70 kB, cache-resident): the gap to BM_ForwardInvite is
// what fetching packet bytes from memory costs.
void BM_ForwardInviteHot(benchmark::State& state) {
  Bench bench;
  auto messages = variants(readCorpus("01_invite_sdp.sip"), 64);
  runBursts(state, bench, messages, *net::Endpoint::parse("203.0.113.41:5060"));
}
BENCHMARK(BM_ForwardInviteHot);

void BM_ForwardResponse(benchmark::State& state) {
  Bench bench;
  // The 180 of the corpus with our signed Via on top, as a backend sends it back.
  std::string ringing = readCorpus("03_180_ringing.sip");
  std::vector<std::string> messages;
  for (std::string m : variants(ringing, 4096)) {
    size_t call_at = m.find("Call-ID: ") + 9;
    std::string call_id = m.substr(call_at, m.find("\r\n", call_at) - call_at);
    size_t branch_at = m.find("branch=") + 7;
    std::string branch = m.substr(branch_at, m.find_first_of(";\r\n", branch_at) - branch_at);
    char ours[lb::kBranchLength];
    size_t n = bench.signer->makeBranch(branch, call_id, ours);
    std::string via = "Via: SIP/2.0/UDP 198.18.0.10:5060;branch=" + std::string(ours, n) + "\r\n";
    m.insert(m.find("\r\n") + 2, via);
    messages.push_back(std::move(m));
  }
  runBursts(state, bench, messages, *net::Endpoint::parse("198.18.0.31:5060"));
}
BENCHMARK(BM_ForwardResponse);

}  // namespace

BENCHMARK_MAIN();
