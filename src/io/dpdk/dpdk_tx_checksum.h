#pragma once

#include <cstdint>

#include "src/net/endpoint.h"
#include "src/net/frame.h"

namespace sipshield::io {

// TxChecksumOffload says which transmit checksums a port computes itself (issue 5: "checksums
// in software or offloaded when the port offers it"). Fixed per port at start.
struct TxChecksumOffload {
  bool ipv4 = false;  // IPv4 header checksum (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
  bool udp = false;   // UDP checksum over IPv4 and IPv6 (RTE_ETH_TX_OFFLOAD_UDP_CKSUM)

  bool operator==(const TxChecksumOffload&) const = default;
};

// selectTxChecksumOffload picks the offloads to use from a port's dev_info tx_offload_capa
// (RTE_ETH_TX_OFFLOAD_* bits); `wanted` false forces software. Thread-safe, pure.
[[nodiscard]] TxChecksumOffload selectTxChecksumOffload(uint64_t tx_offload_capa, bool wanted);

// txOffloadBits returns the RTE_ETH_TX_OFFLOAD_* bits to enable in rte_eth_conf.txmode for
// `offload`. Thread-safe, pure.
[[nodiscard]] uint64_t txOffloadBits(TxChecksumOffload offload);

// DatagramHeaders is what writeDatagramHeaders tells the mbuf: its TX ol_flags and l2/l3
// lengths (all zero when every checksum was computed in software).
struct DatagramHeaders {
  uint64_t ol_flags = 0;
  uint16_t l2_len = 0;
  uint16_t l3_len = 0;
  uint32_t length = 0;  // bytes of headers written (Ethernet [+ VLAN] + IP + UDP)
};

// writeDatagramHeaders writes Ethernet (destination MAC zero, filled at send time), optional
// 802.1Q tag, an IPv4 or IPv6 header and a UDP header at `frame`, for an unfragmented datagram
// whose `payload_length` bytes already follow at frame + datagramHeaderBytes(...). Checksums
// the port offloads are left to it per DPDK's contract: IPv4 header checksum zero, UDP checksum
// holding the pseudo-header sum (what rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum give); the
// rest are computed in software (the UDP one reads the payload but its last `known_tail`
// bytes, which add `known_tail_sum`: net::writeUdp). Thread-safe (writes only `frame`).
// Returns the flags and lengths to set on the mbuf.
DatagramHeaders writeDatagramHeaders(uint8_t* frame, const net::MacAddress& source_mac,
                                     uint16_t vlan, const net::Endpoint& source,
                                     const net::Endpoint& destination, uint32_t payload_length,
                                     uint16_t ip_id, TxChecksumOffload offload,
                                     uint32_t known_tail = 0, uint64_t known_tail_sum = 0);

// datagramHeaderBytes returns how many header bytes writeDatagramHeaders writes.
[[nodiscard]] constexpr uint32_t datagramHeaderBytes(bool v4, uint16_t vlan) {
  return net::kEthernetHeaderBytes + (vlan != 0 ? net::kVlanTagBytes : 0) +
         (v4 ? net::kIpv4HeaderBytes : net::kIpv6HeaderBytes) + net::kUdpHeaderBytes;
}

}  // namespace sipshield::io
