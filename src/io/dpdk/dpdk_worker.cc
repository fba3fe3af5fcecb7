#include "src/io/dpdk/dpdk_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "src/net/checksum.h"
#include "src/net/neighbour_discovery.h"
#include "src/net/refragment.h"
#include "src/net/udp_decode.h"

namespace sipshield::io {
namespace {

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

net::IpAddress ipFrom(const uint8_t* bytes, uint8_t family) {
  net::IpAddress ip;
  ip.family = family;
  std::memcpy(ip.bytes, bytes, family == AF_INET ? 4 : 16);
  return ip;
}

bool onPort(const DpdkPortLayout& port, const uint8_t* ip, uint8_t family) {
  for (const DpdkAddress& a : port.addresses) {
    if (a.ip.family == family && std::memcmp(a.ip.bytes, ip, a.ip.size()) == 0) {
      return true;
    }
  }
  return false;
}

// The most of a frame prefetchFrame asks for: an MTU-sized frame. A jumbo frame's tail is
// left to the hardware prefetcher, which by then sees a stream.
constexpr uint32_t kPrefetchFrameBytes = 1536;

// How many frames ahead of the one being received prefetchFrame works: far enough for a
// frame's lines to come from memory while the frames before it are decoded and checksummed.
constexpr uint16_t kPrefetchAhead = 3;

// prefetchFrame asks for every cache line of a received frame, and for the two headroom lines
// an in-place rewrite moves the start line into, while the frames before it are decoded and
// checksummed. A NIC's frame arrives cold (DMA'd to memory, or written by another core in the
// replay bench), and with RX checksum offload the scanner would otherwise be the first to
// touch most of its lines, stalling on each in turn. (A prefetch never faults: with less
// headroom the second one is merely wasted.)
void prefetchFrame(const rte_mbuf* mbuf) {
  const auto* frame = rte_pktmbuf_mtod(mbuf, const uint8_t*);
  const uint32_t length = std::min<uint32_t>(mbuf->data_len, kPrefetchFrameBytes);
  for (uint32_t offset = 0; offset < length; offset += 64) {
    rte_prefetch0(frame + offset);
  }
  rte_prefetch0(frame - 64);
  rte_prefetch0(frame - 128);
}

// setLength makes a single-segment mbuf exactly `length` bytes long (a reply built in place).
void setLength(rte_mbuf* mbuf, uint32_t length) {
  mbuf->data_len = static_cast<uint16_t>(length);
  mbuf->pkt_len = length;
}

// swapMacs turns a received frame's Ethernet header around for a reply from `ours`.
void swapMacs(uint8_t* frame, const net::MacAddress& ours) {
  std::memcpy(frame, frame + 6, 6);
  std::memcpy(frame + 6, ours.bytes, 6);
}

// copyRange copies bytes [offset, offset+length) of the logical sequence header||payload.
void copyRange(uint8_t* out, const uint8_t* header, uint32_t header_length,
               const uint8_t* payload, uint32_t offset, uint32_t length) {
  if (offset < header_length) {
    const uint32_t n = std::min(length, header_length - offset);
    std::memcpy(out, header + offset, n);
    out += n;
    length -= n;
    offset = header_length;
  }
  std::memcpy(out, payload + (offset - header_length), length);
}

// l4Verified: the port checked the UDP checksum and found the datagram intact. NONE means the
// field was never filled in (a virtual device's peer offloaded it) but the data was verified
// (DPDK's definition), so it is as good as GOOD; UNKNOWN leaves the check to us.
bool l4Verified(uint64_t l4_flags) {
  return l4_flags == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4_flags == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

}  // namespace

DpdkWorker::DpdkWorker(const DpdkLayout& layout, const DpdkBackendConfig& config,
                       uint16_t queue, rte_mempool* pool, net::NeighbourTable& neighbours)
    : layout_(layout),
      config_(config),
      queue_(queue),
      pool_(pool),
      neighbours_(neighbours),
      next_hops_(layout, neighbours) {}

DpdkWorker::~DpdkWorker() {
  for (PortTx& port : exception_tx_) {
    rte_pktmbuf_free_bulk(port.frames.data(), port.count);
    port.count = 0;
  }
  for (PortTx& port : port_tx_) {
    rte_pktmbuf_free_bulk(port.frames.data(), port.count);
    port.count = 0;
  }
  for (uint32_t i = 0; i < waiting_count_; ++i) {
    rte_pktmbuf_free(waiting_[i].frame);
  }
  waiting_count_ = 0;
  if (frag_table_ != nullptr) {
    if (death_row_) {
      rte_ip_frag_free_death_row(death_row_.get(), 0);
    }
    rte_ip_frag_table_destroy(frag_table_);
  }
}

Status DpdkWorker::open() {
  tsc_hz_ = rte_get_tsc_hz();
  const uint32_t flows = std::max<uint32_t>(config_.reassembly_flows, 16);
  const uint64_t max_cycles = tsc_hz_ * config_.reassembly_timeout_ms / 1000;
  // 16 entries a bucket; flows/8 buckets leaves room for collisions at the configured flows.
  frag_table_ = rte_ip_frag_table_create(std::max<uint32_t>(flows / 8, 1), 16, flows,
                                         max_cycles, static_cast<int>(rte_socket_id()));
  if (frag_table_ == nullptr) {
    return Status(StatusCode::kResourceExhausted,
                  "worker " + std::to_string(queue_) + ": rte_ip_frag_table_create failed");
  }
  death_row_ = std::make_unique<rte_ip_frag_death_row>();
  std::memset(death_row_.get(), 0, sizeof(rte_ip_frag_death_row));
  tx_ = std::make_unique<TxBatch>(config_.tx_slots);
  scratch_ = std::make_unique<uint8_t[]>(static_cast<size_t>(kScratchSlots) * kScratchBytes);
  port_tx_.resize(layout_.ports.size());
  for (PortTx& port : port_tx_) {
    port.frames.assign(512, nullptr);
  }
  exception_tx_.resize(layout_.ports.size());
  for (PortTx& port : exception_tx_) {
    port.frames.assign(std::max<uint32_t>(config_.burst * 2, 64), nullptr);
  }
  waiting_.assign(std::max<uint32_t>(config_.pending_capacity, 1), Waiting{});
  ip_id_ = static_cast<uint16_t>(queue_ * 7919u);
  return Status::ok();
}

rte_mbuf* DpdkWorker::allocFrame() {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr) {
    counters_.add(DpdkCounter::MbufExhausted);
  }
  return mbuf;
}

void DpdkWorker::enqueueTx(uint32_t port_index, rte_mbuf* frame) {
  PortTx& port = port_tx_[port_index];
  if (port.count == port.frames.size()) {
    flushTx();
  }
  port.frames[port.count++] = frame;
}

void DpdkWorker::toKernelOrFree(uint32_t port_index, rte_mbuf* mbuf) {
  const DpdkPortLayout& port = layout_.ports[port_index];
  if (port.exception_port_id < 0) {
    rte_pktmbuf_free(mbuf);
    return;
  }
  // The TAP drops frames above its MTU: a packet the host kernel of an af_packet peer
  // reassembled (or a jumbo one) goes in fragments the kernel reassembles.
  if (mbuf->nb_segs == 1 &&
      mbuf->data_len > net::kEthernetHeaderBytes + port.exception_mtu) {
    const auto* frame = rte_pktmbuf_mtod(mbuf, const uint8_t*);
    net::L2Frame l2;
    if (net::parseEthernet(frame, mbuf->data_len, l2) &&
        mbuf->data_len - l2.l3_offset > port.exception_mtu) {
      toKernelInFragments(port_index, frame, mbuf->data_len);
      rte_pktmbuf_free(mbuf);
      return;
    }
  }
  enqueueToKernel(port_index, mbuf);
}

void DpdkWorker::enqueueToKernel(uint32_t port_index, rte_mbuf* mbuf) {
  PortTx& tap = exception_tx_[port_index];
  if (tap.count == tap.frames.size()) {
    flushTx();
  }
  tap.frames[tap.count++] = mbuf;
  counters_.add(DpdkCounter::ToKernel);
}

void DpdkWorker::flushTx() {
  for (size_t p = 0; p < exception_tx_.size(); ++p) {
    PortTx& tap = exception_tx_[p];
    if (tap.count == 0) {
      continue;
    }
    const uint16_t sent = rte_eth_tx_burst(
        static_cast<uint16_t>(layout_.ports[p].exception_port_id), queue_, tap.frames.data(),
        static_cast<uint16_t>(tap.count));
    if (sent < tap.count) {
      counters_.add(DpdkCounter::TxRefused, tap.count - sent);
      rte_pktmbuf_free_bulk(tap.frames.data() + sent, tap.count - sent);
    }
    tap.count = 0;
  }
  for (size_t p = 0; p < port_tx_.size(); ++p) {
    PortTx& port = port_tx_[p];
    uint32_t sent = 0;
    // A few retries ride out a TX ring that is momentarily full; then we drop, never block.
    for (int attempt = 0; attempt < 4 && sent < port.count; ++attempt) {
      sent += rte_eth_tx_burst(layout_.ports[p].port_id, queue_, port.frames.data() + sent,
                               static_cast<uint16_t>(port.count - sent));
    }
    counters_.add(DpdkCounter::TxFrames, sent);
    if (sent < port.count) {
      counters_.add(DpdkCounter::TxRefused, port.count - sent);
      rte_pktmbuf_free_bulk(port.frames.data() + sent, port.count - sent);
    }
    port.count = 0;
  }
}

uint32_t DpdkWorker::poll(BurstHandler& handler, uint64_t now_ns) {
  const uint64_t now_ms = now_ns / 1000000;
  uint32_t total = 0;
  for (uint32_t p = 0; p < layout_.ports.size(); ++p) {
    const uint16_t n = rte_eth_rx_burst(layout_.ports[p].port_id, queue_, burst_,
                                        static_cast<uint16_t>(config_.burst));
    if (n == 0) {
      continue;
    }
    total += n;
    counters_.add(DpdkCounter::RxFrames, n);
    rx_port_ = p;
    rx_count_ = 0;
    scratch_used_ = 0;
    for (uint16_t i = 0; i < std::min<uint16_t>(n, kPrefetchAhead); ++i) {
      prefetchFrame(burst_[i]);
    }
    for (uint16_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) {
        prefetchFrame(burst_[i + kPrefetchAhead]);
      }
      receive(p, burst_[i], now_ms);
    }
    if (rx_count_ > 0) {
      counters_.add(DpdkCounter::Bursts);
      counters_.add(DpdkCounter::Datagrams, rx_count_);
      handler.processBurst(std::span<const RxPacket>(rx_, rx_count_), *tx_, now_ns);
    }
    // In-place datagrams take their mbufs over; copied ones read the received bytes, so the
    // held mbufs go back only after the batch is framed.
    transmitBatch(*tx_, now_ms);
    releaseHeld();
    rte_ip_frag_free_death_row(death_row_.get(), 3);
  }
  // What the kernel sends out of the exception TAPs leaves by their ports, as it is.
  for (uint32_t p = 0; p < layout_.ports.size(); ++p) {
    if (layout_.ports[p].exception_port_id < 0) {
      continue;
    }
    const uint16_t n = rte_eth_rx_burst(static_cast<uint16_t>(layout_.ports[p].exception_port_id),
                                        queue_, burst_, static_cast<uint16_t>(config_.burst));
    counters_.add(DpdkCounter::FromKernel, n);
    for (uint16_t i = 0; i < n; ++i) {
      enqueueTx(p, burst_[i]);
    }
  }
  if (waiting_count_ > 0) {
    drainWaiting(now_ms);
  }
  flushTx();
  return total;
}

