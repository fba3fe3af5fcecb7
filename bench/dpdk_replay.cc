// dpdk_replay: INVITE forwarding through the DPDK backend on one lcore, frames in from a
// net_ring port, forwarded frames out to net_null, with the io_uring backend's figure on
// loopback measured in the same run. Prints one line per measurement (Mpps) and a summary.
//
// DPDK runs, each with its counters printed: the copy path fed with shared prebuilt mbufs (a
// reference is added before each enqueue, so nothing is copied in; a shared mbuf is never
// rewritten in place), then the copy path and the in-place path fed with a fresh mbuf per
// frame (alloc + memcpy, standing in for NIC DMA) on the worker's own core, inside the timed
// loop, so the feed's cost is charged to the worker. Then the same two paths fed by a second
// thread on the other CPU (the NIC's part of the work off the worker's core): the main thread
// only polls, and the figure is the worker's datagram count over the timed interval. The feed
// thread's own rate, how often it found the pool or ring full, and how often the worker found
// the ring empty are printed with it, so a starved worker cannot pass for a slow one. Then
// both again with the feed writing each frame with non-temporal stores, so it reaches the
// worker from memory, as a NIC's DMA leaves it, rather than from the feed core's cache. Then
// both with a NIC-like feed: the worker posts mbufs from its own pool cache with their headers
// set (a driver's RX refill, charged to the worker) and the feed thread writes only the frame
// bytes into them, as by DMA, so only the frames come from memory. Last,
// the feed-thread in-place run again with the portable checksum kernel instead of the best
// one (src/net/checksum_kernel.h), to show what the SIMD checksum buys in the same process,
// and once more with the frames marked as a NIC with RX checksum offload marks them.
// Timed: RX burst, L2/L3/L4 decode and checksum check, the whole pipeline (scan, validate,
// Maglev/affinity, Via rewrite), framing (a new mbuf, or headers prepended in the received
// one) with software checksums, and TX burst.
//
// Then a call mix (bench/call_mix.h): whole calls, the client's INVITE, ACK and BYE and a
// backend's 100, 180, 200 (SDP) and 200 to the BYE, so responses (branch MAC check, our Via
// removed) weigh as in real traffic: the pipeline alone, then in place with the fresh feed and
// with the feed thread.
//
// Run as root (or with a working --no-huge EAL): build-dpdk/bench/dpdk_replay [seconds]
#include <arpa/inet.h>
#include <emmintrin.h>
#include <netinet/in.h>
#include <pthread.h>
#include <rte_cycles.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "bench/call_mix.h"
#include "bench/call_renumber.h"
#include "src/io/uring/uring_backend.h"
#include "src/net/checksum_kernel.h"
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
  // Feed thread runs only: the worker's polls in the timed interval and how many found the
  // RX ring empty, and what the feed thread did over its whole life.
  uint64_t polls = 0;
  uint64_t empty_polls = 0;
  double busy_mpps = 0;        // datagrams per second of worker CPU time not spent idle (0:
                               // not measurable, the worker was mostly preempted or idle)
  double worker_on_cpu = 0;    // share of the interval the worker thread was on a CPU
  double worker_idle = 0;      // share of the interval spent in polls that found no frames
  double feed_mpps = 0;
  double feed_busy_mpps = 0;   // frames per second of the feeder's successful bursts
  double feed_on_cpu = 0;
  uint64_t fed = 0;
  uint64_t pool_empty = 0;
  uint64_t ring_full = 0;
  bool feed_pinned = false;
  uint64_t bad_checksums = 0;  // frames the worker dropped for a wrong checksum (must be 0)
};

// Feed says how frames reach the worker. Shared: the same prebuilt mbufs with a reference
// added per enqueue (cheap, but a shared mbuf may not be rewritten, so every datagram takes
// the copy path). Fresh: each frame copied into a new mbuf from the pool, as a NIC's DMA would
// leave it (the feed's alloc + memcpy is inside the timed loop, on the worker's core), so
// forwarding goes in place. Thread: as Fresh, but done by a second thread on another CPU; the
// worker's core only polls: the frames arrive from that thread's cache. ThreadDma: as Thread,
// but each frame is written with non-temporal stores, so it reaches memory and no core's
// cache, as a NIC's DMA leaves it (a NIC without cache injection; the mbuf header is still
// written by the feed thread, where a NIC's driver would write it on the worker's core).
// Nic: as a NIC without cache injection and its driver share the work. The worker allocates
// the mbufs from its own pool cache and sets their headers, as a driver's RX refill does
// (inside the timed loop, on the worker's core), and posts them on a free ring; the feed
// thread writes only the frame bytes, with non-temporal stores, where each posted buffer's data
// begins, without reading the mbuf (a NIC's DMA to the address in a descriptor), and enqueues
// them on the RX ring. So the mbuf headers stay in the worker's cache and the frames come from
// memory. Frames of one length only (the driver's refill cannot know a frame's length; the
// worker sets the one length all frames have).
enum class Feed { Shared, Fresh, Thread, ThreadDma, Nic };

