#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "src/io/dpdk/dpdk_config.h"
#include "src/io/dpdk/dpdk_counters.h"
#include "src/io/dpdk/dpdk_layout.h"
#include "src/io/dpdk/next_hop_cache.h"
#include "src/net/neighbour_table.h"
#include "src/packet.h"
#include "src/status.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ip_frag_tbl;
struct rte_ip_frag_death_row;

namespace sipshield::io {

// DpdkWorker is one poll-mode loop: queue `queue` of every port, its own mbuf pool,
// reassembly table, TX staging and wait queue, and one BurstHandler. Per port and poll it
// receives one burst, answers ARP / neighbour solicitations / echo requests in the received
// mbuf, hands the SIP datagrams (pointing into the mbufs: zero copy, and lent for an in-place
// rewrite when the mbuf is single-segment, direct and not shared) to
// BurstHandler::processBurst once, and frames what the handler queued: a datagram rewritten in
// place gets its Ethernet/VLAN, IP and UDP headers prepended in its own mbuf, which is sent;
// others (copies, reassembled datagrams, anything to fragment above the MTU or whose headers
// do not fit the headroom) are framed into new mbufs. Checksums are offloaded when the port
// offers it, else software. Frames for us that are not SIP go to the port's exception TAP
// when it has one, and what the kernel sends there goes out of the port. Nothing in poll()
// allocates from the heap, locks or makes a system call (beyond the TAP's own writes).
//
// Threading: open() and poll()/run() on one thread; stop() and counters() from any thread.
class DpdkWorker {
 public:
  // DpdkWorker keeps references to `layout`, `neighbours` and `pool`, which must outlive it.
  // Does no I/O.
  DpdkWorker(const DpdkLayout& layout, const DpdkBackendConfig& config, uint16_t queue,
             rte_mempool* pool, net::NeighbourTable& neighbours);
  // ~DpdkWorker frees every mbuf it still holds and its reassembly table.
  ~DpdkWorker();
  DpdkWorker(const DpdkWorker&) = delete;
  DpdkWorker& operator=(const DpdkWorker&) = delete;

  // open allocates the reassembly table, TX batch and scratch buffers (once). Returns
  // kResourceExhausted when DPDK memory runs out.
  Status open();

  // poll runs one iteration: every port's RX queue once, the wait queue, TX. Returns the
  // number of frames received. `now_ns` is CLOCK_MONOTONIC.
  uint32_t poll(BurstHandler& handler, uint64_t now_ns);

  // run calls poll() until stop(), sleeping config.idle_sleep_us between empty polls once the
  // port has been quiet for a while, and calling BurstHandler::idle every idle_interval_ms.
  void run(BurstHandler& handler);

  // stop asks run() to return. Thread-safe, idempotent.
  void stop() { stop_.store(true, std::memory_order_release); }

  // counters returns a snapshot of this worker's counters. Thread-safe.
  [[nodiscard]] DpdkCounterValues counters() const { return counters_.snapshot(); }

 private:
  struct Waiting {
    rte_mbuf* frame;
    net::IpAddress next_hop;
    uint16_t port;
    uint64_t deadline_ms;
  };
  struct PortTx {
    std::vector<rte_mbuf*> frames;
    uint32_t count = 0;
  };

  void receive(uint32_t port_index, rte_mbuf* mbuf, uint64_t now_ms);
  void receiveArp(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset, uint64_t now_ms);
  void receiveIpv4(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset, uint64_t now_ms);
  void receiveIpv6(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset, uint64_t now_ms);
  void receiveIcmpv6(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset, uint64_t now_ms);
  // acceptUdp decodes the frame (or a reassembled copy) and appends an RxPacket when it is SIP
  // for one of our listen endpoints. `hold` is freed after the burst.
  // `reassembled`: `frame` is a reassembled copy (hold null); when it is not for the fast
  // path the kernel gets it in fragments (toKernelInFragments).
  void acceptUdp(const uint8_t* frame, uint32_t size, rte_mbuf* hold, bool checksum_known_good,
                 bool reassembled = false);
  // toKernelInFragments hands the whole IP packet in `frame` (a copy: the caller keeps it) to
  // port `port_index`'s exception path, cut to the TAP's MTU (net::planFragments); nothing
  // when the port has none or the packet cannot be cut.
  void toKernelInFragments(uint32_t port_index, const uint8_t* frame, uint32_t size);
  void reassembled(uint32_t port_index, rte_mbuf* whole);

