#include "src/io/dpdk/dpdk_tx_checksum.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "src/net/checksum.h"

namespace sipshield::io {

TxChecksumOffload selectTxChecksumOffload(uint64_t tx_offload_capa, bool wanted) {
  TxChecksumOffload out;
  if (!wanted) {
    return out;
  }
  out.ipv4 = (tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  out.udp = (tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  return out;
}

uint64_t txOffloadBits(TxChecksumOffload offload) {
  return (offload.ipv4 ? RTE_ETH_TX_OFFLOAD_IPV4_CKSUM : 0) |
         (offload.udp ? RTE_ETH_TX_OFFLOAD_UDP_CKSUM : 0);
}

DatagramHeaders writeDatagramHeaders(uint8_t* frame, const net::MacAddress& source_mac,
                                     uint16_t vlan, const net::Endpoint& source,
                                     const net::Endpoint& destination, uint32_t payload_length,
                                     uint16_t ip_id, TxChecksumOffload offload,
                                     uint32_t known_tail, uint64_t known_tail_sum) {
  const bool v4 = source.ip.isV4();
  DatagramHeaders out;
  out.l2_len = static_cast<uint16_t>(net::writeEthernet(
      frame, net::MacAddress{}, source_mac, vlan, v4 ? net::kEtherTypeIpv4 : net::kEtherTypeIpv6));
  uint8_t* l3 = frame + out.l2_len;
  const uint32_t udp_length = net::kUdpHeaderBytes + payload_length;
  if (v4) {
    net::Ipv4Fields fields;
    fields.source = source.ip.bytes;
    fields.destination = destination.ip.bytes;
    fields.payload_length = static_cast<uint16_t>(udp_length);
    fields.id = ip_id;
    out.l3_len = static_cast<uint16_t>(net::writeIpv4(l3, fields));
    if (offload.ipv4) {
      net::store16(l3 + 10, 0);  // the port fills it in
    }
  } else {
    out.l3_len = static_cast<uint16_t>(net::writeIpv6(l3, source.ip.bytes, destination.ip.bytes,
                                                      net::kIpProtoUdp, 64,
                                                      static_cast<uint16_t>(udp_length)));
  }
  uint8_t* udp = l3 + out.l3_len;
  if (offload.udp) {
    // DPDK's contract for RTE_MBUF_F_TX_UDP_CKSUM: the checksum field holds the pseudo-header
    // sum, folded and not complemented; the port adds the header and payload.
    net::store16(udp, source.port);
    net::store16(udp + 2, destination.port);
    net::store16(udp + 4, static_cast<uint16_t>(udp_length));
    net::store16(udp + 6, static_cast<uint16_t>(~net::checksumFold(net::pseudoHeaderSum(
                              source.ip, destination.ip, net::kIpProtoUdp, udp_length))));
  } else {
    (void)net::writeUdp(udp, source.ip, source.port, destination.ip, destination.port,
                        udp + net::kUdpHeaderBytes, payload_length, known_tail, known_tail_sum);
  }
  out.length = out.l2_len + out.l3_len + net::kUdpHeaderBytes;
  if (offload.udp || (v4 && offload.ipv4)) {
    out.ol_flags = (v4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
                   (v4 && offload.ipv4 ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                   (offload.udp ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
  } else {
    out.l2_len = 0;
    out.l3_len = 0;
  }
  return out;
}

}  // namespace sipshield::io
