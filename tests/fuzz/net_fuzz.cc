// libFuzzer target: what the DPDK backend and the capture reader decode from the wire before
// SIP is reached — Ethernet/VLAN/IPv4/IPv6/UDP for every link type, ARP, ICMP and ICMPv6 echo,
// IPv6 neighbour discovery, cutting reassembled packets for the kernel — and the address
// literals of routing and config. Any verdict is
// fine; a crash, a sanitizer report, a span outside the input or a reply that does not
// round-trip is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "src/net/checksum.h"
#include "src/net/endpoint.h"
#include "src/net/frame.h"
#include "src/net/neighbour_discovery.h"
#include "src/net/refragment.h"
#include "src/net/udp_decode.h"

using namespace sipshield::net;

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void decodeEveryLink(const uint8_t* frame, uint32_t size) {
  for (LinkType link :
       {LinkType::Ethernet, LinkType::LinuxSll, LinkType::RawIp, LinkType::BsdLoopback}) {
    UdpDatagram datagram;
    if (decodeUdp(link, frame, size, datagram) == DecodeStatus::Ok) {
      check(datagram.payload >= frame && datagram.payload + datagram.length <= frame + size);
      check(datagram.source.ip.family == datagram.destination.ip.family);
    }
  }
  L2Frame l2;
  if (parseEthernet(frame, size, l2)) {
    check(l2.l3_offset <= size && l2.vlan < 4096);
  }
}

void arpRoundTrip(const uint8_t* packet, uint32_t size) {
  ArpMessage arp;
  if (!parseArp(packet, size, arp)) {
    return;
  }
  uint8_t out[28];
  check(writeArp(out, arp) == sizeof(out));
  ArpMessage again;
  check(parseArp(out, sizeof(out), again));
  check(again.op == arp.op && std::memcmp(again.sender_ip, arp.sender_ip, 4) == 0 &&
        std::memcmp(again.target_ip, arp.target_ip, 4) == 0 &&
        std::memcmp(again.sender_mac.bytes, arp.sender_mac.bytes, 6) == 0 &&
        std::memcmp(again.target_mac.bytes, arp.target_mac.bytes, 6) == 0);
}

void echoReplies(const uint8_t* data, uint32_t size) {
  // Exact-size copies: the replies are built in place.
  std::vector<uint8_t> icmp(data, data + size);
  if (icmpEchoToReply(icmp.data(), size)) {
    check(checksumFold(checksumAdd(icmp.data(), size, 0)) == 0);
  }
  const IpAddress source{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  const IpAddress destination{AF_INET6,
                              {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  std::vector<uint8_t> icmp6(data, data + size);
  if (icmpv6EchoToReply(icmp6.data(), size, source, destination)) {
    check(checksumFold(checksumAdd(icmp6.data(), size,
                                   pseudoHeaderSum(source, destination, kIpProtoIcmpv6, size))) ==
          0);
  }
}

void neighbourRoundTrip(const uint8_t* icmp, uint32_t size) {
  NeighbourMessage message;
  if (!parseNeighbourMessage(icmp, size, message)) {
    return;
  }
  check(message.target.isV6());
  const IpAddress source{AF_INET6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  uint8_t out[kNeighbourMessageBytes];
  check(writeNeighbourMessage(out, message.type, source, solicitedNodeMulticast(message.target),
                              message.target, message.link_address,
                              message.solicited) == sizeof(out));
  NeighbourMessage again;
  check(parseNeighbourMessage(out, sizeof(out), again));
  check(again.type == message.type && again.target == message.target &&
        again.has_link_address &&
        std::memcmp(again.link_address.bytes, message.link_address.bytes, 6) == 0);
}

// refragment cuts whatever parses as an IP packet behind Ethernet to a few MTUs, into
// exact-size buffers: every fragment stays within its frame size, and together they carry
// the whole IP payload once.
void refragment(const uint8_t* frame, uint32_t size) {
  L2Frame l2;
  if (!parseEthernet(frame, size, l2)) {
    return;
  }
  for (uint32_t mtu : {68u, 576u, 1280u, 1500u}) {
    FragmentPlan plan;
    if (!planFragments(frame, size, l2.l3_offset, mtu, plan)) {
      continue;
    }
    check(plan.count >= 1 && plan.count <= 65535 / 8 + 1);
    uint64_t carried = 0;
    for (uint32_t i = 0; i < plan.count; ++i) {
      std::vector<uint8_t> out(fragmentFrameBytes(plan, i));
      writeFragment(frame, plan, i, 0x01020304, out.data());
      check(plan.count == 1 || out.size() - plan.l2_length <= mtu);
      carried += out.size() - plan.l2_length - plan.l3_header -
                 (plan.count > 1 && !plan.v4 ? 8u : 0u);
    }
    check(carried == plan.payload);
  }
}

void addressLiterals(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size < 128 ? size : 128);
  if (const auto ip = IpAddress::parse(text)) {
    char formatted[64];
    const size_t n = ip->format(formatted, false);
    check(n > 0 && n < sizeof(formatted));
    const auto again = IpAddress::parse(std::string_view(formatted, n));
    check(again.has_value() && *again == *ip);
  }
  if (const auto endpoint = Endpoint::parse(text)) {
    const auto again = Endpoint::parse(endpoint->toString());
    check(again.has_value() && *again == *endpoint);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65535) {
    return 0;
  }
  // An exact-size heap copy so ASan flags any read past the end.
  std::vector<uint8_t> copy(data, data + size);
  const auto length = static_cast<uint32_t>(size);
  decodeEveryLink(copy.data(), length);
  arpRoundTrip(copy.data(), length);
  echoReplies(copy.data(), length);
  neighbourRoundTrip(copy.data(), length);
  refragment(copy.data(), length);
  addressLiterals(copy.data(), size);
  return 0;
}
