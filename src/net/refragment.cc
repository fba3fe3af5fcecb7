#include "src/net/refragment.h"

#include <cstring>

#include "src/net/checksum.h"
#include "src/net/frame.h"

namespace sipshield::net {
namespace {

constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kDestinationOptions = 60;

// unfragmentablePart sets plan.l3_header and plan.next_header_at for the IPv6 packet at `ip`
// (`total` bytes, fixed header included): RFC 8200 §4.5 keeps the fixed header, a hop-by-hop
// header, a routing header and a destination options header that precedes a routing header
// in front of the fragment header, in every fragment. False for a fragment already, or for
// extension headers that run past the packet.
bool unfragmentablePart(const uint8_t* ip, uint32_t total, FragmentPlan& plan) {
  uint32_t at = kIpv6HeaderBytes;
  uint32_t next_at = 6;
  uint8_t next = ip[next_at];
  while (true) {
    bool keep = next == kHopByHop || next == kRouting;
    if (next == kDestinationOptions && at + 2 <= total) {
      // Only destination options for the routing header's hops stay in front.
      const uint32_t after = at + (ip[at + 1] + 1u) * 8u;
      keep = after < total && ip[at] == kRouting;
    }
    if (!keep) {
      break;
    }
    if (at + 2 > total) {
      return false;
    }
    const uint32_t length = (ip[at + 1] + 1u) * 8u;
    if (at + length > total) {
      return false;
    }
    next_at = at;
    next = ip[at];
    at += length;
  }
  if (next == kIpProtoFragment) {
    return false;
  }
  plan.l3_header = at;
  plan.next_header_at = next_at;
  return true;
}

}  // namespace

bool planFragments(const uint8_t* frame, uint32_t size, uint32_t l2_length, uint32_t mtu,
                   FragmentPlan& plan) {
  if (size < l2_length + 1) {
    return false;
  }
  const uint8_t* ip = frame + l2_length;
  const uint32_t available = size - l2_length;
  plan = FragmentPlan{};
  plan.l2_length = l2_length;
  const uint8_t version = ip[0] >> 4;
  uint32_t total = 0;
  uint32_t room = 0;  // payload bytes one fragment can carry
  if (version == 4) {
    plan.v4 = true;
    plan.l3_header = (ip[0] & 0x0Fu) * 4u;
    if (plan.l3_header < kIpv4HeaderBytes || available < plan.l3_header || mtu < 68) {
      return false;
    }
    total = load16(ip + 2);
    if ((load16(ip + 6) & 0x3FFF) != 0) {
      return false;  // a fragment already
    }
    room = mtu > plan.l3_header ? mtu - plan.l3_header : 0;
  } else if (version == 6) {
    if (available < kIpv6HeaderBytes || mtu < 1280) {
      return false;
    }
    total = kIpv6HeaderBytes + load16(ip + 4);
    if (total > available || !unfragmentablePart(ip, total, plan)) {
      return false;
    }
    if (mtu < plan.l3_header + 8 + 8) {
      return false;  // not one 8-byte payload unit after the fragment header
    }
    room = mtu - plan.l3_header - 8;  // after the fragment header
  } else {
    return false;
  }
  if (total < plan.l3_header || total > available) {
    return false;
  }
  plan.payload = total - plan.l3_header;
  if (total <= mtu) {
    plan.chunk = plan.payload;
    plan.count = 1;
    return true;
  }
  plan.chunk = (room / 8u) * 8u;
  if (plan.chunk == 0) {
    return false;
  }
  plan.count = (plan.payload + plan.chunk - 1) / plan.chunk;
  return true;
}

uint32_t fragmentFrameBytes(const FragmentPlan& plan, uint32_t index) {
  if (plan.count == 1) {
    return plan.l2_length + plan.l3_header + plan.payload;
  }
  const uint32_t offset = index * plan.chunk;
  const uint32_t length = plan.payload - offset < plan.chunk ? plan.payload - offset : plan.chunk;
  return plan.l2_length + plan.l3_header + (plan.v4 ? 0u : 8u) + length;
}

void writeFragment(const uint8_t* frame, const FragmentPlan& plan, uint32_t index,
                   uint32_t ident, uint8_t* out) {
  if (plan.count == 1) {
    std::memcpy(out, frame, fragmentFrameBytes(plan, 0));
    if (plan.v4) {  // a reassembler may have left the old fragment's checksum in place
      uint8_t* ip = out + plan.l2_length;
      store16(ip + 10, 0);
      store16(ip + 10, ipv4HeaderChecksum(ip, plan.l3_header));
    }
    return;
  }
  const uint32_t offset = index * plan.chunk;
  const uint32_t length = plan.payload - offset < plan.chunk ? plan.payload - offset : plan.chunk;
  const bool more = offset + length < plan.payload;
  std::memcpy(out, frame, plan.l2_length + plan.l3_header);
  const uint8_t* payload = frame + plan.l2_length + plan.l3_header + offset;
  uint8_t* ip = out + plan.l2_length;
  if (plan.v4) {
    store16(ip + 2, static_cast<uint16_t>(plan.l3_header + length));
    store16(ip + 6, static_cast<uint16_t>((more ? 0x2000u : 0u) | (offset / 8u)));
    store16(ip + 10, 0);
    store16(ip + 10, ipv4HeaderChecksum(ip, plan.l3_header));
    std::memcpy(ip + plan.l3_header, payload, length);
    return;
  }
  uint8_t* fragment = ip + plan.l3_header;
  fragment[0] = ip[plan.next_header_at];  // the fragmentable part follows the fragment header
  fragment[1] = 0;
  store16(fragment + 2, static_cast<uint16_t>(offset | (more ? 1u : 0u)));
  store16(fragment + 4, static_cast<uint16_t>(ident >> 16));
  store16(fragment + 6, static_cast<uint16_t>(ident));
  ip[plan.next_header_at] = kIpProtoFragment;
  store16(ip + 4, static_cast<uint16_t>(plan.l3_header - kIpv6HeaderBytes + 8 + length));
  std::memcpy(fragment + 8, payload, length);
}

}  // namespace sipshield::net
