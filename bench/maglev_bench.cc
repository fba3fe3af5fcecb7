// Micro-benchmarks of lb/: Maglev table build, dispatcher pick, Via-branch MAC.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/affinity_table.h"
#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/dispatcher.h"
#include "lb/maglev.h"

namespace {

using namespace sipshield::lb;

std::vector<MaglevBackend> backends(int n) {
  std::vector<MaglevBackend> out;
  for (int i = 0; i < n; ++i) {
    std::string name = "proxy-";
    name += std::to_string(i);
    const uint64_t h = hashCallId(name);
    out.push_back(MaglevBackend{static_cast<uint32_t>(h >> 32), 1u + i % 3, h});
  }
  return out;
}

// Realistic Call-IDs (RFC 3261 / RFC 4475 shapes), hashed outside the timed loop.
std::vector<std::string> callIds(size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string s = "a84b4c76e66710";
    s += std::to_string(i * 2654435761u);
    s += "@pc33.atlanta.example.com";
    out.push_back(std::move(s));
  }
  return out;
}

void BM_MaglevBuild(benchmark::State& state) {
  const auto b = backends(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto t = buildMaglevTable(b, kDefaultMaglevTableSize);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_MaglevBuild)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_MaglevBuildWithFallback(benchmark::State& state) {
  const auto b = backends(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto t = MaglevTable::build(b, kDefaultMaglevTableSize, true);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_MaglevBuildWithFallback)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

struct PickFixture {
  explicit PickFixture(int n_backends) {
    affinity = std::move(AffinityTable::create(AffinityConfig{}).value());
    for (int i = 0; i < n_backends; ++i) {
      std::string name = "proxy-";
      name += std::to_string(i);
      (void)pool.addBackend(BackendConfig{name, "addr", 1});
    }
    snapshot = std::move(pool.buildSnapshot().value());
  }
  BackendPool pool;
  std::unique_ptr<AffinityTable> affinity;
  std::unique_ptr<const DispatchSnapshot> snapshot;
};

std::vector<uint64_t> keys(size_t n, size_t offset = 0) {
  std::vector<uint64_t> out;
  for (const auto& c : callIds(n + offset)) {
    out.push_back(hashCallId(c));
  }
  out.erase(out.begin(), out.begin() + static_cast<long>(offset));
  return out;
}

// Existing calls: every key is in the affinity table (64k calls in a 1M-entry table).
void BM_PickAffinityHit(benchmark::State& state) {
  PickFixture f(10);
  Dispatcher d(f.affinity.get());
  d.setSnapshot(f.snapshot.get());
  const auto k = keys(1 << 16);
  for (uint64_t key : k) {
    (void)d.pick(key, 1000);
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.pick(k[i], 2000));
    i = (i + 1) & (k.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits"] = static_cast<double>(d.stats().get(DispatchCounter::AffinityHit));
}
BENCHMARK(BM_PickAffinityHit);

// New calls: affinity miss, Maglev pick, and the affinity insert (table grows to ~1M entries,
// so later iterations also evict).
void BM_PickAffinityMissInsert(benchmark::State& state) {
  PickFixture f(10);
  Dispatcher d(f.affinity.get());
  d.setSnapshot(f.snapshot.get());
  const auto k = keys(1 << 20);
  size_t i = 0;
  uint64_t salt = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.pick(k[i] ^ salt, 1000));
    if (++i == k.size()) {
      i = 0;
      salt += 0x9E3779B97F4A7C15ULL;  // new keys on every pass
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PickAffinityMissInsert);

// Under flood: affinity lookup misses, Maglev pick, no insert.
void BM_PickAffinityMissFlood(benchmark::State& state) {
  PickFixture f(10);
  Dispatcher d(f.affinity.get());
  d.setSnapshot(f.snapshot.get());
  d.setUnderFlood(true);
  const auto k = keys(1 << 16);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.pick(k[i], 1000));
    i = (i + 1) & (k.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PickAffinityMissFlood);

// Maglev alone, and with one backend down (fallback path).
void BM_PickNew(benchmark::State& state) {
  PickFixture f(10);
  if (state.range(0) == 1) {
    for (int i = 0; i < 3; ++i) {
      f.pool.onProbeResult(3, false, i);
    }
    f.snapshot = std::move(f.pool.buildSnapshot().value());
  }
  const auto k = keys(1 << 16);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.snapshot->pickNew(k[i]));
    i = (i + 1) & (k.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PickNew)->Arg(0)->Arg(1);

void BM_HashCallId(benchmark::State& state) {
  const auto c = callIds(1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hashCallId(c[i]));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashCallId);

const std::vector<uint8_t> kSecret(32, 0x5a);
const std::vector<uint8_t> kOldSecret(32, 0x33);

void BM_BranchMake(benchmark::State& state) {
  const BranchSigner s = std::move(BranchSigner::create(kSecret, 2, kOldSecret, 1).value());
  const auto c = callIds(1024);
  char out[kBranchLength];
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.makeBranch("z9hG4bK776asdhds", c[i], out));
    benchmark::ClobberMemory();
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BranchMake);

void BM_BranchVerify(benchmark::State& state) {
  const BranchSigner s = std::move(BranchSigner::create(kSecret, 2, kOldSecret, 1).value());
  const auto c = callIds(1024);
  std::vector<std::string> branches;
  for (const auto& cid : c) {
    char out[kBranchLength];
    (void)s.makeBranch("z9hG4bK776asdhds", cid, out);
    branches.emplace_back(out, kBranchLength);
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.verifyBranch(branches[i], "z9hG4bK776asdhds", c[i]));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BranchVerify);

}  // namespace

BENCHMARK_MAIN();
