// Internet-checksum kernels (src/net/checksum_kernel.h) over datagram-sized chunks: the
// portable kernel, the AVX2 kernel and checksumAdd (which picks one), ns per call and GB/s.
// Default length 1082 bytes: the UDP header and payload of bench/corpus/01_invite_sdp.sip
// after the Call-ID rewrite dpdk_replay does, the chunk the DPDK worker sums on RX and TX.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/net/checksum.h"
#include "src/net/checksum_kernel.h"
#include "src/net/endpoint.h"

namespace {

using sipshield::net::ChecksumIsa;

// A 2 kB buffer of arbitrary bytes, filled once outside the timed loops.
const std::vector<uint8_t>& buffer() {
  static const std::vector<uint8_t> data = [] {
    std::vector<uint8_t> out(2048 + 64);
    uint32_t x = 1071;
    for (uint8_t& b : out) {
      x = x * 1664525u + 1013904223u;
      b = static_cast<uint8_t>(x >> 24);
    }
    return out;
  }();
  return data;
}

// state.range(0): chunk length; state.range(1): start offset (0 aligned, 1 odd).
template <int kIsa>
void BM_Checksum(benchmark::State& state) {
  const ChecksumIsa isa = static_cast<ChecksumIsa>(kIsa);
  if (!sipshield::net::checksumIsaSupported(isa)) {
    state.SkipWithError("kernel not supported on this CPU");
    return;
  }
  const size_t length = static_cast<size_t>(state.range(0));
  const uint8_t* data = buffer().data() + state.range(1);
  uint64_t sum = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(data);
    sum = sipshield::net::checksumAddWith(isa, data, length, sum & 0xFFFF);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(length));
}
// The sizes every kernel runs at: {length, start offset}. 1082 is the corpus INVITE's UDP
// datagram; offset 1 is an odd start; 20 and 64 the short headers; 1480 a full frame.
void kernelSizes(benchmark::internal::Benchmark* b) {
  for (const auto& args : {std::vector<int64_t>{1082, 0}, {1082, 1}, {20, 0}, {64, 0},
                           {1480, 0}}) {
    b->Args(args);
  }
}
BENCHMARK_TEMPLATE(BM_Checksum, static_cast<int>(ChecksumIsa::Portable))
    ->Name("BM_ChecksumPortable")
    ->Apply(kernelSizes);
BENCHMARK_TEMPLATE(BM_Checksum, static_cast<int>(ChecksumIsa::Avx2))
    ->Name("BM_ChecksumAvx2")
    ->Apply(kernelSizes);

// checksumAdd as the worker calls it: the kernel choice included.
void BM_ChecksumAdd(benchmark::State& state) {
  const size_t length = static_cast<size_t>(state.range(0));
  const uint8_t* data = buffer().data() + state.range(1);
  uint64_t sum = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(data);
    sum = sipshield::net::checksumAdd(data, length, sum & 0xFFFF);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(length));
  state.SetLabel(std::string(sipshield::net::checksumIsaName(sipshield::net::activeChecksumIsa())));
}
BENCHMARK(BM_ChecksumAdd)->Args({1082, 0})->Args({20, 0})->Args({64, 0});

// udpChecksum over an IPv4 pseudo-header, the UDP header and a datagram-sized payload: what
// the worker computes per forwarded datagram on TX (and, as a verify, on RX).
void BM_UdpChecksumV4(benchmark::State& state) {
  const auto source = sipshield::net::IpAddress::parse("198.18.1.1").value();
  const auto destination = sipshield::net::IpAddress::parse("198.18.1.31").value();
  const uint8_t header[8] = {0x13, 0xc4, 0x13, 0xc4, 0x04, 0x42, 0, 0};
  const auto length = static_cast<uint32_t>(state.range(0));
  const uint8_t* payload = buffer().data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(payload);
    benchmark::DoNotOptimize(
        sipshield::net::udpChecksum(source, destination, header, payload, length));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (length + 8));
}
BENCHMARK(BM_UdpChecksumV4)->Arg(1074)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