bool fedByThread(Feed feed) {
  return feed == Feed::Thread || feed == Feed::ThreadDma || feed == Feed::Nic;
}

// streamCopy copies `length` bytes to `out` (16-byte aligned) with non-temporal stores, the
// last partial 16 bytes with ordinary ones. The caller fences before publishing the frame.
void streamCopy(uint8_t* out, const uint8_t* in, size_t length) {
  size_t offset = 0;
  for (; offset + 16 <= length; offset += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(out + offset),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + offset)));
  }
  std::memcpy(out + offset, in + offset, length - offset);
}

// The first Call-ID number of the new-call runs: past the prebuilt INVITEs' 0..2047.
constexpr uint64_t kFirstNewCall = 10'000'000;

// The daemon's default affinity table (lb::AffinityConfig): 2^20 entries, 8 MB, for the
// new-call runs, where each INVITE inserts an entry.
constexpr uint32_t kDaemonAffinityEntries = 1u << 20;

// The call mix's client (see runDpdk).
constexpr const char* kMixClient = "198.18.1.2:5070";

// The CPU the feed thread runs on (another CPU than the worker's), or -1 if the process may
// use only one. Chosen in main() once the EAL has pinned the main thread.
int g_feed_cpu = -1;

// FeedCounts is what the feed thread did, written by it and read after join().
struct FeedCounts {
  uint64_t fed = 0;          // frames enqueued on the RX ring
  uint64_t pool_empty = 0;   // bursts skipped: no free mbufs (all queued or in the worker)
  uint64_t ring_full = 0;    // frames the full RX ring refused
  uint64_t busy_cycles = 0;  // TSC cycles spent in bursts that got mbufs (wall time)
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t cpu_ns = 0;  // the thread's CPU time over its life
  bool pinned = false;  // running on g_feed_cpu only
};

