#pragma once

#include <cstdint>

#include "src/net/endpoint.h"
#include "src/net/frame.h"

namespace sipshield::net {

// ARP (RFC 826), ICMP echo (RFC 792), ICMPv6 echo (RFC 4443) and IPv6 neighbour discovery
// (RFC 4861 §4.3/§4.4) messages for a backend that answers them itself. Pure functions on
// caller-owned bytes: thread-safe, allocation-free.

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
inline constexpr uint32_t kArpBytes = 28;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6NeighbourSolicitation = 135;
inline constexpr uint8_t kIcmpv6NeighbourAdvertisement = 136;
// An NS or NA with one link-layer address option: 24 bytes of message + 8 of option.
inline constexpr uint32_t kNeighbourMessageBytes = 32;

// ArpMessage is an Ethernet/IPv4 ARP packet.
struct ArpMessage {
  uint16_t op = 0;
  MacAddress sender_mac;
  uint8_t sender_ip[4] = {};
  MacAddress target_mac;
  uint8_t target_ip[4] = {};
};

// parseArp reads an ARP packet; false unless it is Ethernet/IPv4 (htype 1, ptype 0x0800,
// hlen 6, plen 4) and at least 28 bytes long.
[[nodiscard]] bool parseArp(const uint8_t* packet, uint32_t size, ArpMessage& out);

// writeArp writes a 28-byte Ethernet/IPv4 ARP packet at `out` and returns 28.
uint32_t writeArp(uint8_t* out, const ArpMessage& message);

// icmpEchoToReply turns the ICMP echo request at `icmp` (`length` bytes: header and data)
// into its echo reply in place, checksum included. Returns false (and changes nothing) when
// it is not a well-formed echo request.
[[nodiscard]] bool icmpEchoToReply(uint8_t* icmp, uint32_t length);

// icmpv6EchoToReply does the same for ICMPv6; `source`/`destination` are the reply's
// addresses (the checksum covers the pseudo-header).
[[nodiscard]] bool icmpv6EchoToReply(uint8_t* icmp, uint32_t length, const IpAddress& source,
                                     const IpAddress& destination);

// NeighbourMessage is a parsed neighbour solicitation or advertisement.
struct NeighbourMessage {
  uint8_t type = 0;  // kIcmpv6NeighbourSolicitation or kIcmpv6NeighbourAdvertisement
  IpAddress target;
  MacAddress link_address;  // source (NS) or target (NA) link-layer address option
  bool has_link_address = false;
  bool solicited = false;  // NA S flag
};

// parseNeighbourMessage reads an NS or NA at `icmp`; false for anything else or when
// malformed (RFC 4861 §7.1.1: code 0, length ≥ 24, options of non-zero length). The caller
// checks the hop limit is 255.
[[nodiscard]] bool parseNeighbourMessage(const uint8_t* icmp, uint32_t length,
                                         NeighbourMessage& out);

// solicitedNodeMulticast returns ff02::1:ffXX:XXXX for `target` (RFC 4291 §2.7.1).
[[nodiscard]] IpAddress solicitedNodeMulticast(const IpAddress& target);

// writeNeighbourMessage writes an NS (type 135, with a source link-layer option) or an NA
// (type 136, flags Solicited when `solicited` and Override, with a target link-layer option)
// for `target`, checksummed for `source` → `destination`, and returns
// kNeighbourMessageBytes.
uint32_t writeNeighbourMessage(uint8_t* out, uint8_t type, const IpAddress& source,
                               const IpAddress& destination, const IpAddress& target,
                               const MacAddress& link_address, bool solicited);

}  // namespace sipshield::net
