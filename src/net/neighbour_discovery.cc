#include "src/net/neighbour_discovery.h"

#include "src/net/checksum.h"

namespace sipshield::net {

bool parseArp(const uint8_t* packet, uint32_t size, ArpMessage& out) {
  if (size < kArpBytes || load16(packet) != 1 || load16(packet + 2) != kEtherTypeIpv4 ||
      packet[4] != 6 || packet[5] != 4) {
    return false;
  }
  out.op = load16(packet + 6);
  std::memcpy(out.sender_mac.bytes, packet + 8, 6);
  std::memcpy(out.sender_ip, packet + 14, 4);
  std::memcpy(out.target_mac.bytes, packet + 18, 6);
  std::memcpy(out.target_ip, packet + 24, 4);
  return true;
}

uint32_t writeArp(uint8_t* out, const ArpMessage& message) {
  store16(out, 1);
  store16(out + 2, kEtherTypeIpv4);
  out[4] = 6;
  out[5] = 4;
  store16(out + 6, message.op);
  std::memcpy(out + 8, message.sender_mac.bytes, 6);
  std::memcpy(out + 14, message.sender_ip, 4);
  std::memcpy(out + 18, message.target_mac.bytes, 6);
  std::memcpy(out + 24, message.target_ip, 4);
  return kArpBytes;
}

bool icmpEchoToReply(uint8_t* icmp, uint32_t length) {
  if (length < 8 || icmp[0] != 8 || icmp[1] != 0 ||
      checksumFold(checksumAdd(icmp, length, 0)) != 0) {
    return false;
  }
  icmp[0] = 0;
  store16(icmp + 2, 0);
  store16(icmp + 2, checksumFold(checksumAdd(icmp, length, 0)));
  return true;
}

bool icmpv6EchoToReply(uint8_t* icmp, uint32_t length, const IpAddress& source,
                       const IpAddress& destination) {
  if (length < 8 || icmp[0] != kIcmpv6EchoRequest || icmp[1] != 0) {
    return false;
  }
  // The request's checksum used the reversed pseudo-header, which sums the same.
  if (checksumFold(checksumAdd(icmp, length,
                               pseudoHeaderSum(destination, source, kIpProtoIcmpv6, length))) !=
      0) {
    return false;
  }
  icmp[0] = kIcmpv6EchoReply;
  store16(icmp + 2, 0);
  store16(icmp + 2, checksumFold(checksumAdd(
                        icmp, length, pseudoHeaderSum(source, destination, kIpProtoIcmpv6,
                                                      length))));
  return true;
}

bool parseNeighbourMessage(const uint8_t* icmp, uint32_t length, NeighbourMessage& out) {
  if (length < 24 || icmp[1] != 0 ||
      (icmp[0] != kIcmpv6NeighbourSolicitation && icmp[0] != kIcmpv6NeighbourAdvertisement)) {
    return false;
  }
  out.type = icmp[0];
  out.solicited = out.type == kIcmpv6NeighbourAdvertisement && (icmp[4] & 0x40) != 0;
  out.target.family = AF_INET6;
  std::memcpy(out.target.bytes, icmp + 8, 16);
  out.has_link_address = false;
  const uint8_t wanted = out.type == kIcmpv6NeighbourSolicitation ? 1 : 2;
  uint32_t offset = 24;
  while (offset + 2 <= length) {
    const uint32_t option_bytes = icmp[offset + 1] * 8u;
    if (option_bytes == 0 || offset + option_bytes > length) {
      return false;
    }
    if (icmp[offset] == wanted && option_bytes >= 8) {
      std::memcpy(out.link_address.bytes, icmp + offset + 2, 6);
      out.has_link_address = true;
    }
    offset += option_bytes;
  }
  return true;
}

IpAddress solicitedNodeMulticast(const IpAddress& target) {
  IpAddress group;
  group.family = AF_INET6;
  group.bytes[0] = 0xFF;
  group.bytes[1] = 0x02;
  group.bytes[11] = 0x01;
  group.bytes[12] = 0xFF;
  group.bytes[13] = target.bytes[13];
  group.bytes[14] = target.bytes[14];
  group.bytes[15] = target.bytes[15];
  return group;
}

uint32_t writeNeighbourMessage(uint8_t* out, uint8_t type, const IpAddress& source,
                               const IpAddress& destination, const IpAddress& target,
                               const MacAddress& link_address, bool solicited) {
  std::memset(out, 0, kNeighbourMessageBytes);
  out[0] = type;
  if (type == kIcmpv6NeighbourAdvertisement) {
    out[4] = static_cast<uint8_t>(0x20 | (solicited ? 0x40 : 0));  // Override (+ Solicited)
  }
  std::memcpy(out + 8, target.bytes, 16);
  out[24] = type == kIcmpv6NeighbourSolicitation ? 1 : 2;
  out[25] = 1;  // one 8-byte unit
  std::memcpy(out + 26, link_address.bytes, 6);
  store16(out + 2, checksumFold(checksumAdd(
                       out, kNeighbourMessageBytes,
                       pseudoHeaderSum(source, destination, kIpProtoIcmpv6,
                                       kNeighbourMessageBytes))));
  return kNeighbourMessageBytes;
}

}  // namespace sipshield::net