uint64_t threadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// pinThisThread runs the calling thread on `cpu` only (nothing when it is negative) and says
// whether it now does.
bool pinThisThread(int cpu) {
  if (cpu < 0) {
    return false;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// feedLoop runs `burst` (one burst of a feeder's work; false when it found nothing to do)
// 16 times between clock reads until `stop` is set or `deadline_ns` passes, and records the
// feeder's wall and CPU time in `out`, and the TSC time of the bursts that did work.
template <typename Burst>
void feedLoop(const std::atomic<bool>& stop, uint64_t deadline_ns, FeedCounts& out,
              Burst&& burst) {
  out.start_ns = nowNs();
  const uint64_t cpu_start = threadCpuNs();
  uint64_t now = out.start_ns;
  while (!stop.load(std::memory_order_relaxed) && now < deadline_ns) {
    for (int round = 0; round < 16; ++round) {
      const uint64_t attempt = rte_rdtsc();
      if (burst()) {
        out.busy_cycles += rte_rdtsc() - attempt;
      }
    }
    now = nowNs();
  }
  out.end_ns = nowNs();
  out.cpu_ns = threadCpuNs() - cpu_start;
}

// feedFrames copies `frames` round-robin into fresh mbufs from `pool` and enqueues them on
// `ring`, 32 at a time, until `stop` is set or `deadline_ns` passes (it always stops by
// itself). The ring is single-producer: this thread is its only producer while it runs.
// `stream`: the frames are written with non-temporal stores (Feed::ThreadDma); not together
// with `renumber`, whose patch would pull the lines back into this core's cache.
void feedFrames(const std::vector<rte_mbuf*>& frames, rte_mempool* pool, rte_ring* ring,
                const std::atomic<bool>& stop, uint64_t deadline_ns, int cpu,
                const bench::CallNumberAt* renumber, uint64_t rx_ol_flags, bool stream,
                FeedCounts& out) {
  out.pinned = pinThisThread(cpu);
  // A registered thread gets an lcore id, so its allocations use a cache of the pool of its
  // own (the worker's frees fill the worker's cache), as DPDK documents for non-EAL threads.
  const bool registered = rte_thread_register() == 0;
  constexpr unsigned kBurst = 32;
  rte_mbuf* batch[kBurst];
  size_t next = 0;
  feedLoop(stop, deadline_ns, out, [&] {
    if (rte_pktmbuf_alloc_bulk(pool, batch, kBurst) != 0) {
      ++out.pool_empty;
      // Every free mbuf is queued or in the worker. Wait for the worker to take a burst off
      // the ring, reading only the ring's tails: polling the pool instead would keep pulling
      // the lines the worker's frees write, and slow the worker down (a NIC never does).
      const unsigned queued_now = rte_ring_count(ring);
      for (int spin = 0; spin < 4096 && rte_ring_count(ring) > kBurst &&
                         rte_ring_count(ring) + kBurst > queued_now;
           ++spin) {
        rte_pause();
      }
      return false;
    }
    for (unsigned i = 0; i < kBurst; ++i) {
      const rte_mbuf* source = frames[next];
      next = next + 1 == frames.size() ? 0 : next + 1;
      auto* copy = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(batch[i], source->data_len));
      if (stream) {
        streamCopy(copy, rte_pktmbuf_mtod(source, const uint8_t*), source->data_len);
      } else {
        std::memcpy(copy, rte_pktmbuf_mtod(source, const void*), source->data_len);
      }
      if (renumber != nullptr) {
        bench::renumberFrame(copy, *renumber, kFirstNewCall + out.fed + i);
      }
      batch[i]->ol_flags = rx_ol_flags;
    }
    if (stream) {
      _mm_sfence();  // non-temporal stores are weakly ordered: visible before published
    }
    const unsigned queued =
        rte_ring_enqueue_burst(ring, reinterpret_cast<void**>(batch), kBurst, nullptr);
    out.fed += queued;
    if (queued < kBurst) {
      out.ring_full += kBurst - queued;
      rte_pktmbuf_free_bulk(batch + queued, kBurst - queued);
    }
    return true;
  });
  if (registered) {
    rte_thread_unregister();
  }
}

// NicBuffers is Feed::Nic's driver side: the free ring of posted buffers and the worker's
// refill of it.
class NicBuffers {
 public:
  // Mbufs posted on the free ring or queued on the RX ring: a NIC's RX descriptors.
  static constexpr unsigned kInFlight = 1024;

  NicBuffers(const std::string& name, rte_mempool* pool, rte_ring* rx_ring, uint16_t frame_length,
             uint64_t rx_ol_flags)
      : pool_(pool),
        rx_ring_(rx_ring),
        frame_length_(frame_length),
        rx_ol_flags_(rx_ol_flags),
        free_(rte_ring_create(name.c_str(), 2 * kInFlight, SOCKET_ID_ANY,
                              RING_F_SP_ENQ | RING_F_SC_DEQ)) {}
  ~NicBuffers() {
    if (free_ != nullptr) {
      drain(free_);
      rte_ring_free(free_);
    }
  }
  NicBuffers(const NicBuffers&) = delete;
  NicBuffers& operator=(const NicBuffers&) = delete;

  [[nodiscard]] rte_ring* freeRing() const { return free_; }

  // refill tops the posted and queued buffers up to kInFlight, 32 at a time: fresh mbufs from
  // the pool (the worker's cache), reset, with the frame length and RX flags set.
  void refill() {
    constexpr unsigned kBurst = 32;
    while (rte_ring_count(free_) + rte_ring_count(rx_ring_) + kBurst <= kInFlight) {
      rte_mbuf* batch[kBurst];
      if (rte_pktmbuf_alloc_bulk(pool_, batch, kBurst) != 0) {
        return;
      }
      for (rte_mbuf* m : batch) {
        m->data_len = frame_length_;
        m->pkt_len = frame_length_;
        m->ol_flags = rx_ol_flags_;
      }
      const unsigned posted =
          rte_ring_enqueue_burst(free_, reinterpret_cast<void**>(batch), kBurst, nullptr);
      if (posted < kBurst) {
        rte_pktmbuf_free_bulk(batch + posted, kBurst - posted);
        return;
      }
    }
  }

  // drain frees what `ring` holds.
  static void drain(rte_ring* ring) {
    void* left[64];
    unsigned n = 0;
    while ((n = rte_ring_dequeue_burst(ring, left, 64, nullptr)) != 0) {
      for (unsigned i = 0; i < n; ++i) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(left[i]));
      }
    }
  }

 private:
  rte_mempool* pool_;
  rte_ring* rx_ring_;
  uint16_t frame_length_;
  uint64_t rx_ol_flags_;
  rte_ring* free_;
};

// nicData is where a posted mbuf's frame goes, computed as a NIC takes it from a descriptor:
// without reading the mbuf. Pools of rte_pktmbuf_pool_create with no private area put the
// buffer right after the mbuf header, and a reset mbuf's data at the default headroom; runDpdk
// checks that on one mbuf before it uses this.
uint8_t* nicData(rte_mbuf* m) {
  return reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM;
}

