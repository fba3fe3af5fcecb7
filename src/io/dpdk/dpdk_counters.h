#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace sipshield::io {

// What happened to frames on the DPDK path, named for the event (STYLE.md "Counters, not
// logs"). One list makes the enum, the names and the per-worker counter array.
#define SIPSHIELD_DPDK_COUNTERS(X)                                                              \
  X(RxFrames, "rx_frames")                 /* frames received from the ports */               \
  X(TxFrames, "tx_frames")                 /* frames the ports accepted */                    \
  X(TxRefused, "tx_refused")               /* frames a full TX queue refused (freed) */       \
  X(Datagrams, "datagrams")                /* UDP datagrams handed to the pipeline */         \
  X(TxDatagrams, "tx_datagrams")           /* pipeline datagrams framed for transmit */       \
  X(Bursts, "bursts")                      /* processBurst calls */                           \
  X(Idle, "idle")                          /* BurstHandler::idle calls */                     \
  X(NotForFastPath, "not_for_fast_path")   /* ours but not SIP/UDP (TCP, other ports…) */     \
  X(NotOurs, "not_ours")                   /* another host's MAC or IP */                     \
  X(VlanMismatch, "vlan_mismatch")         /* tagged differently from the port's VLAN */      \
  X(Malformed, "malformed")                /* bad or truncated L2/L3/L4 header */             \
  X(BadChecksum, "bad_checksum")           /* IPv4 header or UDP checksum wrong */            \
  X(RxMultiSegment, "rx_multi_segment")    /* a frame larger than one mbuf (not fragments) */ \
  X(ArpRepliesSent, "arp_replies_sent")                                                       \
  X(ArpRequestsSent, "arp_requests_sent")                                                     \
  X(NeighbourAdvertsSent, "nd_adverts_sent")                                                  \
  X(NeighbourSolicitsSent, "nd_solicits_sent")                                                \
  X(NeighboursLearned, "neighbours_learned")                                                  \
  X(EchoReplies, "echo_replies")           /* ICMP and ICMPv6 echo answered */                \
  X(FragmentsReceived, "fragments_received")                                                  \
  X(Reassembled, "reassembled")            /* datagrams rebuilt from fragments */             \
  X(ReassemblyOverflow, "reassembly_overflow") /* more reassembled datagrams than scratch */   \
  X(FragmentsSent, "fragments_sent")       /* frames of datagrams larger than the MTU */      \
  X(NeighbourWaits, "neighbour_waits")     /* frames queued while ARP/ND resolves */          \
  X(NeighbourTimeouts, "neighbour_timeouts") /* queued frames dropped: no answer in time */   \
  X(NeighbourQueueFull, "neighbour_queue_full") /* dropped: the wait queue was full */        \
  X(NeighbourTableFull, "neighbour_table_full")                                               \
  X(NoRoute, "no_route")                   /* no on-link prefix and no gateway */             \
  X(MbufExhausted, "mbuf_exhausted")       /* the pool was empty */                           \
  X(SendErrors, "send_errors")             /* bad local_index, family or oversize datagram */ \
  X(TxInPlace, "tx_in_place")              /* datagrams sent in the mbuf they arrived in */   \
  X(TxCopied, "tx_copied")                 /* datagrams copied into new mbufs */              \
  X(TxChecksumReused, "tx_checksum_reused") /* in place: the body's UDP sum taken from RX */  \
  X(ToKernel, "to_kernel")                 /* not for the fast path: handed to the TAP */     \
  X(FromKernel, "from_kernel")             /* frames the kernel sent out through the TAP */

enum class DpdkCounter : uint8_t {
#define SIPSHIELD_DPDK_COUNTER_ENUM(name, text) name,
  SIPSHIELD_DPDK_COUNTERS(SIPSHIELD_DPDK_COUNTER_ENUM)
#undef SIPSHIELD_DPDK_COUNTER_ENUM
      Count
};

inline constexpr size_t kDpdkCounterCount = static_cast<size_t>(DpdkCounter::Count);

// dpdkCounterName returns the metric name of `counter`. Thread-safe.
[[nodiscard]] std::string_view dpdkCounterName(DpdkCounter counter);

// DpdkCounterValues is a plain snapshot (one worker's or a sum).
struct DpdkCounterValues {
  uint64_t values[kDpdkCounterCount] = {};

  [[nodiscard]] uint64_t get(DpdkCounter counter) const {
    return values[static_cast<size_t>(counter)];
  }
  DpdkCounterValues& operator+=(const DpdkCounterValues& other) {
    for (size_t i = 0; i < kDpdkCounterCount; ++i) {
      values[i] += other.values[i];
    }
    return *this;
  }
};

// DpdkCounters belong to one worker: it alone writes them (relaxed load + store, no locked
// instruction); any thread may read them.
struct alignas(64) DpdkCounters {
  std::atomic<uint64_t> values[kDpdkCounterCount] = {};

  void add(DpdkCounter counter, uint64_t n = 1) {
    auto& v = values[static_cast<size_t>(counter)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] DpdkCounterValues snapshot() const {
    DpdkCounterValues out;
    for (size_t i = 0; i < kDpdkCounterCount; ++i) {
      out.values[i] = values[i].load(std::memory_order_relaxed);
    }
    return out;
  }
};

}  // namespace sipshield::io
