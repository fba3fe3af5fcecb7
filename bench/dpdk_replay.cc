// dpdk_replay: INVITE forwarding through the DPDK backend on one lcore, frames in from a
// net_ring port, forwarded frames out to net_null, with the io_uring backend's figure on
// loopback measured in the same run. Prints one line per measurement (Mpps) and a summary.
//
// Three DPDK runs: the copy path fed with shared prebuilt mbufs (a reference is added before
// each enqueue, so nothing is copied in; a shared mbuf is never rewritten in place), then the
// copy path and the in-place path fed with a fresh mbuf per frame (alloc + memcpy in the timed
// loop, standing in for NIC DMA). Timed: RX burst, L2/L3/L4 decode and checksum check, the
// whole pipeline (scan, validate, Maglev/affinity, Via rewrite), framing (a new mbuf, or
// headers prepended in the received one) with software checksums, and TX burst.
//
// Run as root (or with a working --no-huge EAL): build-dpdk/bench/dpdk_replay [seconds]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "src/io/uring/uring_backend.h"
#include "tests/dpdk/dpdk_test_util.h"

namespace {

using namespace sipshield;
using namespace sipshield::dpdk_testing;

uint64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string corpusInvite() {
  std::ifstream in(std::string(SIPSHIELD_CORPUS_DIR) + "/01_invite_sdp.sip", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// invites returns `count` INVITEs that differ in Call-ID (so the affinity table and Maglev see
// many calls) and keep their length.
std::vector<std::string> invites(size_t count) {
  const std::string base = corpusInvite();
  const size_t at = base.find("Call-ID:");
  const size_t eol = base.find("\r\n", at);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "bench-%08zu@198.18.0.2", i);
    std::string m = base;
    m.replace(at, eol - at, std::string("Call-ID: ") + id);
    out.push_back(std::move(m));
  }
  return out;
}

struct RunResult {
  double mpps = 0;
  uint64_t packets = 0;
  uint64_t forwarded = 0;
};

// Feed says how frames reach the worker. Shared: the same prebuilt mbufs with a reference
// added per enqueue (cheap, but a shared mbuf may not be rewritten, so every datagram takes
// the copy path). Fresh: each frame copied into a new mbuf from the pool, as a NIC's DMA would
// leave it (the feed's alloc + memcpy is inside the timed loop), so forwarding goes in place.
enum class Feed { Shared, Fresh };

RunResult runDpdk(double seconds, const std::vector<std::string>& messages, Feed feed,
                  bool in_place) {
  const net::Endpoint listen = ep("198.18.0.1:5060");
  const std::vector<std::string> backends = {"198.18.1.31:5060", "198.18.1.32:5060"};
  RingPort ring("bench");
  World world(backends, {listen});
  io::DpdkBackendConfig config;
  // A fresh net_null per run: the backend probes it and removes it again at stop.
  static int run = 0;
  config.ports = {io::DpdkPort{ring.name()},
                  io::DpdkPort{"net_null_bench" + std::to_string(run++) + ",no-rx=1"}};
  config.addresses = {*io::parseDpdkAddress("198.18.0.1/24@0"),
                      *io::parseDpdkAddress("198.18.1.1/24@1")};
  config.listen = {listen};
  config.spawn_threads = false;
  config.mbufs_per_worker = 4095;
  config.in_place_tx = in_place;
  io::DpdkBackend backend(config);
  Status status = backend.start([&](int) { return world.pipeline(); });
  if (!status.isOk() || !ring.ok()) {
    std::fprintf(stderr, "dpdk_replay: cannot start: %s\n", status.toString().c_str());
    return {};
  }
  for (int i = 0; i < 2; ++i) {
    (void)backend.neighbours()->learn(ep(backends[i]).ip, mac(0x31 + i), 0);
  }
  // Prebuilt frames, one mbuf each, reused for the whole run.
  const net::Endpoint client = ep("198.18.0.2:5070");
  std::vector<rte_mbuf*> frames;
  // The ring port's pool holds 4095 mbufs; 2048 distinct calls is plenty for the tables.
  for (size_t i = 0; i < std::min<size_t>(messages.size(), 2048); ++i) {
    const std::string& m = messages[i];
    Bytes frame = ethernet(backend.layout().ports[0].mac, mac(2), net::kEtherTypeIpv4,
                           ipUdp(client, listen, m));
    rte_mbuf* mbuf = rte_pktmbuf_alloc(ring.pool());
    if (mbuf == nullptr) {
      std::fprintf(stderr, "dpdk_replay: out of mbufs\n");
      return {};
    }
    std::memcpy(rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    frames.push_back(mbuf);
  }
  const size_t burst = 32;
  size_t next = 0;
  uint64_t packets = 0;
  const uint64_t start = nowNs();
  const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t now = start;
  rte_mbuf* batch[burst];
  while (now < deadline) {
    for (int round = 0; round < 64; ++round) {
      size_t filled = 0;
      for (size_t i = 0; i < burst; ++i) {
        rte_mbuf* source = frames[next];
        next = next + 1 == frames.size() ? 0 : next + 1;
        if (feed == Feed::Shared) {
          rte_mbuf_refcnt_update(source, 1);
          batch[filled++] = source;
          continue;
        }
        rte_mbuf* fresh = rte_pktmbuf_alloc(ring.pool());
        if (fresh == nullptr) {
          break;
        }
        std::memcpy(rte_pktmbuf_append(fresh, source->data_len),
                    rte_pktmbuf_mtod(source, const void*), source->data_len);
        batch[filled++] = fresh;
      }
      const unsigned queued = rte_ring_enqueue_burst(
          ring.rxRing(), reinterpret_cast<void**>(batch), static_cast<unsigned>(filled), nullptr);
      packets += backend.pollWorker(0, now);
      for (unsigned i = queued; i < filled; ++i) {
        rte_pktmbuf_free(batch[i]);  // shared: drops our reference; fresh: back to the pool
      }
    }
    now = nowNs();
  }
  RunResult result;
  const uint64_t datagrams = backend.counters().get(io::DpdkCounter::Datagrams);
  result.packets = packets;
  result.mpps = static_cast<double>(datagrams) / (static_cast<double>(now - start) / 1e9) / 1e6;
  result.forwarded = backend.counters().get(io::DpdkCounter::TxDatagrams);
  backend.stop();
  const io::DpdkCounterValues values = backend.counters();
  std::printf("  dpdk counters:");
  for (size_t c = 0; c < io::kDpdkCounterCount; ++c) {
    if (values.values[c] != 0) {
      std::printf(" %s=%llu", std::string(io::dpdkCounterName(static_cast<io::DpdkCounter>(c))).c_str(),
                  static_cast<unsigned long long>(values.values[c]));
    }
  }
  std::printf("\n");
  for (rte_mbuf* m : frames) {
    rte_pktmbuf_free(m);
  }
  return result;
}

// The same INVITEs through the io_uring backend on loopback: a sender thread blasts them with
// sendmmsg; the worker's received count over the run is its throughput.
RunResult runUring(double seconds, const std::vector<std::string>& messages) {
  const net::Endpoint listen = ep("127.0.9.1:5060");
  const std::vector<std::string> backends = {"127.0.9.31:5060", "127.0.9.32:5060"};
  // Backends that never read: the kernel drops once their queues fill (cheap, no ICMP).
  std::vector<int> sinks;
  for (const std::string& b : backends) {
    sockaddr_storage address;
    const socklen_t length = ep(b).toSockaddr(address);
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    (void)bind(fd, reinterpret_cast<sockaddr*>(&address), length);
    sinks.push_back(fd);
  }
  World world(backends, {listen});
  io::UringBackendConfig config;
  config.workers = 1;
  config.worker.listen = {listen};
  io::UringBackend backend(config);
  Status status = backend.start([&](int) { return world.pipeline(); });
  if (!status.isOk()) {
    std::fprintf(stderr, "dpdk_replay: uring backend: %s\n", status.toString().c_str());
    return {};
  }
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_storage to;
    const socklen_t to_length = listen.toSockaddr(to);
    constexpr size_t kBatch = 64;
    mmsghdr msgs[kBatch] = {};
    iovec iovs[kBatch];
    size_t next = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < kBatch; ++i) {
        iovs[i].iov_base = const_cast<char*>(messages[next].data());
        iovs[i].iov_len = messages[next].size();
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = to_length;
        next = next + 1 == messages.size() ? 0 : next + 1;
      }
      (void)sendmmsg(fd, msgs, kBatch, 0);
    }
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // warm up
  const uint64_t before = backend.counters().received;
  const uint64_t start = nowNs();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t after = backend.counters().received;
  const uint64_t end = nowNs();
  stop.store(true);
  sender.join();
  backend.stop();
  for (int fd : sinks) {
    close(fd);
  }
  RunResult result;
  result.packets = after - before;
  result.mpps = static_cast<double>(after - before) / (static_cast<double>(end - start) / 1e9) / 1e6;
  result.forwarded = backend.counters().sent;
  return result;
}

