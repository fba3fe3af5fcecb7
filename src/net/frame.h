#pragma once

#include <cstdint>
#include <cstring>

#include "src/net/endpoint.h"

namespace sipshield::net {

// Ethernet, 802.1Q, IPv4, IPv6 and UDP header layout for backends that own layer 2 (DPDK).
// Everything here reads or writes caller-owned bytes: thread-safe, allocation-free, never
// reads outside the given size.

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoFragment = 44;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint32_t kEthernetHeaderBytes = 14;
inline constexpr uint32_t kVlanTagBytes = 4;
inline constexpr uint32_t kIpv4HeaderBytes = 20;
inline constexpr uint32_t kIpv6HeaderBytes = 40;
inline constexpr uint32_t kUdpHeaderBytes = 8;

// MacAddress is a 48-bit Ethernet address.
struct MacAddress {
  uint8_t bytes[6] = {};

  friend bool operator==(const MacAddress& a, const MacAddress& b) {
    return std::memcmp(a.bytes, b.bytes, 6) == 0;
  }
  [[nodiscard]] bool isZero() const { return *this == MacAddress{}; }
  // isMulticast is true for group addresses, broadcast included (I/G bit).
  [[nodiscard]] bool isMulticast() const { return (bytes[0] & 1u) != 0; }
  static MacAddress broadcast() { return MacAddress{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}; }
  // ipv6Multicast maps an IPv6 multicast group to 33:33:xx:xx:xx:xx (RFC 2464 §7).
  static MacAddress ipv6Multicast(const IpAddress& group);
};

// L2Frame is what parseEthernet found: addresses, the optional VLAN tag and where the layer-3
// packet starts.
struct L2Frame {
  MacAddress destination;
  MacAddress source;
  uint16_t vlan = 0;        // VLAN id (12 bits) of an 802.1Q tag; 0 = untagged
  uint16_t ether_type = 0;  // of the layer-3 payload, after the tag
  uint32_t l3_offset = 0;   // bytes from the frame start to the layer-3 header
};

// parseEthernet reads the Ethernet header and at most one 802.1Q tag. Returns false when the
// frame is too short or carries a second (QinQ) tag, which we do not terminate.
[[nodiscard]] bool parseEthernet(const uint8_t* frame, uint32_t size, L2Frame& out);

// writeEthernet writes an Ethernet header (with an 802.1Q tag when `vlan` != 0) at `out` and
// returns its length (14 or 18). `out` must have room for 18 bytes.
uint32_t writeEthernet(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                       uint16_t vlan, uint16_t ether_type);

// Ipv4Fields are the variable fields of an IPv4 header that writeIpv4 fills.
struct Ipv4Fields {
  const uint8_t* source = nullptr;       // 4 bytes, network order
  const uint8_t* destination = nullptr;  // 4 bytes, network order
  uint8_t protocol = kIpProtoUdp;
  uint8_t ttl = 64;
  uint16_t payload_length = 0;  // bytes after the 20-byte header
  uint16_t id = 0;
  uint16_t fragment_offset = 0;  // in bytes; must be a multiple of 8
  bool more_fragments = false;
  bool dont_fragment = false;
};

// writeIpv4 writes a 20-byte IPv4 header without options, checksum included, and returns 20.
uint32_t writeIpv4(uint8_t* out, const Ipv4Fields& fields);

// writeIpv6 writes a 40-byte IPv6 header (traffic class and flow label zero) and returns 40.
uint32_t writeIpv6(uint8_t* out, const uint8_t* source, const uint8_t* destination,
                   uint8_t next_header, uint8_t hop_limit, uint16_t payload_length);

// writeUdp writes a UDP header for `payload` with the checksum over the pseudo-header of
// `source`/`destination` (the payload is only read) and returns 8. The payload's last
// `known_tail` bytes are not read: `known_tail_sum` is what they add (udpChecksumOfWords).
uint32_t writeUdp(uint8_t* out, const IpAddress& source, uint16_t source_port,
                  const IpAddress& destination, uint16_t destination_port,
                  const uint8_t* payload, uint32_t payload_length, uint32_t known_tail = 0,
                  uint64_t known_tail_sum = 0);

// ipv4FragmentPayloadBytes returns how many bytes of IP payload each fragment carries for a
// link MTU `mtu`: the largest multiple of 8 that fits after a 20-byte header (RFC 791).
[[nodiscard]] constexpr uint32_t ipv4FragmentPayloadBytes(uint32_t mtu) {
  return ((mtu - kIpv4HeaderBytes) / 8u) * 8u;
}

// load16/store16 read and write big-endian 16-bit fields at any alignment.
[[nodiscard]] inline uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline void store16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

}  // namespace sipshield::net