// feedNicFrames is Feed::Nic's NIC: it takes posted buffers off `free_ring`, writes the next
// frames' bytes into them with non-temporal stores and enqueues them on `rx_ring`, 32 at a
// time, until `stop` is set or `deadline_ns` passes. `pool_empty` counts the times it found
// no buffer posted.
void feedNicFrames(const std::vector<rte_mbuf*>& frames, rte_ring* free_ring, rte_ring* rx_ring,
                   const std::atomic<bool>& stop, uint64_t deadline_ns, int cpu,
                   FeedCounts& out) {
  out.pinned = pinThisThread(cpu);
  constexpr unsigned kBurst = 32;
  void* batch[kBurst];
  size_t next = 0;
  feedLoop(stop, deadline_ns, out, [&] {
    const unsigned n = rte_ring_dequeue_burst(free_ring, batch, kBurst, nullptr);
    if (n == 0) {
      ++out.pool_empty;
      // Nothing posted: the worker is behind. Back off before looking again: every look
      // reads the lines the worker's posts write, and pulling them away slows it down.
      for (int spin = 0; spin < 256; ++spin) {
        rte_pause();
      }
      return false;
    }
    for (unsigned i = 0; i < n; ++i) {
      const rte_mbuf* source = frames[next];
      next = next + 1 == frames.size() ? 0 : next + 1;
      streamCopy(nicData(static_cast<rte_mbuf*>(batch[i])),
                 rte_pktmbuf_mtod(source, const uint8_t*), source->data_len);
    }
    _mm_sfence();  // non-temporal stores are weakly ordered: visible before published
    const unsigned queued = rte_ring_enqueue_burst(rx_ring, batch, n, nullptr);
    out.fed += queued;
    if (queued < n) {
      out.ring_full += n - queued;
      for (unsigned i = queued; i < n; ++i) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(batch[i]));
      }
    }
    return true;
  });
}

