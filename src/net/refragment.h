#pragma once

#include <cstdint>

namespace sipshield::net {

// Splitting an IP packet that is already whole (one the DPDK backend reassembled) into
// fragments again, for a link whose MTU it exceeds: the exception path hands such packets to
// the kernel through a TAP, which drops frames above its MTU, and the kernel reassembles
// them itself. Any upper-layer protocol; IPv4 (options copied into every fragment) and IPv6
// (a fragment header after the unfragmentable part: the fixed header and any hop-by-hop,
// routing and, ahead of a routing header, destination options headers). Pure functions:
// thread-safe, no allocation.

// FragmentPlan says how writeFragment cuts one packet.
struct FragmentPlan {
  uint32_t l2_length = 0;  // bytes before the IP header (Ethernet, VLAN tag)
  uint32_t l3_header = 0;  // IP header bytes repeated in each fragment: IPv4 incl. options;
                           // IPv6's unfragmentable part (RFC 8200 §4.5)
  uint32_t next_header_at = 0;  // IPv6: offset from the IP header of the Next Header byte
                                // that names the fragmentable part (6: the fixed header's)
  uint32_t payload = 0;    // IP payload bytes to split
  uint32_t chunk = 0;      // payload bytes per fragment but the last (a multiple of 8)
  uint32_t count = 0;      // fragments; 1 when the packet fits as it is
  bool v4 = false;
};

// planFragments plans the fragments of the IP packet that starts `l2_length` bytes into
// `frame` (`size` bytes in all), each at most `mtu` bytes of IP. False when the bytes are not a
// whole IPv4/IPv6 packet, when it is itself a fragment, when its IPv6 extension headers run
// past the packet, when the unfragmentable part leaves no room for 8 payload bytes, or when
// the MTU is below the minimum (68 IPv4, 1280 IPv6).
[[nodiscard]] bool planFragments(const uint8_t* frame, uint32_t size, uint32_t l2_length,
                                 uint32_t mtu, FragmentPlan& plan);

// fragmentFrameBytes returns the length of frame `index` of `plan` (L2 header included).
[[nodiscard]] uint32_t fragmentFrameBytes(const FragmentPlan& plan, uint32_t index);

// writeFragment writes frame `index` of `plan` into `out` (fragmentFrameBytes(plan, index)
// bytes): the L2 header as it was, the IP header with its length, fragment fields and (IPv4)
// checksum rewritten, then its share of the payload. IPv4 keeps the packet's identification;
// IPv6 fragments carry `ident`. With a plan of one frame it copies the frame (IPv4: with its
// header checksum recomputed).
void writeFragment(const uint8_t* frame, const FragmentPlan& plan, uint32_t index,
                   uint32_t ident, uint8_t* out);

}  // namespace sipshield::net