void DpdkWorker::run(BurstHandler& handler) {
  uint32_t empty_polls = 0;
  last_idle_ns_ = monotonicNs();
  const uint64_t idle_interval_ns = static_cast<uint64_t>(config_.idle_interval_ms) * 1000000;
  while (!stop_.load(std::memory_order_acquire)) {
    const uint64_t now_ns = monotonicNs();
    if (now_ns - last_idle_ns_ >= idle_interval_ns) {
      last_idle_ns_ = now_ns;
      counters_.add(DpdkCounter::Idle);
      handler.idle(*tx_, now_ns);
      transmitBatch(*tx_, now_ns / 1000000);
      flushTx();
    }
    if (poll(handler, now_ns) > 0) {
      empty_polls = 0;
      continue;
    }
    // Sleeping is the one system call of the loop, and only when nothing arrives.
    if (config_.idle_sleep_us > 0 && ++empty_polls >= 1024) {
      const timespec pause{0, static_cast<long>(config_.idle_sleep_us) * 1000};
      nanosleep(&pause, nullptr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Receive

void DpdkWorker::receive(uint32_t port_index, rte_mbuf* mbuf, uint64_t now_ms) {
  if (mbuf->nb_segs != 1) {
    counters_.add(DpdkCounter::RxMultiSegment);
    rte_pktmbuf_free(mbuf);
    return;
  }
  const uint8_t* frame = rte_pktmbuf_mtod(mbuf, const uint8_t*);
  net::L2Frame l2;
  if (!net::parseEthernet(frame, mbuf->data_len, l2)) {
    counters_.add(DpdkCounter::Malformed);
    rte_pktmbuf_free(mbuf);
    return;
  }
  const DpdkPortLayout& port = layout_.ports[port_index];
  if (l2.vlan != port.vlan) {
    counters_.add(DpdkCounter::VlanMismatch);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (!l2.destination.isMulticast() && !(l2.destination == port.mac)) {
    counters_.add(DpdkCounter::NotOurs);
    rte_pktmbuf_free(mbuf);
    return;
  }
  switch (l2.ether_type) {
    case net::kEtherTypeIpv4:
      receiveIpv4(port_index, mbuf, l2.l3_offset, now_ms);
      return;
    case net::kEtherTypeIpv6:
      receiveIpv6(port_index, mbuf, l2.l3_offset, now_ms);
      return;
    case net::kEtherTypeArp:
      receiveArp(port_index, mbuf, l2.l3_offset, now_ms);
      return;
    default:
      counters_.add(DpdkCounter::NotForFastPath);
      toKernelOrFree(port_index, mbuf);
      return;
  }
}

void DpdkWorker::receiveArp(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset,
                            uint64_t now_ms) {
  uint8_t* frame = rte_pktmbuf_mtod(mbuf, uint8_t*);
  net::ArpMessage arp;
  if (!net::parseArp(frame + l3_offset, mbuf->data_len - l3_offset, arp)) {
    counters_.add(DpdkCounter::Malformed);
    rte_pktmbuf_free(mbuf);
    return;
  }
  const DpdkPortLayout& port = layout_.ports[port_index];
  const bool for_us = onPort(port, arp.target_ip, AF_INET);
  const net::IpAddress sender = ipFrom(arp.sender_ip, AF_INET);
  // RFC 826 merge: refresh any host we know; create entries only for hosts talking to us.
  // A sender of 0.0.0.0 is an address probe (RFC 5227), nothing to learn.
  if (std::memcmp(arp.sender_ip, "\0\0\0\0", 4) != 0 && !arp.sender_mac.isMulticast()) {
    if (for_us) {
      if (neighbours_.learn(sender, arp.sender_mac, now_ms)) {
        counters_.add(DpdkCounter::NeighboursLearned);
      } else {
        counters_.add(DpdkCounter::NeighbourTableFull);
      }
    } else {
      (void)neighbours_.update(sender, arp.sender_mac, now_ms);
    }
  }
  if (arp.op != net::kArpRequest || !for_us) {
    counters_.add(for_us ? DpdkCounter::NotForFastPath : DpdkCounter::NotOurs,
                  arp.op == net::kArpRequest ? 1 : 0);
    // The kernel behind the exception path resolves its own next hops: give it the answers.
    if (for_us && arp.op == net::kArpReply) {
      toKernelOrFree(port_index, mbuf);
    } else {
      rte_pktmbuf_free(mbuf);
    }
    return;
  }
  net::ArpMessage reply;
  reply.op = net::kArpReply;
  reply.sender_mac = port.mac;
  std::memcpy(reply.sender_ip, arp.target_ip, 4);
  reply.target_mac = arp.sender_mac;
  std::memcpy(reply.target_ip, arp.sender_ip, 4);
  (void)net::writeArp(frame + l3_offset, reply);
  std::memcpy(frame, arp.sender_mac.bytes, 6);
  std::memcpy(frame + 6, port.mac.bytes, 6);
  setLength(mbuf, l3_offset + net::kArpBytes);
  counters_.add(DpdkCounter::ArpRepliesSent);
  enqueueTx(port_index, mbuf);
}

void DpdkWorker::receiveIpv4(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset,
                             uint64_t /*now_ms*/) {
  uint8_t* frame = rte_pktmbuf_mtod(mbuf, uint8_t*);
  uint8_t* ip = frame + l3_offset;
  const uint32_t available = mbuf->data_len - l3_offset;
  if (available < net::kIpv4HeaderBytes) {
    counters_.add(DpdkCounter::Malformed);
    rte_pktmbuf_free(mbuf);
    return;
  }
  const uint32_t header_length = (ip[0] & 0x0Fu) * 4u;
  const uint32_t total_length = net::load16(ip + 2);
  if ((ip[0] >> 4) != 4 || header_length < net::kIpv4HeaderBytes ||
      total_length < header_length || total_length > available) {
    counters_.add(DpdkCounter::Malformed);
    rte_pktmbuf_free(mbuf);
    return;
  }
  // The port's verdict when it checked the header (RX offload), else ours (0: it matches).
  // NONE: the field is not filled in but the port verified the header (DPDK's definition).
  const uint64_t ip_verdict = mbuf->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip_verdict == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
      (ip_verdict == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN &&
       net::ipv4HeaderChecksum(ip, header_length) != 0)) {
    counters_.add(DpdkCounter::BadChecksum);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (!layout_.isOurs(ip + 16, AF_INET)) {
    counters_.add(DpdkCounter::NotOurs);
    rte_pktmbuf_free(mbuf);
    return;
  }
  // Ethernet pads short frames to 60 bytes: the IP length is the truth.
  const uint32_t frame_length = l3_offset + total_length;
  if (mbuf->data_len > frame_length) {
    setLength(mbuf, frame_length);
  }
  if ((net::load16(ip + 6) & 0x3FFF) != 0) {
    counters_.add(DpdkCounter::FragmentsReceived);
    mbuf->l2_len = l3_offset;
    mbuf->l3_len = header_length;
    rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(
        frag_table_, death_row_.get(), mbuf, rte_rdtsc(), reinterpret_cast<rte_ipv4_hdr*>(ip));
    if (whole != nullptr) {
      reassembled(port_index, whole);
    }
    return;
  }
  const uint8_t protocol = ip[9];
  if (protocol == net::kIpProtoUdp) {
    const uint64_t l4 = mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
      counters_.add(DpdkCounter::BadChecksum);
      rte_pktmbuf_free(mbuf);
      return;
    }
    acceptUdp(frame, frame_length, mbuf, l4Verified(l4));
    return;
  }
  if (protocol == net::kIpProtoIcmp &&
      net::icmpEchoToReply(ip + header_length, total_length - header_length)) {
    uint8_t source[4];
    std::memcpy(source, ip + 12, 4);
    std::memcpy(ip + 12, ip + 16, 4);
    std::memcpy(ip + 16, source, 4);
    ip[8] = 64;
    net::store16(ip + 10, 0);
    net::store16(ip + 10, net::ipv4HeaderChecksum(ip, header_length));
    swapMacs(frame, layout_.ports[port_index].mac);
    counters_.add(DpdkCounter::EchoReplies);
    enqueueTx(port_index, mbuf);
    return;
  }
  counters_.add(DpdkCounter::NotForFastPath);
  toKernelOrFree(port_index, mbuf);
}

void DpdkWorker::receiveIpv6(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset,
                             uint64_t now_ms) {
  uint8_t* frame = rte_pktmbuf_mtod(mbuf, uint8_t*);
  uint8_t* ip = frame + l3_offset;
  const uint32_t available = mbuf->data_len - l3_offset;
  if (available < net::kIpv6HeaderBytes || (ip[0] >> 4) != 6 ||
      net::kIpv6HeaderBytes + net::load16(ip + 4) > available) {
    counters_.add(DpdkCounter::Malformed);
    rte_pktmbuf_free(mbuf);
    return;
  }
  const uint32_t frame_length = l3_offset + net::kIpv6HeaderBytes + net::load16(ip + 4);
  if (mbuf->data_len > frame_length) {
    setLength(mbuf, frame_length);
  }
  const uint8_t next = ip[6];
  if (next == net::kIpProtoIcmpv6) {
    receiveIcmpv6(port_index, mbuf, l3_offset, now_ms);
    return;
  }
  if (!layout_.isOurs(ip + 24, AF_INET6)) {
    counters_.add(DpdkCounter::NotOurs);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (next == net::kIpProtoFragment && frame_length >= l3_offset + 48) {
    counters_.add(DpdkCounter::FragmentsReceived);
    mbuf->l2_len = l3_offset;
    mbuf->l3_len = net::kIpv6HeaderBytes + 8;
    rte_mbuf* whole = rte_ipv6_frag_reassemble_packet(
        frag_table_, death_row_.get(), mbuf, rte_rdtsc(), reinterpret_cast<rte_ipv6_hdr*>(ip),
        reinterpret_cast<rte_ipv6_fragment_ext*>(ip + net::kIpv6HeaderBytes));
    if (whole != nullptr) {
      reassembled(port_index, whole);
    }
    return;
  }
  const uint64_t l4 = mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
    counters_.add(DpdkCounter::BadChecksum);
    rte_pktmbuf_free(mbuf);
    return;
  }
  acceptUdp(frame, frame_length, mbuf, l4Verified(l4));
}

void DpdkWorker::receiveIcmpv6(uint32_t port_index, rte_mbuf* mbuf, uint32_t l3_offset,
                               uint64_t now_ms) {
  uint8_t* frame = rte_pktmbuf_mtod(mbuf, uint8_t*);
  uint8_t* ip = frame + l3_offset;
  uint8_t* icmp = ip + net::kIpv6HeaderBytes;
  const uint32_t length = net::load16(ip + 4);
  const net::IpAddress source = ipFrom(ip + 8, AF_INET6);
  const net::IpAddress destination = ipFrom(ip + 24, AF_INET6);
  const DpdkPortLayout& port = layout_.ports[port_index];
  if (length < 8 ||
      net::checksumFold(net::checksumAdd(
          icmp, length, net::pseudoHeaderSum(source, destination, net::kIpProtoIcmpv6,
                                             length))) != 0) {
    counters_.add(DpdkCounter::BadChecksum);
    rte_pktmbuf_free(mbuf);
    return;
  }
  net::NeighbourMessage nd;
  if (icmp[0] == net::kIcmpv6NeighbourSolicitation ||
      icmp[0] == net::kIcmpv6NeighbourAdvertisement) {
    // RFC 4861 §7.1: neighbour discovery must come from the link itself (hop limit 255).
    if (ip[7] != 255 || !net::parseNeighbourMessage(icmp, length, nd)) {
      counters_.add(DpdkCounter::Malformed);
      rte_pktmbuf_free(mbuf);
      return;
    }
    const bool unspecified = source == net::IpAddress{AF_INET6, {}};
    if (nd.type == net::kIcmpv6NeighbourAdvertisement) {
      if (nd.has_link_address) {
        (void)neighbours_.update(nd.target, nd.link_address, now_ms);
      }
      counters_.add(DpdkCounter::NotForFastPath);
      toKernelOrFree(port_index, mbuf);
      return;
    }
    if (!onPort(port, nd.target.bytes, AF_INET6)) {
      counters_.add(DpdkCounter::NotOurs);
      rte_pktmbuf_free(mbuf);
      return;
    }
    if (!unspecified && nd.has_link_address) {
      if (neighbours_.learn(source, nd.link_address, now_ms)) {
        counters_.add(DpdkCounter::NeighboursLearned);
      }
    }
    // Answer to the soliciting host, or to all nodes for duplicate address detection.
    net::IpAddress reply_to = source;
    net::MacAddress reply_mac = nd.has_link_address ? nd.link_address
                                                    : net::MacAddress{};
    if (unspecified) {
      reply_to = net::IpAddress{AF_INET6, {0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
      reply_mac = net::MacAddress::ipv6Multicast(reply_to);
    } else if (!nd.has_link_address) {
      std::memcpy(reply_mac.bytes, frame + 6, 6);
    }
    if (rte_pktmbuf_tailroom(mbuf) + mbuf->data_len <
        l3_offset + net::kIpv6HeaderBytes + net::kNeighbourMessageBytes) {
      counters_.add(DpdkCounter::Malformed);
      rte_pktmbuf_free(mbuf);
      return;
    }
    (void)net::writeIpv6(ip, nd.target.bytes, reply_to.bytes, net::kIpProtoIcmpv6, 255,
                         net::kNeighbourMessageBytes);
    (void)net::writeNeighbourMessage(icmp, net::kIcmpv6NeighbourAdvertisement, nd.target,
                                     reply_to, nd.target, port.mac, !unspecified);
    std::memcpy(frame, reply_mac.bytes, 6);
    std::memcpy(frame + 6, port.mac.bytes, 6);
    setLength(mbuf, l3_offset + net::kIpv6HeaderBytes + net::kNeighbourMessageBytes);
    counters_.add(DpdkCounter::NeighbourAdvertsSent);
    enqueueTx(port_index, mbuf);
    return;
  }
  if (icmp[0] == net::kIcmpv6EchoRequest && layout_.isOurs(destination.bytes, AF_INET6) &&
      net::icmpv6EchoToReply(icmp, length, destination, source)) {
    std::memcpy(ip + 8, destination.bytes, 16);
    std::memcpy(ip + 24, source.bytes, 16);
    ip[7] = 64;
    swapMacs(frame, port.mac);
    counters_.add(DpdkCounter::EchoReplies);
    enqueueTx(port_index, mbuf);
    return;
  }
  counters_.add(DpdkCounter::NotForFastPath);
  toKernelOrFree(port_index, mbuf);
}

void DpdkWorker::reassembled(uint32_t /*port_index*/, rte_mbuf* whole) {
  counters_.add(DpdkCounter::Reassembled);
  if (scratch_used_ == kScratchSlots || whole->pkt_len > kScratchBytes) {
    counters_.add(DpdkCounter::ReassemblyOverflow);
    rte_pktmbuf_free(whole);
    return;
  }
  // The pipeline reads a datagram as one span: copy the chain out (fragments are rare).
  uint8_t* out = scratch_.get() + static_cast<size_t>(scratch_used_++) * kScratchBytes;
  uint32_t length = 0;
  for (const rte_mbuf* segment = whole; segment != nullptr; segment = segment->next) {
    std::memcpy(out + length, rte_pktmbuf_mtod(segment, const uint8_t*), segment->data_len);
    length += segment->data_len;
  }
  rte_pktmbuf_free(whole);
  acceptUdp(out, length, nullptr, false, true);
}

void DpdkWorker::toKernelInFragments(uint32_t port_index, const uint8_t* frame,
                                     uint32_t size) {
  const DpdkPortLayout& port = layout_.ports[port_index];
  net::L2Frame l2;
  net::FragmentPlan plan;
  if (port.exception_port_id < 0 || !net::parseEthernet(frame, size, l2) ||
      !net::planFragments(frame, size, l2.l3_offset, port.exception_mtu, plan) ||
      plan.count > kMaxKernelFragments) {
    return;  // no kernel path, or nothing a kernel would take: counted by the caller
  }
  const uint32_t ident = (static_cast<uint32_t>(queue_) << 16) | ip_id_++;
  for (uint32_t i = 0; i < plan.count; ++i) {
    rte_mbuf* mbuf = allocFrame();
    auto* data = mbuf == nullptr ? nullptr
                                 : reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
                                       mbuf, static_cast<uint16_t>(net::fragmentFrameBytes(plan, i))));
    if (data == nullptr) {
      if (mbuf != nullptr) {
        rte_pktmbuf_free(mbuf);
      }
      counters_.add(DpdkCounter::SendErrors);
      return;
    }
    net::writeFragment(frame, plan, i, ident, data);
    std::memcpy(data, port.exception_mac.bytes, 6);
    enqueueToKernel(port_index, mbuf);
  }
}

void DpdkWorker::acceptUdp(const uint8_t* frame, uint32_t size, rte_mbuf* hold,
                           bool checksum_known_good, bool reassembled) {
  net::UdpDatagram datagram;
  const net::DecodeStatus status = net::decodeUdp(net::LinkType::Ethernet, frame, size, datagram);
  DpdkCounter verdict = DpdkCounter::Count;
  uint64_t from_mark = kNoSum;
  if (status == net::DecodeStatus::NotUdp || status == net::DecodeStatus::Fragment) {
    verdict = DpdkCounter::NotForFastPath;
  } else if (status != net::DecodeStatus::Ok) {
    verdict = DpdkCounter::Malformed;
  } else if (!checksum_known_good) {
    const uint8_t* udp = datagram.payload - net::kUdpHeaderBytes;
    const bool absent = net::load16(udp + 6) == 0;
    // A zero checksum means "none" on IPv4 only (RFC 768; RFC 8200 §8.1 forbids it on IPv6).
    if (absent && datagram.source.ip.isV6()) {
      verdict = DpdkCounter::BadChecksum;
    } else if (!absent) {
      const uint32_t udp_length = datagram.length + net::kUdpHeaderBytes;
      uint64_t at_mark;
      const uint64_t sum = net::checksumAddMarked(
          udp, udp_length,
          net::pseudoHeaderSum(datagram.source.ip, datagram.destination.ip, net::kIpProtoUdp,
                               udp_length),
          at_mark);
      if (net::checksumFold(sum) != 0) {
        verdict = DpdkCounter::BadChecksum;
      } else if (udp_length > net::kChecksumMarkBytes) {
        from_mark = net::checksumSubtract(sum, at_mark);
      }
    }
  }
  int local = -1;
  if (verdict == DpdkCounter::Count) {
    local = layout_.listenIndex(datagram.destination);
    if (local < 0) {
      verdict = DpdkCounter::NotForFastPath;
    }
  }
  if (verdict != DpdkCounter::Count) {
    counters_.add(verdict);
    if (hold != nullptr && verdict == DpdkCounter::NotForFastPath) {
      toKernelOrFree(rx_port_, hold);  // TCP, other UDP ports, other protocols to our IP
    } else if (hold != nullptr) {
      rte_pktmbuf_free(hold);
    }
    if (reassembled && verdict == DpdkCounter::NotForFastPath) {
      // Not SIP for us (a big probe answer, a DNS answer to the host, a large ping): the
      // kernel reassembles it again from fragments that fit the TAP.
      toKernelInFragments(rx_port_, frame, size);
    }
    return;
  }
  rx_mbuf_[rx_count_] = hold;
  rx_from_mark_[rx_count_] = from_mark;
  RxPacket& packet = rx_[rx_count_++];
  packet.data = datagram.payload;
  packet.length = datagram.length;
  packet.source = datagram.source;
  packet.local_index = static_cast<uint8_t>(local);
  packet.ttl = datagram.ttl;
  packet.writable = nullptr;
  packet.headroom = 0;
  packet.tailroom = 0;
  // Lend the mbuf for an in-place rewrite only when nobody else sees its bytes: one segment,
  // direct, one reference (a clone or a shared feed must not change under its other owner).
  if (config_.in_place_tx && hold != nullptr && hold->nb_segs == 1 && RTE_MBUF_DIRECT(hold) &&
      rte_mbuf_refcnt_read(hold) == 1) {
    auto* buffer = static_cast<uint8_t*>(hold->buf_addr);
    auto* payload = rte_pktmbuf_mtod(hold, uint8_t*) + (datagram.payload - frame);
    // Headroom: what is free before the frame, so headers the size of the received ones fit
    // in front of a message that grew by that much. Tailroom: to the end of the buffer.
    packet.writable = payload;
    packet.headroom = hold->data_off;
    packet.tailroom = static_cast<uint16_t>(
        std::min<size_t>(buffer + hold->buf_len - (payload + datagram.length), UINT16_MAX));
  }
}

void DpdkWorker::releaseHeld() {
  uint32_t count = 0;
  for (uint32_t i = 0; i < rx_count_; ++i) {
    if (rx_mbuf_[i] != nullptr) {
      burst_[count++] = rx_mbuf_[i];
      rx_mbuf_[i] = nullptr;
    }
  }
  if (count > 0) {
    rte_pktmbuf_free_bulk(burst_, count);
  }
  rx_count_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Transmit

void DpdkWorker::transmitBatch(TxBatch& tx, uint64_t now_ms) {
  for (const TxPacket& packet : tx.ready()) {
    transmitDatagram(packet, now_ms);
  }
  tx.clear();
}

void DpdkWorker::transmitDatagram(const TxPacket& packet, uint64_t now_ms) {
  if (packet.local_index >= layout_.listen.size() ||
      layout_.listen[packet.local_index].ip.family != packet.destination.ip.family) {
    counters_.add(DpdkCounter::SendErrors);
    return;
  }
  const net::Endpoint& source = layout_.listen[packet.local_index];
  net::IpAddress next_hop;
  net::MacAddress mac;
  bool has_mac = false;
  const int port_index = next_hops_.route(packet.destination.ip, next_hop, mac, has_mac);
  if (port_index < 0) {
    counters_.add(DpdkCounter::NoRoute);
    return;
  }
  uint32_t count = 0;
  if (packet.in_place_of != nullptr) {
    const int framed = frameInPlace(static_cast<uint32_t>(port_index), source, packet);
    if (framed < 0) {
      return;
    }
    count = static_cast<uint32_t>(framed);
    if (count > 0) {
      counters_.add(DpdkCounter::TxInPlace);
    }
  }
  if (count == 0) {
    // Copy path: the bytes may still be in a received mbuf, which is released after the batch.
    count = buildFrames(static_cast<uint32_t>(port_index), source, packet);
    if (count == 0) {
      return;
    }
    counters_.add(DpdkCounter::TxCopied);
  }
  counters_.add(DpdkCounter::TxDatagrams);
  if (count > 1) {
    counters_.add(DpdkCounter::FragmentsSent, count);
  }
  if (has_mac) {
    for (uint32_t i = 0; i < count; ++i) {
      std::memcpy(rte_pktmbuf_mtod(frames_[i], uint8_t*), mac.bytes, 6);
      enqueueTx(static_cast<uint32_t>(port_index), frames_[i]);
    }
    return;
  }
  for (uint32_t i = 0; i < count; ++i) {
    sendOrWait(static_cast<uint32_t>(port_index), next_hop, frames_[i], now_ms);
  }
  solicit(static_cast<uint32_t>(port_index), next_hop, now_ms);
}

int DpdkWorker::frameInPlace(uint32_t port_index, const net::Endpoint& source,
                             const TxPacket& packet) {
  const ptrdiff_t index = packet.in_place_of - rx_;
  rte_mbuf* mbuf = index >= 0 && index < static_cast<ptrdiff_t>(rx_count_)
                       ? rx_mbuf_[index]
                       : nullptr;
  if (mbuf == nullptr) {
    counters_.add(DpdkCounter::SendErrors);  // not this burst's, or already transmitted
    return -1;
  }
  auto* buffer = static_cast<uint8_t*>(mbuf->buf_addr);
  if (packet.data < buffer || packet.data + packet.length > buffer + mbuf->buf_len) {
    counters_.add(DpdkCounter::SendErrors);
    return -1;
  }
  const DpdkPortLayout& port = layout_.ports[port_index];
  const uint32_t l3_length = source.ip.isV4() ? net::kIpv4HeaderBytes : net::kIpv6HeaderBytes;
  const uint32_t headers = datagramHeaderBytes(source.ip.isV4(), port.vlan);
  if (l3_length + net::kUdpHeaderBytes + packet.length > layout_.mtu ||
      packet.data - buffer < static_cast<ptrdiff_t>(headers)) {
    return 0;  // fragments, or a VLAN tag / IPv6 header the headroom cannot take: copy
  }
  uint8_t* frame = packet.data - headers;
  mbuf->data_off = static_cast<uint16_t>(frame - buffer);
  mbuf->data_len = static_cast<uint16_t>(headers + packet.length);
  mbuf->pkt_len = headers + packet.length;
  uint64_t tail_sum = 0;
  const uint32_t tail = port.tx_checksums.udp ? 0 : reusableTail(packet, index, tail_sum);
  writeHeaders(mbuf, frame, port_index, source, packet.destination, packet.length, tail,
               tail_sum);
  rx_mbuf_[index] = nullptr;  // transmitted: not freed with the burst
  frames_[0] = mbuf;
  return 1;
}

uint32_t DpdkWorker::reusableTail(const TxPacket& packet, ptrdiff_t index, uint64_t& sum) {
  const RxPacket& received = rx_[index];
  const uint64_t from_mark = rx_from_mark_[index];
  // The received bytes from the mark on must still be there, unchanged, and end the datagram
  // (a rewrite that cut bytes after Content-Length ends earlier).
  const uint8_t* const end = packet.data + packet.length;
  const uint8_t* const mark = received.data - net::kUdpHeaderBytes + net::kChecksumMarkBytes;
  if (from_mark == kNoSum || end != received.data + received.length ||
      end - mark > static_cast<ptrdiff_t>(packet.unchanged_tail)) {
    return 0;
  }
  // Those bytes moved relative to the datagram's start as much as its start moved.
  sum = net::reusedTailSum(from_mark, ((received.data - packet.data) & 1) != 0);
  counters_.add(DpdkCounter::TxChecksumReused);
  return static_cast<uint32_t>(end - mark);
}

void DpdkWorker::writeHeaders(rte_mbuf* mbuf, uint8_t* frame, uint32_t port_index,
                              const net::Endpoint& source, const net::Endpoint& destination,
                              uint32_t payload_length, uint32_t known_tail,
                              uint64_t known_tail_sum) {
  const DpdkPortLayout& port = layout_.ports[port_index];
  const DatagramHeaders headers =
      writeDatagramHeaders(frame, port.mac, port.vlan, source, destination, payload_length,
                           ip_id_++, port.tx_checksums, known_tail, known_tail_sum);
  mbuf->ol_flags = headers.ol_flags;
  mbuf->l2_len = headers.l2_len;
  mbuf->l3_len = headers.l3_len;
}

uint32_t DpdkWorker::buildFrames(uint32_t port_index, const net::Endpoint& source,
                                 const TxPacket& packet) {
  const DpdkPortLayout& port = layout_.ports[port_index];
  const net::Endpoint& destination = packet.destination;
  const bool v4 = source.ip.isV4();
  const uint32_t headers = datagramHeaderBytes(v4, port.vlan);
  if (headers - net::kEthernetHeaderBytes -
          (port.vlan != 0 ? net::kVlanTagBytes : 0) + packet.length <= layout_.mtu) {
    // One frame: the payload first, then the headers (checksums offloaded when the port can).
    rte_mbuf* mbuf = allocFrame();
    auto* data = mbuf == nullptr ? nullptr
                                 : reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
                                       mbuf, static_cast<uint16_t>(headers + packet.length)));
    if (data == nullptr) {
      if (mbuf != nullptr) {
        counters_.add(DpdkCounter::SendErrors);
        rte_pktmbuf_free(mbuf);
      }
      return 0;
    }
    std::memcpy(data + headers, packet.data, packet.length);
    writeHeaders(mbuf, data, port_index, source, destination, packet.length);
    frames_[0] = mbuf;
    return 1;
  }
  const uint32_t l2_length =
      net::kEthernetHeaderBytes + (port.vlan != 0 ? net::kVlanTagBytes : 0);
  const uint32_t l3_length = v4 ? net::kIpv4HeaderBytes : net::kIpv6HeaderBytes;
  const uint32_t ip_payload = net::kUdpHeaderBytes + packet.length;
  uint8_t udp[net::kUdpHeaderBytes];
  (void)net::writeUdp(udp, source.ip, source.port, destination.ip, destination.port,
                      packet.data, packet.length);

  // Fragment payload per frame: all of it, or the largest multiple of 8 that fits the MTU
  // (after the IPv6 fragment header on IPv6, RFC 8200 §4.5).
  const bool fragmented = l3_length + ip_payload > layout_.mtu;
  const uint32_t extra = (!v4 && fragmented) ? 8u : 0u;
  const uint32_t chunk = fragmented ? ((layout_.mtu - l3_length - extra) / 8u) * 8u : ip_payload;
  const uint32_t count = (ip_payload + chunk - 1) / chunk;
  if (chunk == 0 || count > std::size(frames_)) {
    counters_.add(DpdkCounter::SendErrors);
    return 0;
  }
  const uint16_t id = ip_id_++;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t offset = i * chunk;
    const uint32_t length = std::min(chunk, ip_payload - offset);
    const bool more = offset + length < ip_payload;
    rte_mbuf* mbuf = allocFrame();
    uint8_t* data = mbuf == nullptr
                        ? nullptr
                        : reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
                              mbuf, static_cast<uint16_t>(l2_length + l3_length + extra +
                                                          length)));
    if (data == nullptr) {
      if (mbuf != nullptr) {
        counters_.add(DpdkCounter::SendErrors);  // the pool's mbufs are smaller than the MTU
        rte_pktmbuf_free(mbuf);
      }
      rte_pktmbuf_free_bulk(frames_, i);
      return 0;
    }
    frames_[i] = mbuf;
    (void)net::writeEthernet(data, net::MacAddress{}, port.mac, port.vlan,
                             v4 ? net::kEtherTypeIpv4 : net::kEtherTypeIpv6);
    uint8_t* l3 = data + l2_length;
    if (v4) {
      net::Ipv4Fields fields;
      fields.source = source.ip.bytes;
      fields.destination = destination.ip.bytes;
      fields.payload_length = static_cast<uint16_t>(length);
      fields.id = id;
      fields.fragment_offset = static_cast<uint16_t>(offset);
      fields.more_fragments = more;
      (void)net::writeIpv4(l3, fields);
    } else {
      (void)net::writeIpv6(l3, source.ip.bytes, destination.ip.bytes,
                           fragmented ? net::kIpProtoFragment : net::kIpProtoUdp, 64,
                           static_cast<uint16_t>(extra + length));
      if (fragmented) {
        uint8_t* fragment = l3 + net::kIpv6HeaderBytes;
        fragment[0] = net::kIpProtoUdp;
        fragment[1] = 0;
        net::store16(fragment + 2, static_cast<uint16_t>(offset | (more ? 1u : 0u)));
        const uint32_t ident = (static_cast<uint32_t>(queue_) << 16) | id;
        net::store16(fragment + 4, static_cast<uint16_t>(ident >> 16));
        net::store16(fragment + 6, static_cast<uint16_t>(ident));
      }
    }
    copyRange(l3 + l3_length + extra, udp, net::kUdpHeaderBytes, packet.data, offset, length);
  }
  return count;
}