  void transmitBatch(TxBatch& tx, uint64_t now_ms);
  void transmitDatagram(const TxPacket& packet, uint64_t now_ms);
  // frameInPlace turns the received mbuf of an in-place TxPacket into its frame (headers
  // prepended in the headroom in front of the rewritten message) in frames_[0] and returns 1;
  // 0 when it must be copied instead (fragmentation, headers do not fit), -1 when the packet
  // does not refer to a held mbuf of this burst (counted).
  int frameInPlace(uint32_t port_index, const net::Endpoint& source, const TxPacket& packet);
  // writeHeaders writes Ethernet (destination MAC zero), IP and UDP headers at `frame` for an
  // unfragmented datagram whose payload follows them, and sets `mbuf`'s TX checksum flags
  // from the port's offloads.
  // The UDP checksum skips the payload's last `known_tail` bytes, which add `known_tail_sum`.
  void writeHeaders(rte_mbuf* mbuf, uint8_t* frame, uint32_t port_index,
                    const net::Endpoint& source, const net::Endpoint& destination,
                    uint32_t payload_length, uint32_t known_tail = 0,
                    uint64_t known_tail_sum = 0);
  // reusableTail returns how many of the last bytes of in-place `packet` (rx_[index]
  // rewritten) can take their UDP checksum from the receive check, setting `sum` to what they
  // add there: those from net::kChecksumMarkBytes on, when the rewrite left them alone. 0
  // when none can (the port checked the datagram, it had no checksum, it was shorter, or the
  // rewrite reached past the mark).
  uint32_t reusableTail(const TxPacket& packet, ptrdiff_t index, uint64_t& sum);
  void releaseHeld();
  // toKernelOrFree hands a frame that is not for the fast path to port `port_index`'s TAP
  // (exception path; in fragments when it exceeds the TAP's MTU), or frees it when the port
  // has none.
  void toKernelOrFree(uint32_t port_index, rte_mbuf* mbuf);
  // enqueueToKernel queues `mbuf` for the TAP as it is (flushed with the burst).
  void enqueueToKernel(uint32_t port_index, rte_mbuf* mbuf);
  // frame builds the frames of one datagram into frames_[0..n) and returns n (0 on failure).
  uint32_t buildFrames(uint32_t port_index, const net::Endpoint& source, const TxPacket& packet);
  void sendOrWait(uint32_t port_index, const net::IpAddress& next_hop, rte_mbuf* frame,
                  uint64_t now_ms);
  void solicit(uint32_t port_index, const net::IpAddress& next_hop, uint64_t now_ms);
  void drainWaiting(uint64_t now_ms);
  void enqueueTx(uint32_t port_index, rte_mbuf* frame);
  void flushTx();
  rte_mbuf* allocFrame();

  const DpdkLayout& layout_;
  DpdkBackendConfig config_;
  uint16_t queue_;
  rte_mempool* pool_;
  net::NeighbourTable& neighbours_;
  NextHopCache next_hops_;
  std::atomic<bool> stop_{false};

  rte_ip_frag_tbl* frag_table_ = nullptr;
  std::unique_ptr<rte_ip_frag_death_row> death_row_;
  uint64_t tsc_hz_ = 0;

  std::unique_ptr<TxBatch> tx_;
  RxPacket rx_[kMaxBurst];
  uint32_t rx_count_ = 0;
  // rx_mbuf_[i] holds the mbuf rx_[i] points into (null for reassembled copies, or once an
  // in-place transmit took it over); the rest are freed after the burst is transmitted.
  rte_mbuf* rx_mbuf_[kMaxBurst];
  // rx_from_mark_[i]: what rx_[i]'s UDP bytes from net::kChecksumMarkBytes on added to the
  // checksum checked in software, for reusableTail; kNoSum when it was not (offloaded, absent
  // or a shorter datagram).
  static constexpr uint64_t kNoSum = ~uint64_t{0};
  uint64_t rx_from_mark_[kMaxBurst];
  rte_mbuf* burst_[kMaxBurst];
  // Reassembled datagrams are copied out of their mbuf chains into these (the pipeline needs
  // contiguous bytes); kScratchSlots per burst, more are counted and dropped.
  static constexpr uint32_t kScratchSlots = 4;
  static constexpr uint32_t kScratchBytes = 65536 + 128;
  std::unique_ptr<uint8_t[]> scratch_;
  uint32_t scratch_used_ = 0;

  std::vector<PortTx> port_tx_;
  std::vector<PortTx> exception_tx_;  // per port: frames for its TAP to the kernel
  uint32_t rx_port_ = 0;              // the port whose burst is being received
  std::vector<Waiting> waiting_;
  uint32_t waiting_count_ = 0;
  rte_mbuf* frames_[64];  // one datagram's fragments
  // A packet for the kernel is cut into at most this many fragments (64 kB at a 1,280-byte
  // TAP MTU fits; a tiny MTU that would need more is refused).
  static constexpr uint32_t kMaxKernelFragments = 64;
  uint16_t ip_id_ = 0;
  uint64_t last_idle_ns_ = 0;

  DpdkCounters counters_;
};

}  // namespace sipshield::io
