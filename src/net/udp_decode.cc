#include "src/net/udp_decode.h"

#include <cstring>

namespace sipshield::net {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88A8;
constexpr uint8_t kProtoUdp = 17;

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

DecodeStatus decodeUdpHeader(const uint8_t* p, uint32_t size, UdpDatagram& out) {
  if (size < 8) {
    return DecodeStatus::Truncated;
  }
  out.source.port = load16(p);
  out.destination.port = load16(p + 2);
  uint16_t udp_length = load16(p + 4);
  if (udp_length < 8 || udp_length > size) {
    return udp_length < 8 ? DecodeStatus::BadHeader : DecodeStatus::Truncated;
  }
  out.payload = p + 8;
  out.length = udp_length - 8u;
  return DecodeStatus::Ok;
}

DecodeStatus decodeIpv4(const uint8_t* p, uint32_t size, UdpDatagram& out) {
  if (size < 20) {
    return DecodeStatus::Truncated;
  }
  uint32_t header_length = (p[0] & 0x0Fu) * 4u;
  uint16_t total_length = load16(p + 2);
  if ((p[0] >> 4) != 4 || header_length < 20 || total_length < header_length) {
    return DecodeStatus::BadHeader;
  }
  if (total_length > size) {
    return DecodeStatus::Truncated;
  }
  uint16_t fragment = load16(p + 6);
  if ((fragment & 0x3FFF) != 0) {  // MF set or a non-zero offset
    return DecodeStatus::Fragment;
  }
  if (p[9] != kProtoUdp) {
    return DecodeStatus::NotUdp;
  }
  out.ttl = p[8];
  out.source.ip.family = AF_INET;
  out.destination.ip.family = AF_INET;
  std::memcpy(out.source.ip.bytes, p + 12, 4);
  std::memcpy(out.destination.ip.bytes, p + 16, 4);
  return decodeUdpHeader(p + header_length, total_length - header_length, out);
}

DecodeStatus decodeIpv6(const uint8_t* p, uint32_t size, UdpDatagram& out) {
  if (size < 40) {
    return DecodeStatus::Truncated;
  }
  if ((p[0] >> 4) != 6) {
    return DecodeStatus::BadHeader;
  }
  uint32_t payload_length = load16(p + 4);
  if (40 + payload_length > size) {
    return DecodeStatus::Truncated;
  }
  out.ttl = p[7];
  out.source.ip.family = AF_INET6;
  out.destination.ip.family = AF_INET6;
  std::memcpy(out.source.ip.bytes, p + 8, 16);
  std::memcpy(out.destination.ip.bytes, p + 24, 16);
  uint8_t next = p[6];
  uint32_t offset = 40;
  uint32_t end = 40 + payload_length;
  // Skip extension headers a SIP datagram may carry; a fragment header ends the decode.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == kProtoUdp) {
      return decodeUdpHeader(p + offset, end - offset, out);
    }
    if (next == 44) {
      return DecodeStatus::Fragment;
    }
    if (next != 0 && next != 43 && next != 60) {
      return DecodeStatus::NotUdp;
    }
    if (offset + 8 > end) {
      return DecodeStatus::Truncated;
    }
    uint32_t length = (p[offset + 1] + 1u) * 8u;
    next = p[offset];
    offset += length;
    if (offset > end) {
      return DecodeStatus::Truncated;
    }
  }
  return DecodeStatus::BadHeader;
}

DecodeStatus decodeIp(const uint8_t* p, uint32_t size, UdpDatagram& out) {
  if (size < 1) {
    return DecodeStatus::Truncated;
  }
  switch (p[0] >> 4) {
    case 4:
      return decodeIpv4(p, size, out);
    case 6:
      return decodeIpv6(p, size, out);
    default:
      return DecodeStatus::NotIp;
  }
}

DecodeStatus decodeByEtherType(uint16_t ether_type, const uint8_t* p, uint32_t size,
                               UdpDatagram& out) {
  if (ether_type == kEtherIpv4) {
    return decodeIpv4(p, size, out);
  }
  if (ether_type == kEtherIpv6) {
    return decodeIpv6(p, size, out);
  }
  return DecodeStatus::NotIp;
}

}  // namespace

DecodeStatus decodeUdp(LinkType link, const uint8_t* frame, uint32_t size, UdpDatagram& out) {
  out = UdpDatagram{};
  switch (link) {
    case LinkType::Ethernet: {
      if (size < 14) {
        return DecodeStatus::Truncated;
      }
      uint32_t offset = 12;
      uint16_t ether_type = load16(frame + offset);
      // Up to two VLAN tags (802.1Q inside 802.1ad).
      for (int tags = 0; tags < 2 && (ether_type == kEtherVlan || ether_type == kEtherQinQ);
           ++tags) {
        offset += 4;
        if (offset + 2 > size) {
          return DecodeStatus::Truncated;
        }
        ether_type = load16(frame + offset);
      }
      offset += 2;
      return decodeByEtherType(ether_type, frame + offset, size - offset, out);
    }
    case LinkType::LinuxSll:
      if (size < 16) {
        return DecodeStatus::Truncated;
      }
      return decodeByEtherType(load16(frame + 14), frame + 16, size - 16, out);
    case LinkType::RawIp:
      return decodeIp(frame, size, out);
    case LinkType::BsdLoopback:
      if (size < 4) {
        return DecodeStatus::Truncated;
      }
      return decodeIp(frame + 4, size - 4, out);
  }
  return DecodeStatus::NotIp;
}

}  // namespace sipshield::net