void DpdkWorker::sendOrWait(uint32_t port_index, const net::IpAddress& next_hop,
                            rte_mbuf* frame, uint64_t now_ms) {
  if (waiting_count_ == waiting_.size()) {
    counters_.add(DpdkCounter::NeighbourQueueFull);
    rte_pktmbuf_free(frame);
    return;
  }
  waiting_[waiting_count_++] = Waiting{frame, next_hop, static_cast<uint16_t>(port_index),
                                       now_ms + config_.resolve_timeout_ms};
  counters_.add(DpdkCounter::NeighbourWaits);
}

void DpdkWorker::solicit(uint32_t port_index, const net::IpAddress& next_hop, uint64_t now_ms) {
  const DpdkPortLayout& port = layout_.ports[port_index];
  net::IpAddress source;
  if (!layout_.sourceFor(port_index, next_hop, source) ||
      !neighbours_.shouldSolicit(next_hop, now_ms, config_.solicit_interval_ms)) {
    return;
  }
  rte_mbuf* mbuf = allocFrame();
  if (mbuf == nullptr) {
    return;
  }
  const uint32_t l2_length =
      net::kEthernetHeaderBytes + (port.vlan != 0 ? net::kVlanTagBytes : 0);
  if (next_hop.isV4()) {
    auto* data = reinterpret_cast<uint8_t*>(
        rte_pktmbuf_append(mbuf, static_cast<uint16_t>(l2_length + net::kArpBytes)));
    (void)net::writeEthernet(data, net::MacAddress::broadcast(), port.mac, port.vlan,
                             net::kEtherTypeArp);
    net::ArpMessage request;
    request.op = net::kArpRequest;
    request.sender_mac = port.mac;
    std::memcpy(request.sender_ip, source.bytes, 4);
    std::memcpy(request.target_ip, next_hop.bytes, 4);
    (void)net::writeArp(data + l2_length, request);
    counters_.add(DpdkCounter::ArpRequestsSent);
  } else {
    const net::IpAddress group = net::solicitedNodeMulticast(next_hop);
    auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(
        mbuf, static_cast<uint16_t>(l2_length + net::kIpv6HeaderBytes +
                                    net::kNeighbourMessageBytes)));
    (void)net::writeEthernet(data, net::MacAddress::ipv6Multicast(group), port.mac, port.vlan,
                             net::kEtherTypeIpv6);
    (void)net::writeIpv6(data + l2_length, source.bytes, group.bytes, net::kIpProtoIcmpv6, 255,
                         net::kNeighbourMessageBytes);
    (void)net::writeNeighbourMessage(data + l2_length + net::kIpv6HeaderBytes,
                                     net::kIcmpv6NeighbourSolicitation, source, group, next_hop,
                                     port.mac, false);
    counters_.add(DpdkCounter::NeighbourSolicitsSent);
  }
  enqueueTx(port_index, mbuf);
}

void DpdkWorker::drainWaiting(uint64_t now_ms) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < waiting_count_; ++i) {
    Waiting& waiting = waiting_[i];
    net::MacAddress mac;
    if (neighbours_.lookup(waiting.next_hop, mac)) {
      std::memcpy(rte_pktmbuf_mtod(waiting.frame, uint8_t*), mac.bytes, 6);
      enqueueTx(waiting.port, waiting.frame);
    } else if (now_ms >= waiting.deadline_ms) {
      counters_.add(DpdkCounter::NeighbourTimeouts);
      rte_pktmbuf_free(waiting.frame);
    } else {
      solicit(waiting.port, waiting.next_hop, now_ms);  // rate-limited by the table
      waiting_[kept++] = waiting;
    }
  }
  waiting_count_ = kept;
}

}  // namespace sipshield::io
