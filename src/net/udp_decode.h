#pragma once

#include <cstdint>

#include "src/net/endpoint.h"

namespace sipshield::net {

// Link layers a frame can start with (pcap DLT values where they exist).
enum class LinkType : uint8_t { Ethernet, LinuxSll, RawIp, BsdLoopback };

// What decodeUdp found in one frame.
enum class DecodeStatus : uint8_t { Ok, NotIp, NotUdp, Fragment, Truncated, BadHeader };

// UdpDatagram points into the frame it was decoded from.
struct UdpDatagram {
  Endpoint source;
  Endpoint destination;
  uint8_t ttl = 0;  // IPv4 TTL or IPv6 hop limit
  const uint8_t* payload = nullptr;
  uint32_t length = 0;
};

// decodeUdp reads Ethernet (with 802.1Q/802.1ad tags) / Linux cooked / raw IP frames down to
// the UDP payload, IPv4 and IPv6 (hop-by-hop, routing and destination option headers are
// skipped). Fragments are reported, not reassembled. Never reads outside [frame, frame+size).
// Thread-safe; allocates nothing.
DecodeStatus decodeUdp(LinkType link, const uint8_t* frame, uint32_t size, UdpDatagram& out);

}  // namespace sipshield::net