// runDpdk times one configuration. `new_calls` (feed thread only): each INVITE copy gets a new
// Call-ID number (bench/call_renumber.h) and the affinity table the daemon's default size.
// `rx_ol_flags` (feed thread only): what the feed marks each frame with, as a NIC with RX
// checksum offload marks what it verified.
RunResult runDpdk(double seconds, const std::vector<bench::Offered>& messages, Feed feed,
                  bool in_place, bool new_calls = false, uint64_t rx_ol_flags = 0) {
  const net::Endpoint listen = ep("198.18.0.1:5060");
  const std::vector<std::string> backends = {"198.18.1.31:5060", "198.18.1.32:5060"};
  // The port's pool stands in for the RX queue's pool, which the daemon creates with a
  // per-lcore cache of 256 (src/io/dpdk/dpdk_backend.cc).
  RingPort ring("bench", 256);
  World world(backends, {listen}, new_calls ? kDaemonAffinityEntries : 1u << 12);
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
  // The call mix's client sits behind the net_null port too: the responses it gets leave
  // there (the ring port's TX side is never drained).
  (void)backend.neighbours()->learn(ep(kMixClient).ip, mac(2), 0);
  // Prebuilt frames, one mbuf each, reused for the whole run.
  std::vector<rte_mbuf*> frames;
  // The ring port's pool holds 4095 mbufs; 2048 distinct calls is plenty for the tables.
  for (size_t i = 0; i < std::min<size_t>(messages.size(), 2048); ++i) {
    const bench::Offered& m = messages[i];
    const bool from_backend = m.source.ip == ep(backends[0]).ip || m.source.ip == ep(backends[1]).ip;
    const net::MacAddress from_mac =
        from_backend ? mac(m.source.ip == ep(backends[0]).ip ? 0x31 : 0x32) : mac(2);
    Bytes frame = ethernet(backend.layout().ports[0].mac, from_mac, net::kEtherTypeIpv4,
                           ipUdp(m.source, listen, m.payload));
    rte_mbuf* mbuf = rte_pktmbuf_alloc(ring.pool());
    if (mbuf == nullptr) {
      std::fprintf(stderr, "dpdk_replay: out of mbufs\n");
      return {};
    }
    std::memcpy(rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    frames.push_back(mbuf);
  }
  RunResult result;
  const size_t burst = 32;
  uint64_t packets = 0;
  uint64_t start = 0;
  uint64_t now = 0;
  uint64_t datagrams = 0;
  if (fedByThread(feed)) {
    // The feed thread starts first; the worker polls through a warm-up of 200 ms (tables,
    // caches, the ring filling), then the timed interval: its datagram count between two
    // counter reads. The feeder stops on the flag, or by itself a second after the interval.
    std::atomic<bool> stop{false};
    FeedCounts counts;
    const uint64_t warmup_ns = 200'000'000;
    const uint64_t interval_ns = static_cast<uint64_t>(seconds * 1e9);
    const uint64_t feed_deadline = nowNs() + warmup_ns + interval_ns + 1'000'000'000;
    bench::CallNumberAt number_at;
    if (new_calls) {
      // Every prebuilt frame has the same layout: Ethernet, IPv4 without options, UDP.
      const rte_mbuf* first = frames.front();
      const std::string_view bytes(rte_pktmbuf_mtod(first, const char*), first->data_len);
      number_at = bench::findCallNumber(bytes, 14 + 20);
      if (!number_at.found) {
        std::fprintf(stderr, "dpdk_replay: no Call-ID number to renumber\n");
        return {};
      }
    }
    std::unique_ptr<NicBuffers> nic;
    if (feed == Feed::Nic) {
      for (const rte_mbuf* m : frames) {
        if (m->data_len != frames.front()->data_len) {
          std::fprintf(stderr, "dpdk_replay: the NIC-like feed needs frames of one length\n");
          return {};
        }
      }
      rte_mbuf* probe = rte_pktmbuf_alloc(ring.pool());
      const bool layout_ok =
          probe != nullptr && rte_pktmbuf_mtod(probe, uint8_t*) == nicData(probe);
      rte_pktmbuf_free(probe);
      nic = std::make_unique<NicBuffers>(std::string(ring.name()) + "_free", ring.pool(),
                                         ring.rxRing(), frames.front()->data_len, rx_ol_flags);
      if (!layout_ok || nic->freeRing() == nullptr) {
        std::fprintf(stderr, "dpdk_replay: the NIC-like feed cannot start here\n");
        return {};
      }
      nic->refill();
    }
    std::thread feeder =
        feed == Feed::Nic
            ? std::thread(feedNicFrames, std::cref(frames), nic->freeRing(), ring.rxRing(),
                          std::cref(stop), feed_deadline, g_feed_cpu, std::ref(counts))
            : std::thread(feedFrames, std::cref(frames), ring.pool(), ring.rxRing(),
                          std::cref(stop), feed_deadline, g_feed_cpu,
                          new_calls ? &number_at : nullptr, rx_ol_flags,
                          feed == Feed::ThreadDma && !new_calls, std::ref(counts));
    now = nowNs();
    const uint64_t warm_until = now + warmup_ns;
    while (now < warm_until) {
      for (int round = 0; round < 64; ++round) {
        if (nic) {
          nic->refill();
        }
        (void)backend.pollWorker(0, now);
      }
      now = nowNs();
    }
    const uint64_t datagrams_before = backend.counters().get(io::DpdkCounter::Datagrams);
    // Besides the wall-clock figure, the worker's busy CPU time: its thread CPU time over the
    // interval less the TSC time of the polls that found the ring empty (short, so rarely
    // preempted). On a shared machine the feeder or the worker loses its CPU now and then and
    // the other spins on an empty ring or a drained pool; the busy figure stays the worker's
    // cost per datagram. Time the worker is preempted is in neither.
    uint64_t idle_cycles = 0;
    const uint64_t cpu_start = threadCpuNs();
    start = nowNs();
    const uint64_t deadline = start + interval_ns;
    now = start;
    while (now < deadline) {
      for (int round = 0; round < 64; ++round) {
        if (nic) {
          nic->refill();  // the driver's work: charged to the worker, outside the idle time
        }
        const uint64_t poll_start = rte_rdtsc();
        const uint32_t got = backend.pollWorker(0, now);
        if (got == 0) {
          ++result.empty_polls;
          idle_cycles += rte_rdtsc() - poll_start;
        } else {
          packets += got;
        }
      }
      result.polls += 64;
      now = nowNs();
    }
    datagrams = backend.counters().get(io::DpdkCounter::Datagrams) - datagrams_before;
    const double worker_cpu_ns = static_cast<double>(threadCpuNs() - cpu_start);
    result.worker_on_cpu = worker_cpu_ns / static_cast<double>(now - start);
    const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
    result.worker_idle = static_cast<double>(idle_cycles) * ns_per_cycle /
                         static_cast<double>(now - start);
    // Empty polls timed on the TSC include any preemption inside them, which CPU time does
    // not: if they come to most of the CPU time the difference means nothing (reported 0).
    const double busy_ns = worker_cpu_ns - static_cast<double>(idle_cycles) * ns_per_cycle;
    result.busy_mpps =
        busy_ns > 0.1 * worker_cpu_ns ? static_cast<double>(datagrams) / busy_ns * 1e3 : 0;
    stop.store(true, std::memory_order_relaxed);
    feeder.join();
    // Frames still queued were fed after the interval: freed unprocessed (and the posted
    // buffers, when the destructor of `nic` runs).
    NicBuffers::drain(ring.rxRing());
    result.fed = counts.fed;
    result.pool_empty = counts.pool_empty;
    result.ring_full = counts.ring_full;
    result.feed_pinned = counts.pinned;
    const double feed_ns = static_cast<double>(counts.end_ns - counts.start_ns);
    result.feed_mpps = static_cast<double>(counts.fed) / (feed_ns / 1e9) / 1e6;
    // The feeder's capacity from the wall time of its successful bursts: preemption inside
    // one only lowers it, so "the feed was faster than the worker" is never overstated.
    result.feed_busy_mpps = static_cast<double>(counts.fed) /
                            std::max(static_cast<double>(counts.busy_cycles) * ns_per_cycle, 1.0) *
                            1e3;
    result.feed_on_cpu = static_cast<double>(counts.cpu_ns) / feed_ns;
  } else {
    size_t next = 0;
    start = nowNs();
    const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
    now = start;
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
        const unsigned queued =
            rte_ring_enqueue_burst(ring.rxRing(), reinterpret_cast<void**>(batch),
                                   static_cast<unsigned>(filled), nullptr);
        packets += backend.pollWorker(0, now);
        for (unsigned i = queued; i < filled; ++i) {
          rte_pktmbuf_free(batch[i]);  // shared: drops our reference; fresh: back to the pool
        }
      }
      now = nowNs();
    }
    datagrams = backend.counters().get(io::DpdkCounter::Datagrams);
  }
  result.packets = packets;
  result.mpps = static_cast<double>(datagrams) / (static_cast<double>(now - start) / 1e9) / 1e6;
  result.forwarded = backend.counters().get(io::DpdkCounter::TxDatagrams);
  backend.stop();
  const io::DpdkCounterValues values = backend.counters();
  result.bad_checksums = values.values[static_cast<size_t>(io::DpdkCounter::BadChecksum)];
  std::printf("  dpdk counters:");
  for (size_t c = 0; c < io::kDpdkCounterCount; ++c) {
    if (values.values[c] != 0) {
      std::printf(" %s=%llu", std::string(io::dpdkCounterName(static_cast<io::DpdkCounter>(c))).c_str(),
                  static_cast<unsigned long long>(values.values[c]));
    }
  }
  std::printf("\n");
  if (fedByThread(feed)) {
    std::printf("  worker: %llu of %llu polls found the RX ring empty, %.2f%% of the interval; "
                "on CPU %.0f%% of it; %.3f Mpps per busy CPU second (less empty polls)\n",
                static_cast<unsigned long long>(result.empty_polls),
                static_cast<unsigned long long>(result.polls), 100.0 * result.worker_idle,
                100.0 * result.worker_on_cpu, result.busy_mpps);
    std::printf("  feed thread (CPU %d%s): %.3f Mpps fed (%llu frames), %.3f Mpps per second "
                "of bursts, on CPU %.0f%%; pool empty %llu times, ring full %llu frames\n",
                g_feed_cpu, result.feed_pinned ? "" : ", NOT pinned", result.feed_mpps,
                static_cast<unsigned long long>(result.fed), result.feed_busy_mpps,
                100.0 * result.feed_on_cpu, static_cast<unsigned long long>(result.pool_empty),
                static_cast<unsigned long long>(result.ring_full));
    // An empty poll is short (no frames, ~0.1 us) against a full one (32 frames, ~30 us), so
    // the share of time, not of polls, says whether the worker waited for the feed. Waiting
    // makes the wall-clock figure a floor on the worker's rate: say so rather than print a
    // starved number silently. The same when the worker lost its CPU to another process.
    if (result.worker_idle > 0.01 || result.worker_on_cpu < 0.97) {
      std::printf("  WARNING: the worker waited for frames %.1f%% of the interval and was on a "
                  "CPU %.0f%% of it: the wall-clock figure understates the worker; the "
                  "busy-second figure is its own rate\n",
                  100.0 * result.worker_idle, 100.0 * result.worker_on_cpu);
    }
  }
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
// `new_calls`: before each burst, its INVITEs get new Call-ID numbers (inside the timed loop,
// a few instructions each) and the affinity table is the daemon's default size.
RunResult runPipeline(double seconds, const std::vector<bench::Offered>& messages,
                      bool new_calls = false) {
  World world({"198.18.1.31:5060", "198.18.1.32:5060"}, {ep("198.18.0.1:5060")},
              new_calls ? kDaemonAffinityEntries : 1u << 12);
  auto pipeline = world.pipeline();
  TxBatch tx(64);
  std::vector<std::string> buffers;  // writable copies, for new_calls
  std::vector<bench::CallNumberAt> numbers;
  std::vector<RxPacket> packets(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    buffers.push_back(messages[i].payload);
    numbers.push_back(bench::findCallNumber(buffers.back()));
    if (new_calls && !numbers.back().found) {
      std::fprintf(stderr, "dpdk_replay: no Call-ID number to renumber\n");
      return {};
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    packets[i].data = reinterpret_cast<const uint8_t*>(buffers[i].data());
    packets[i].length = static_cast<uint32_t>(buffers[i].size());
    packets[i].source = messages[i].source;
  }
  uint64_t call = kFirstNewCall;
  uint64_t count = 0;
  size_t next = 0;
  const uint64_t start = nowNs();
  const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t now = start;
  while (now < deadline) {
    for (int round = 0; round < 64; ++round) {
      const size_t n = std::min<size_t>(32, packets.size() - next);
      if (new_calls) {
        for (size_t i = next; i < next + n; ++i) {
          bench::writeCallNumber(reinterpret_cast<uint8_t*>(buffers[i].data()), numbers[i],
                                 call++);
        }
      }
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

// renumberingChecks: renumberFrame's checksum equals one computed from scratch for the same
// new bytes, with the digits at an even and at an odd offset of the UDP segment.
bool renumberingChecks(const std::string& invite) {
  const net::Endpoint from = ep("198.18.0.2:5070");
  const net::Endpoint to = ep("198.18.0.1:5060");
  for (const std::string& payload : {invite, "x" + invite}) {
    Bytes frame = ipUdp(from, to, payload);
    const std::string_view bytes(reinterpret_cast<const char*>(frame.data()), frame.size());
    const bench::CallNumberAt at = bench::findCallNumber(bytes, 20);
    if (!at.found) {
      return false;
    }
    for (uint64_t number : {uint64_t{kFirstNewCall}, uint64_t{99'999'999}, uint64_t{12'345'670}}) {
      bench::renumberFrame(frame.data(), at, number);
      std::string renumbered = payload;
      bench::writeCallNumber(reinterpret_cast<uint8_t*>(renumbered.data()),
                             bench::findCallNumber(renumbered), number);
      const Bytes expected = ipUdp(from, to, renumbered);
      if (frame != expected) {
        return false;
      }
    }
  }
  return true;
}

// pickFeedCpu returns a CPU in `allowed` other than the one this thread runs on, or -1.
int pickFeedCpu(const cpu_set_t& allowed) {
  const int here = sched_getcpu();
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (cpu != here && CPU_ISSET(cpu, &allowed)) {
      return cpu;
    }
  }
  return -1;
}

void printFeedThread(const char* label, const RunResult& r) {
  std::printf("%s %6.3f Mpps per lcore (%llu forwarded; busy %.3f Mpps; feed %.3f Mpps)\n",
              label, r.mpps, static_cast<unsigned long long>(r.forwarded), r.busy_mpps,
              r.feed_mpps);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  // The CPUs this process may use, read before the EAL pins this thread to one of them.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  (void)sched_getaffinity(0, sizeof(allowed), &allowed);
  std::string why;
  if (!ealReady(&why)) {
    std::fprintf(stderr, "dpdk_replay: the EAL cannot start here: %s\n", why.c_str());
    return 77;
  }
  g_feed_cpu = pickFeedCpu(allowed);
  const std::vector<std::string> invite_texts = invites(2048);
  if (!renumberingChecks(invite_texts.front())) {
    std::fprintf(stderr, "dpdk_replay: renumbered frames do not match frames built anew\n");
    return 1;
  }
  const std::vector<bench::Offered> messages = bench::fromClient(invite_texts, ep("198.18.0.2:5070"));
  std::printf("INVITE of %zu bytes, %zu distinct Call-IDs, burst 32, %.1f s per run, "
              "checksum kernel %s, worker CPU %d, feed thread CPU %d\n",
              invite_texts[0].size(), invite_texts.size(), seconds,
              std::string(net::checksumIsaName(net::activeChecksumIsa())).c_str(),
              sched_getcpu(), g_feed_cpu);
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
  RunResult thread_copy;
  RunResult thread_in_place;
  RunResult thread_portable;
  if (g_feed_cpu < 0) {
    std::printf("feed thread runs skipped: this process may use only one CPU\n");
  } else {
    thread_copy = runDpdk(seconds, messages, Feed::Thread, false);
    printFeedThread("dpdk copy path, feed thread    ", thread_copy);
    thread_in_place = runDpdk(seconds, messages, Feed::Thread, true);
    printFeedThread("dpdk in place, feed thread     ", thread_in_place);
    const RunResult thread_dma = runDpdk(seconds, messages, Feed::ThreadDma, true);
    printFeedThread("dpdk in place, feed thread, frames written as by DMA", thread_dma);
    const RunResult thread_dma_copy = runDpdk(seconds, messages, Feed::ThreadDma, false);
    printFeedThread("dpdk copy path, feed thread, frames written as by DMA", thread_dma_copy);
    const RunResult nic_in_place = runDpdk(seconds, messages, Feed::Nic, true);
    printFeedThread("dpdk in place, NIC-like feed (worker-posted mbufs, frames as by DMA)",
                    nic_in_place);
    const RunResult nic_copy = runDpdk(seconds, messages, Feed::Nic, false);
    printFeedThread("dpdk copy path, NIC-like feed (worker-posted mbufs, frames as by DMA)",
                    nic_copy);
    const net::ChecksumIsa best = net::activeChecksumIsa();
    if (best != net::ChecksumIsa::Portable) {
      (void)net::setChecksumIsa(net::ChecksumIsa::Portable);
      thread_portable = runDpdk(seconds, messages, Feed::Thread, true);
      (void)net::setChecksumIsa(best);
      printFeedThread("  same, portable checksum      ", thread_portable);
      std::printf("%s / portable checksum (in place, feed thread) %.2fx, busy %.2fx\n",
                  std::string(net::checksumIsaName(best)).c_str(),
                  thread_in_place.mpps / std::max(thread_portable.mpps, 1e-9),
                  thread_in_place.busy_mpps / std::max(thread_portable.busy_mpps, 1e-9));
    }
    std::printf("feed thread / same-core feed (in place) %.2fx\n",
                thread_in_place.mpps / std::max(dpdk.mpps, 1e-9));
    // For information: a NIC with RX checksum offload marks the frames it verified, and the
    // worker then skips its own IPv4 and UDP checksum checks (net_ring verifies nothing).
    const RunResult thread_rx_offload =
        runDpdk(seconds, messages, Feed::Thread, true, false,
                RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    printFeedThread("dpdk in place, feed thread, RX checksums verified by the port",
                    thread_rx_offload);
    std::printf("port-verified / software RX checksums (in place, feed thread) busy %.2fx\n",
                thread_rx_offload.busy_mpps / std::max(thread_in_place.busy_mpps, 1e-9));
  }
  // Every INVITE a new call, the affinity table the daemon's default size (2^20 entries): the
  // rows above replay 2,048 calls that a 4,096-entry table keeps, so their dispatch always
  // finds the call; a live trunk's INVITEs never do.
  const RunResult pipeline_new = runPipeline(seconds, messages, true);
  std::printf("pipeline only, a new call per INVITE %6.3f Mpps\n", pipeline_new.mpps);
  if (g_feed_cpu >= 0) {
    const RunResult thread_new = runDpdk(seconds, messages, Feed::Thread, true, true);
    printFeedThread("dpdk in place, feed thread, a new call per INVITE", thread_new);
    if (thread_new.bad_checksums != 0) {
      std::printf("ERROR: the worker dropped %llu renumbered frames for their checksum\n",
                  static_cast<unsigned long long>(thread_new.bad_checksums));
      return 1;
    }
  }
  const RunResult uring = runUring(seconds, invite_texts);
  std::printf("io_uring loopback, 1 worker     %6.3f Mpps (%llu forwarded)\n", uring.mpps,
              static_cast<unsigned long long>(uring.forwarded));
  std::printf("dpdk/uring %.1fx, dpdk/pipeline %.2f\n", dpdk.mpps / std::max(uring.mpps, 1e-9),
              dpdk.mpps / std::max(pipeline_only.mpps, 1e-9));
  if (thread_in_place.mpps > 0) {
    std::printf("feed thread: dpdk/uring %.1fx, dpdk/pipeline %.2f (busy %.2f)\n",
                thread_in_place.mpps / std::max(uring.mpps, 1e-9),
                thread_in_place.mpps / std::max(pipeline_only.mpps, 1e-9),
                thread_in_place.busy_mpps / std::max(pipeline_only.mpps, 1e-9));
  }
  // Whole calls: INVITE, 100, 180, 200 (SDP), ACK, BYE, 200, both directions in one capture.
  World mix_world({"198.18.1.31:5060", "198.18.1.32:5060"}, {ep("198.18.0.1:5060")});
  auto mix_pipeline = mix_world.pipeline();
  const std::vector<bench::Offered> mix =
      bench::callMix(292, SIPSHIELD_CORPUS_DIR, ep(kMixClient), *mix_pipeline);
  if (mix.empty()) {
    std::printf("call mix skipped: it could not be built\n");
    return 1;
  }
  size_t mix_bytes = 0;
  for (const bench::Offered& o : mix) {
    mix_bytes += o.payload.size();
  }
  std::printf("call mix: %zu calls, 7 datagrams each (4 requests, 3 responses), %zu bytes on "
              "average\n", mix.size() / 7, mix_bytes / mix.size());
  const RunResult mix_pipeline_only = runPipeline(seconds, mix);
  std::printf("call mix, pipeline only         %6.3f Mpps\n", mix_pipeline_only.mpps);
  const RunResult mix_dpdk = runDpdk(seconds, mix, Feed::Fresh, true);
  std::printf("call mix, dpdk in place, fresh feed %6.3f Mpps per lcore (%llu forwarded)\n",
              mix_dpdk.mpps, static_cast<unsigned long long>(mix_dpdk.forwarded));
  if (g_feed_cpu >= 0) {
    const RunResult mix_thread = runDpdk(seconds, mix, Feed::Thread, true);
    printFeedThread("call mix, dpdk in place, feed thread", mix_thread);
  }
  return 0;
}