// The pipeline alone on the same messages (no I/O): the floor both backends build on.
RunResult runPipeline(double seconds, const std::vector<std::string>& messages) {
  World world({"198.18.1.31:5060", "198.18.1.32:5060"}, {ep("198.18.0.1:5060")});
  auto pipeline = world.pipeline();
  TxBatch tx(64);
  std::vector<RxPacket> packets(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    packets[i].data = reinterpret_cast<const uint8_t*>(messages[i].data());
    packets[i].length = static_cast<uint32_t>(messages[i].size());
    packets[i].source = ep("198.18.0.2:5070");
  }
  uint64_t count = 0;
  size_t next = 0;
  const uint64_t start = nowNs();
  const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t now = start;
  while (now < deadline) {
    for (int round = 0; round < 64; ++round) {
      const size_t n = std::min<size_t>(32, packets.size() - next);
      pipeline->processBurst(std::span<const RxPacket>(packets.data() + next, n), tx, now);
      tx.clear();
      count += n;
      next = next + n == packets.size() ? 0 : next + n;
    }
    now = nowNs();
  }
  RunResult result;
  result.packets = count;
  result.mpps = static_cast<double>(count) / (static_cast<double>(now - start) / 1e9) / 1e6;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  std::string why;
  if (!ealReady(&why)) {
    std::fprintf(stderr, "dpdk_replay: the EAL cannot start here: %s\n", why.c_str());
    return 77;
  }
  const std::vector<std::string> messages = invites(2048);
  std::printf("INVITE of %zu bytes, %zu distinct Call-IDs, burst 32, %.1f s per run\n",
              messages[0].size(), messages.size(), seconds);
  const RunResult pipeline_only = runPipeline(seconds, messages);
  std::printf("pipeline only (no I/O)          %6.3f Mpps\n", pipeline_only.mpps);
  const RunResult dpdk_copy = runDpdk(seconds, messages, Feed::Shared, false);
  std::printf("dpdk copy path, shared feed     %6.3f Mpps per lcore (%llu forwarded)\n",
              dpdk_copy.mpps, static_cast<unsigned long long>(dpdk_copy.forwarded));
  const RunResult fresh_copy = runDpdk(seconds, messages, Feed::Fresh, false);
  std::printf("dpdk copy path, fresh feed      %6.3f Mpps per lcore (%llu forwarded)\n",
              fresh_copy.mpps, static_cast<unsigned long long>(fresh_copy.forwarded));
  const RunResult dpdk = runDpdk(seconds, messages, Feed::Fresh, true);
  std::printf("dpdk in place, fresh feed       %6.3f Mpps per lcore (%llu forwarded)\n",
              dpdk.mpps, static_cast<unsigned long long>(dpdk.forwarded));
  std::printf("in place / copy (fresh feed) %.2fx\n",
              dpdk.mpps / std::max(fresh_copy.mpps, 1e-9));
  const RunResult uring = runUring(seconds, messages);
  std::printf("io_uring loopback, 1 worker     %6.3f Mpps (%llu forwarded)\n", uring.mpps,
              static_cast<unsigned long long>(uring.forwarded));
  std::printf("dpdk/uring %.1fx, dpdk/pipeline %.2f\n", dpdk.mpps / std::max(uring.mpps, 1e-9),
              dpdk.mpps / std::max(pipeline_only.mpps, 1e-9));
  return 0;
}
