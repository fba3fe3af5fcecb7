// The L2/L3 helpers the DPDK backend builds on (src/net: checksums, header writers, ARP / ND
// messages, the shared neighbour table) and the [dpdk] config interpretation. No DPDK I/O.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "src/io/dpdk/dpdk_config.h"
#include "src/io/dpdk/dpdk_layout.h"
#include "src/io/dpdk/next_hop_cache.h"
#include "src/net/checksum.h"
#include "src/net/frame.h"
#include "src/net/neighbour_discovery.h"
#include "src/net/neighbour_table.h"
#include "src/net/refragment.h"

namespace sipshield {
namespace {

net::IpAddress ip(std::string_view text) { return net::IpAddress::parse(text).value(); }

// RFC 1071 §3's worked example, and a textbook IPv4 header whose checksum is 0xB861.
TEST(Checksum, KnownVectors) {
  const uint8_t rfc1071[] = {0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7};
  EXPECT_EQ(net::checksumFold(net::checksumAdd(rfc1071, sizeof(rfc1071), 0)),
            static_cast<uint16_t>(~0xDDF2 & 0xFFFF));
  const uint8_t header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7};
  EXPECT_EQ(net::ipv4HeaderChecksum(header, sizeof(header)), 0xB861);
}

// Summing in pieces (even offsets) equals summing at once, odd tails included.
TEST(Checksum, ChunkedEqualsWhole) {
  uint8_t data[301];
  for (size_t i = 0; i < sizeof(data); ++i) {
    data[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  const uint64_t whole = net::checksumAdd(data, sizeof(data), 0);
  for (size_t split : {2u, 6u, 8u, 100u, 300u}) {
    const uint64_t parts = net::checksumAdd(data + split, sizeof(data) - split,
                                            net::checksumAdd(data, split, 0));
    EXPECT_EQ(net::checksumFold(parts), net::checksumFold(whole)) << split;
  }
}

// The word-at-a-time sum agrees with a byte-pair reference for every length and offset.
TEST(Checksum, MatchesReferenceForAllLengths) {
  uint8_t data[160];
  for (size_t i = 0; i < sizeof(data); ++i) {
    data[i] = static_cast<uint8_t>(i * 91 + 3);
  }
  for (size_t start = 0; start < 8; start += 2) {
    for (size_t length = 0; length + start <= sizeof(data); ++length) {
      uint64_t reference = 0;
      for (size_t i = 0; i < length; i += 2) {
        reference += static_cast<uint32_t>(data[start + i] << 8) |
                     (i + 1 < length ? data[start + i + 1] : 0);
      }
      EXPECT_EQ(net::checksumFold(net::checksumAdd(data + start, length, 5)),
                net::checksumFold(reference + 5))
          << "start " << start << " length " << length;
    }
  }
}

// writeIpv4 builds the textbook header above byte for byte (checksum 0xB861), and every field
// it takes lands where RFC 791 puts it, the checksum always verifying.
TEST(Frame, WriteIpv4FieldsAndChecksum) {
  const uint8_t textbook[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0xB8, 0x61, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7};
  const uint8_t source[] = {0xC0, 0xA8, 0x00, 0x01};
  const uint8_t destination[] = {0xC0, 0xA8, 0x00, 0xC7};
  net::Ipv4Fields fields;
  fields.source = source;
  fields.destination = destination;
  fields.payload_length = 0x73 - 20;
  fields.dont_fragment = true;
  uint8_t out[20];
  ASSERT_EQ(net::writeIpv4(out, fields), 20u);
  EXPECT_EQ(0, std::memcmp(out, textbook, sizeof(out)));

  fields.protocol = 1;
  fields.ttl = 3;
  fields.id = 0xBEEF;
  fields.payload_length = 1480;
  fields.fragment_offset = 2960;
  fields.more_fragments = true;
  fields.dont_fragment = false;
  ASSERT_EQ(net::writeIpv4(out, fields), 20u);
  EXPECT_EQ(out[0], 0x45);
  EXPECT_EQ(net::load16(out + 2), 1500);
  EXPECT_EQ(net::load16(out + 4), 0xBEEF);
  EXPECT_EQ(net::load16(out + 6), 0x2000 | (2960 / 8));
  EXPECT_EQ(out[8], 3);
  EXPECT_EQ(out[9], 1);
  EXPECT_EQ(0, std::memcmp(out + 12, source, 4));
  EXPECT_EQ(0, std::memcmp(out + 16, destination, 4));
  EXPECT_EQ(net::ipv4HeaderChecksum(out, sizeof(out)), 0);
}

// writeUdp's checksum verifies against the pseudo-header for both families.
TEST(Frame, UdpChecksumVerifies) {
  const std::string payload = "OPTIONS sip:x SIP/2.0\r\n\r\n";
  const auto* data = reinterpret_cast<const uint8_t*>(payload.data());
  for (auto [s, d] : {std::pair{"198.18.0.2", "198.18.0.1"}, {"2001:db8::2", "2001:db8::1"}}) {
    uint8_t buffer[8 + 64];
    (void)net::writeUdp(buffer, ip(s), 5070, ip(d), 5060, data,
                        static_cast<uint32_t>(payload.size()));
    std::memcpy(buffer + 8, data, payload.size());
    const uint32_t length = static_cast<uint32_t>(8 + payload.size());
    EXPECT_EQ(net::checksumFold(net::checksumAdd(
                  buffer, length, net::pseudoHeaderSum(ip(s), ip(d), 17, length))),
              0)
        << s;
    EXPECT_EQ(net::load16(buffer), 5070);
    EXPECT_EQ(net::load16(buffer + 2), 5060);
    EXPECT_EQ(net::load16(buffer + 4), length);
    // The checksum written from the header's fields is the one summed from its bytes.
    uint8_t header[8];
    std::memcpy(header, buffer, 8);
    net::store16(header + 6, 0);
    EXPECT_EQ(net::udpChecksum(ip(s), ip(d), header, data, static_cast<uint32_t>(payload.size())),
              net::load16(buffer + 6))
        << s;
  }
}

// parseEthernet: untagged, one tag, QinQ refused, short frames refused.
TEST(Frame, ParseEthernet) {
  uint8_t frame[64] = {};
  const net::MacAddress a{{2, 0, 0, 0, 0, 1}}, b{{2, 0, 0, 0, 0, 2}};
  net::L2Frame l2;
  ASSERT_EQ(net::writeEthernet(frame, a, b, 0, net::kEtherTypeIpv4), 14u);
  ASSERT_TRUE(net::parseEthernet(frame, 60, l2));
  EXPECT_EQ(l2.destination, a);
  EXPECT_EQ(l2.source, b);
  EXPECT_EQ(l2.vlan, 0);
  EXPECT_EQ(l2.l3_offset, 14u);
  ASSERT_EQ(net::writeEthernet(frame, a, b, 42, net::kEtherTypeArp), 18u);
  ASSERT_TRUE(net::parseEthernet(frame, 60, l2));
  EXPECT_EQ(l2.vlan, 42);
  EXPECT_EQ(l2.ether_type, net::kEtherTypeArp);
  EXPECT_EQ(l2.l3_offset, 18u);
  EXPECT_FALSE(net::parseEthernet(frame, 13, l2));
  net::store16(frame + 16, net::kEtherTypeVlan);
  EXPECT_FALSE(net::parseEthernet(frame, 60, l2));
}

// ARP round trip; malformed hardware/protocol types are refused.
// A whole UDP packet of `payload_bytes` in an Ethernet frame, IPv4 or IPv6.
std::vector<uint8_t> udpFrame(bool v4, size_t payload_bytes) {
  const net::IpAddress from = ip(v4 ? "198.18.0.2" : "2001:db8::2");
  const net::IpAddress to = ip(v4 ? "198.18.0.1" : "2001:db8::1");
  std::vector<uint8_t> payload(payload_bytes);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  const uint32_t l3 = v4 ? net::kIpv4HeaderBytes : net::kIpv6HeaderBytes;
  std::vector<uint8_t> frame(14 + l3 + 8 + payload.size());
  (void)net::writeEthernet(frame.data(), net::MacAddress{{2, 0, 0, 0, 0, 1}},
                           net::MacAddress{{2, 0, 0, 0, 0, 2}}, 0,
                           v4 ? net::kEtherTypeIpv4 : net::kEtherTypeIpv6);
  const auto udp_length = static_cast<uint16_t>(8 + payload.size());
  if (v4) {
    net::Ipv4Fields fields;
    fields.source = from.bytes;
    fields.destination = to.bytes;
    fields.payload_length = udp_length;
    fields.id = 0x4242;
    (void)net::writeIpv4(frame.data() + 14, fields);
  } else {
    (void)net::writeIpv6(frame.data() + 14, from.bytes, to.bytes, net::kIpProtoUdp, 64,
                         udp_length);
  }
  (void)net::writeUdp(frame.data() + 14 + l3, from, 5070, to, 5353, payload.data(),
                      static_cast<uint32_t>(payload.size()));
  std::copy(payload.begin(), payload.end(), frame.begin() + 14 + l3 + 8);
  return frame;
}

// withExtensionHeaders inserts IPv6 extension headers (type, bytes: a multiple of 8) between
// the fixed header and the upper layer of `frame` (from udpFrame(false, ...)), chaining their
// Next Header fields and growing the payload length.
std::vector<uint8_t> withExtensionHeaders(std::vector<uint8_t> frame,
                                          const std::vector<std::pair<uint8_t, uint32_t>>& headers) {
  const size_t ip = 14;
  std::vector<uint8_t> inserted;
  uint8_t upper = frame[ip + 6];
  for (size_t h = 0; h < headers.size(); ++h) {
    const uint32_t bytes = headers[h].second;
    std::vector<uint8_t> header(bytes, static_cast<uint8_t>(0x30 + h));  // options: any bytes
    header[0] = h + 1 < headers.size() ? headers[h + 1].first : upper;
    header[1] = static_cast<uint8_t>(bytes / 8 - 1);
    inserted.insert(inserted.end(), header.begin(), header.end());
  }
  frame[ip + 6] = headers.front().first;
  net::store16(frame.data() + ip + 4,
               static_cast<uint16_t>(net::load16(frame.data() + ip + 4) + inserted.size()));
  frame.insert(frame.begin() + ip + net::kIpv6HeaderBytes, inserted.begin(), inserted.end());
  return frame;
}

// A reassembled packet too big for the TAP is cut into fragments of at most the MTU that put
// back together (by offset) give the original IP payload; IPv4 keeps its identification and
// gets valid header checksums, IPv6 gets fragment headers naming UDP; a packet that fits is
// copied as it is.
TEST(Refragment, FragmentsPutBackTogetherGiveThePacket) {
  for (bool v4 : {true, false}) {
    for (size_t bytes : {100u, 1452u, 3000u, 9000u}) {
      SCOPED_TRACE((v4 ? "IPv4 " : "IPv6 ") + std::to_string(bytes));
      const std::vector<uint8_t> frame = udpFrame(v4, bytes);
      const uint32_t l3 = v4 ? net::kIpv4HeaderBytes : net::kIpv6HeaderBytes;
      net::FragmentPlan plan;
      ASSERT_TRUE(net::planFragments(frame.data(), static_cast<uint32_t>(frame.size()), 14,
                                     1500, plan));
      const size_t ip_payload = frame.size() - 14 - l3;
      EXPECT_EQ(plan.count, l3 + ip_payload <= 1500 ? 1u : (ip_payload + plan.chunk - 1) /
                                                              plan.chunk);
      std::vector<uint8_t> rebuilt(ip_payload, 0xEE);
      size_t covered = 0;
      for (uint32_t i = 0; i < plan.count; ++i) {
        std::vector<uint8_t> out(net::fragmentFrameBytes(plan, i));
        net::writeFragment(frame.data(), plan, i, 0xABCD1234, out.data());
        ASSERT_LE(out.size() - 14, 1500u);
        EXPECT_TRUE(std::equal(out.begin(), out.begin() + 14, frame.begin()));  // L2 kept
        const uint8_t* ip6 = out.data() + 14;
        uint32_t offset = 0;
        bool more = false;
        const uint8_t* data = nullptr;
        size_t length = 0;
        if (plan.count == 1) {
          EXPECT_EQ(out, frame);
          data = ip6 + l3;
          length = out.size() - 14 - l3;
        } else if (v4) {
          EXPECT_EQ(net::ipv4HeaderChecksum(ip6, l3), 0) << "a valid header sums to zero";
          EXPECT_EQ(net::load16(ip6 + 4), 0x4242);
          const uint16_t flags = net::load16(ip6 + 6);
          offset = (flags & 0x1FFFu) * 8u;
          more = (flags & 0x2000u) != 0;
          length = net::load16(ip6 + 2) - l3;
          data = ip6 + l3;
          EXPECT_EQ(length + l3 + 14, out.size());
        } else {
          EXPECT_EQ(ip6[6], net::kIpProtoFragment);
          const uint8_t* fragment = ip6 + l3;
          EXPECT_EQ(fragment[0], net::kIpProtoUdp);
          const uint16_t word = net::load16(fragment + 2);
          offset = word & 0xFFF8u;
          more = (word & 1u) != 0;
          EXPECT_EQ(net::load16(fragment + 4), 0xABCD);
          EXPECT_EQ(net::load16(fragment + 6), 0x1234);
          length = net::load16(ip6 + 4) - 8u;
          data = fragment + 8;
        }
        EXPECT_EQ(more, i + 1 < plan.count);
        ASSERT_LE(offset + length, rebuilt.size());
        std::copy(data, data + length, rebuilt.begin() + offset);
        covered += length;
      }
      EXPECT_EQ(covered, ip_payload);
      EXPECT_TRUE(std::equal(rebuilt.begin(), rebuilt.end(), frame.begin() + 14 + l3));
    }
  }
}

// What cannot be cut: a fragment, IPv6 extension headers past the packet or leaving no room,
// an MTU below the minimum, a length field past the bytes, something that is not IP.
TEST(Refragment, RefusesWhatItCannotCut) {
  net::FragmentPlan plan;
  std::vector<uint8_t> v4 = udpFrame(true, 3000);
  EXPECT_FALSE(net::planFragments(v4.data(), static_cast<uint32_t>(v4.size()), 14, 60, plan));
  EXPECT_FALSE(net::planFragments(v4.data(), static_cast<uint32_t>(v4.size()) - 1, 14, 1500,
                                  plan));
  std::vector<uint8_t> fragment = v4;
  net::store16(fragment.data() + 14 + 6, 0x2000);
  EXPECT_FALSE(net::planFragments(fragment.data(), static_cast<uint32_t>(fragment.size()), 14,
                                  1500, plan));
  std::vector<uint8_t> v6 = udpFrame(false, 3000);
  EXPECT_FALSE(net::planFragments(v6.data(), static_cast<uint32_t>(v6.size()), 14, 1000, plan));
  std::vector<uint8_t> v6_fragment = v6;
  v6_fragment[14 + 6] = net::kIpProtoFragment;
  EXPECT_FALSE(net::planFragments(v6_fragment.data(), static_cast<uint32_t>(v6_fragment.size()),
                                  14, 1500, plan));
  // A hop-by-hop header whose length runs past the packet.
  std::vector<uint8_t> v6_short = udpFrame(false, 100);
  v6_short[14 + 6] = 0;
  v6_short[14 + 40 + 1] = 200;
  EXPECT_FALSE(net::planFragments(v6_short.data(), static_cast<uint32_t>(v6_short.size()), 14,
                                  1500, plan));
  // A routing header so long that no payload fits beside it in 1280 bytes.
  std::vector<uint8_t> v6_long = withExtensionHeaders(udpFrame(false, 3000), {{43, 1272}});
  EXPECT_FALSE(net::planFragments(v6_long.data(), static_cast<uint32_t>(v6_long.size()), 14,
                                  1280, plan));
  v6[14] = 0x50;  // version 5
  EXPECT_FALSE(net::planFragments(v6.data(), static_cast<uint32_t>(v6.size()), 14, 1500, plan));
}

// RFC 8200 §4.5: hop-by-hop, routing and a destination options header ahead of a routing
// header stay in front of the fragment header in every fragment, whose Next Header the last of
// them now names; a destination options header after routing goes with the payload.
TEST(Refragment, Ipv6ExtensionHeadersStayInFront) {
  struct Case {
    std::vector<std::pair<uint8_t, uint32_t>> headers;  // (type, bytes) after the fixed header
    uint32_t unfragmentable;                            // bytes kept in front, fixed included
    uint8_t fragmentable_next;                          // what the fragment header names
  };
  const Case cases[] = {
      {{{0, 8}}, 48, net::kIpProtoUdp},
      {{{0, 8}, {60, 16}, {43, 24}}, 88, net::kIpProtoUdp},
      {{{0, 8}, {43, 24}, {60, 8}}, 72, 60},
      {{{60, 8}}, 40, 60},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.unfragmentable);
    const std::vector<uint8_t> frame = withExtensionHeaders(udpFrame(false, 3000), c.headers);
    net::FragmentPlan plan;
    ASSERT_TRUE(net::planFragments(frame.data(), static_cast<uint32_t>(frame.size()), 14, 1280,
                                   plan));
    EXPECT_EQ(plan.l3_header, c.unfragmentable);
    ASSERT_GT(plan.count, 1u);
    const uint8_t* original = frame.data() + 14;
    const size_t ip_payload = frame.size() - 14 - plan.l3_header;
    std::vector<uint8_t> rebuilt(ip_payload, 0xEE);
    size_t covered = 0;
    for (uint32_t i = 0; i < plan.count; ++i) {
      std::vector<uint8_t> out(net::fragmentFrameBytes(plan, i));
      net::writeFragment(frame.data(), plan, i, 0xABCD1234, out.data());
      ASSERT_LE(out.size() - 14, 1280u);
      const uint8_t* ip6 = out.data() + 14;
      EXPECT_EQ(net::load16(ip6 + 4), out.size() - 14 - net::kIpv6HeaderBytes);
      // The unfragmentable part is the original's but for the one Next Header byte.
      for (uint32_t b = 0; b < plan.l3_header; ++b) {
        if (b == 4 || b == 5) {
          continue;  // payload length
        }
        if (b == plan.next_header_at) {
          EXPECT_EQ(ip6[b], net::kIpProtoFragment);
        } else {
          EXPECT_EQ(ip6[b], original[b]) << "byte " << b;
        }
      }
      const uint8_t* fragment = ip6 + plan.l3_header;
      EXPECT_EQ(fragment[0], c.fragmentable_next);
      const uint16_t word = net::load16(fragment + 2);
      const uint32_t offset = word & 0xFFF8u;
      EXPECT_EQ((word & 1u) != 0, i + 1 < plan.count);
      const size_t length = out.size() - 14 - plan.l3_header - 8;
      ASSERT_LE(offset + length, rebuilt.size());
      std::copy(fragment + 8, fragment + 8 + length, rebuilt.begin() + offset);
      covered += length;
    }
    EXPECT_EQ(covered, ip_payload);
    EXPECT_TRUE(std::equal(rebuilt.begin(), rebuilt.end(), original + plan.l3_header));
  }
}

TEST(NeighbourDiscovery, ArpRoundTrip) {
  net::ArpMessage m;
  m.op = net::kArpRequest;
  m.sender_mac = net::MacAddress{{2, 0, 0, 0, 0, 9}};
  std::memcpy(m.sender_ip, ip("198.18.0.2").bytes, 4);
  std::memcpy(m.target_ip, ip("198.18.0.1").bytes, 4);
  uint8_t packet[net::kArpBytes];
  ASSERT_EQ(net::writeArp(packet, m), net::kArpBytes);
  net::ArpMessage back;
  ASSERT_TRUE(net::parseArp(packet, sizeof(packet), back));
  EXPECT_EQ(back.op, m.op);
  EXPECT_EQ(back.sender_mac, m.sender_mac);
  EXPECT_EQ(std::memcmp(back.target_ip, m.target_ip, 4), 0);
  EXPECT_FALSE(net::parseArp(packet, sizeof(packet) - 1, back));
  packet[5] = 16;  // IPv6-sized protocol address
  EXPECT_FALSE(net::parseArp(packet, sizeof(packet), back));
}

// A neighbour solicitation we write parses back with its option; bad option lengths fail.
TEST(NeighbourDiscovery, SolicitationRoundTrip) {
  const net::IpAddress source = ip("2001:db8::2"), target = ip("2001:db8::1");
  const net::IpAddress group = net::solicitedNodeMulticast(target);
  EXPECT_EQ(group, ip("ff02::1:ff00:1"));
  uint8_t message[net::kNeighbourMessageBytes];
  const net::MacAddress mac{{2, 0, 0, 0, 0, 7}};
  (void)net::writeNeighbourMessage(message, net::kIcmpv6NeighbourSolicitation, source, group,
                                   target, mac, false);
  net::NeighbourMessage nd;
  ASSERT_TRUE(net::parseNeighbourMessage(message, sizeof(message), nd));
  EXPECT_EQ(nd.type, net::kIcmpv6NeighbourSolicitation);
  EXPECT_EQ(nd.target, target);
  EXPECT_TRUE(nd.has_link_address);
  EXPECT_EQ(nd.link_address, mac);
  message[25] = 0;  // zero-length option (RFC 4861 §4.6: invalid)
  EXPECT_FALSE(net::parseNeighbourMessage(message, sizeof(message), nd));
}

// learn/lookup, update only touches known hosts, solicitation is rate-limited.
TEST(NeighbourTable, LearnUpdateSolicit) {
  net::NeighbourTable table(16);
  const net::MacAddress m1{{2, 0, 0, 0, 0, 1}}, m2{{2, 0, 0, 0, 0, 2}};
  net::MacAddress out;
  EXPECT_FALSE(table.lookup(ip("198.18.0.2"), out));
  EXPECT_FALSE(table.update(ip("198.18.0.2"), m1, 1));
  EXPECT_FALSE(table.lookup(ip("198.18.0.2"), out));
  EXPECT_TRUE(table.learn(ip("198.18.0.2"), m1, 1));
  ASSERT_TRUE(table.lookup(ip("198.18.0.2"), out));
  EXPECT_EQ(out, m1);
  EXPECT_TRUE(table.update(ip("198.18.0.2"), m2, 2));
  ASSERT_TRUE(table.lookup(ip("198.18.0.2"), out));
  EXPECT_EQ(out, m2);
  // v4 and v6 keys never collide as equal.
  EXPECT_FALSE(table.lookup(ip("::c612:2"), out));
  EXPECT_TRUE(table.shouldSolicit(ip("198.18.0.9"), 1000, 1000));
  EXPECT_FALSE(table.shouldSolicit(ip("198.18.0.9"), 1500, 1000));
  EXPECT_TRUE(table.shouldSolicit(ip("198.18.0.9"), 2000, 1000));
  EXPECT_FALSE(table.lookup(ip("198.18.0.9"), out));  // solicited is not resolved
}

// A full table refuses new hosts and keeps the old ones.
TEST(NeighbourTable, FullTableRefuses) {
  net::NeighbourTable table(16);
  net::IpAddress a = ip("10.0.0.0");
  for (int i = 0; i < 16; ++i) {
    a.bytes[3] = static_cast<uint8_t>(i);
    EXPECT_TRUE(table.learn(a, net::MacAddress{{2, 0, 0, 0, 0, static_cast<uint8_t>(i)}}, 1));
  }
  a.bytes[3] = 200;
  EXPECT_FALSE(table.learn(a, net::MacAddress{}, 1));
  EXPECT_FALSE(table.shouldSolicit(a, 1, 1000));
  net::MacAddress out;
  a.bytes[3] = 7;
  ASSERT_TRUE(table.lookup(a, out));
  EXPECT_EQ(out.bytes[5], 7);
}

// Two threads learning the same and different hosts at once leave one entry per host.
TEST(NeighbourTable, ConcurrentLearners) {
  net::NeighbourTable table(1024);
  auto worker = [&table](uint8_t id) {
    for (int round = 0; round < 200; ++round) {
      for (int h = 0; h < 100; ++h) {
        net::IpAddress a = ip("10.1.0.0");
        a.bytes[3] = static_cast<uint8_t>(h);
        (void)table.learn(a, net::MacAddress{{2, 0, 0, 0, id, static_cast<uint8_t>(h)}}, 1);
      }
    }
  };
  std::thread t1(worker, 1), t2(worker, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(table.size(), 100u);
  for (int h = 0; h < 100; ++h) {
    net::IpAddress a = ip("10.1.0.0");
    a.bytes[3] = static_cast<uint8_t>(h);
    net::MacAddress out;
    ASSERT_TRUE(table.lookup(a, out));
    EXPECT_EQ(out.bytes[5], h);
  }
}

struct AddressCase {
  const char* description;
  const char* text;
  bool ok;
  uint8_t prefix;
  uint16_t port;
};

// parseDpdkAddress accepts ADDRESS/PREFIX[@PORT] and nothing else.
TEST(DpdkConfig, ParseAddress) {
  const AddressCase cases[] = {
      {"v4", "198.18.0.1/24", true, 24, 0},
      {"v4 on port 1", "198.18.1.1/24@1", true, 24, 1},
      {"v6", "2001:db8::1/64", true, 64, 0},
      {"no prefix", "198.18.0.1", false, 0, 0},
      {"v4 prefix too long", "198.18.0.1/33", false, 0, 0},
      {"not an address", "host/24", false, 0, 0},
      {"bad port", "198.18.0.1/24@x", false, 0, 0},
  };
  for (const AddressCase& c : cases) {
    auto parsed = io::parseDpdkAddress(c.text);
    EXPECT_EQ(parsed.has_value(), c.ok) << c.description;
    if (parsed && c.ok) {
      EXPECT_EQ(parsed->prefix_length, c.prefix) << c.description;
      EXPECT_EQ(parsed->port, c.port) << c.description;
    }
  }
}

struct ConfigCase {
  const char* description;
  std::map<std::string, std::string> port;
  std::vector<std::string> addresses;
  std::string listen;
  const char* error;  // substring, or nullptr for success
};

// dpdkBackendConfig names the key at fault.
TEST(DpdkConfig, FromDaemonConfig) {
  const ConfigCase cases[] = {
      {"ok", {{"device", "net_null0"}, {"vlan", "7"}, {"gateway", "198.18.0.254"}},
       {"198.18.0.1/24"}, "198.18.0.1:5060", nullptr},
      {"no device", {{"vlan", "7"}}, {"198.18.0.1/24"}, "198.18.0.1:5060", "device"},
      {"bad vlan", {{"device", "x"}, {"vlan", "5000"}}, {"198.18.0.1/24"}, "198.18.0.1:5060",
       "vlan"},
      {"v6 gateway in v4 key", {{"device", "x"}, {"gateway", "2001:db8::1"}},
       {"198.18.0.1/24"}, "198.18.0.1:5060", "gateway"},
      {"unknown key", {{"device", "x"}, {"colour", "red"}}, {"198.18.0.1/24"},
       "198.18.0.1:5060", "colour"},
      {"address on missing port", {{"device", "x"}}, {"198.18.0.1/24@3"}, "198.18.0.1:5060",
       "port 3"},
      {"listen not owned", {{"device", "x"}}, {"198.18.0.1/24"}, "198.18.0.9:5060",
       "server.listen"},
      {"queues differ from workers", {{"device", "x"}, {"rx_queues", "4"}}, {"198.18.0.1/24"},
       "198.18.0.1:5060", "rx_queues"},
  };
  for (const ConfigCase& c : cases) {
    Config config;
    config.server.workers = 1;
    config.server.listen = {net::Endpoint::parse(c.listen).value()};
    config.dpdk.present = true;
    config.dpdk.ports.push_back(DpdkPortConfig{c.port});
    config.dpdk.addresses = c.addresses;
    auto result = io::dpdkBackendConfig(config);
    if (c.error == nullptr) {
      ASSERT_TRUE(result.isOk()) << c.description << ": " << result.status().toString();
      EXPECT_EQ(result->ports[0].vlan, 7) << c.description;
      ASSERT_TRUE(result->ports[0].gateway.has_value());
    } else {
      ASSERT_FALSE(result.isOk()) << c.description;
      EXPECT_NE(result.status().message().find(c.error), std::string::npos)
          << c.description << ": " << result.status().message();
    }
  }
}

// exception_path: "tap" turns the TAP on (named after the port unless named), "none" off;
// anything else, or a name the kernel would refuse or net_tap's argument list would split, is
// an error naming the key.
TEST(DpdkConfig, ExceptionPath) {
  struct Row {
    const char* description;
    std::map<std::string, std::string> port;
    const char* error;  // nullptr: accepted
    bool tap;
    const char* name;
  };
  const Row rows[] = {
      {"default off", {{"device", "x"}}, nullptr, false, ""},
      {"tap, default name", {{"device", "x"}, {"exception_path", "tap"}}, nullptr, true,
       "sipshield0"},
      {"tap, named", {{"device", "x"}, {"exception_path", "tap"}, {"exception_name", "lb0"}},
       nullptr, true, "lb0"},
      {"none", {{"device", "x"}, {"exception_path", "none"}}, nullptr, false, ""},
      {"unknown kind", {{"device", "x"}, {"exception_path", "virtio"}}, "exception_path",
       false, ""},
      {"name too long", {{"device", "x"}, {"exception_name", "a-very-long-ifname"}},
       "exception_name", false, ""},
      {"name splits vdev args", {{"device", "x"}, {"exception_name", "a,b=c"}},
       "exception_name", false, ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.description);
    Config config;
    config.server.workers = 1;
    config.server.listen = {net::Endpoint::parse("198.18.0.1:5060").value()};
    config.dpdk.present = true;
    config.dpdk.ports.push_back(DpdkPortConfig{row.port});
    config.dpdk.addresses = {"198.18.0.1/24"};
    auto result = io::dpdkBackendConfig(config);
    if (row.error != nullptr) {
      ASSERT_FALSE(result.isOk());
      EXPECT_NE(result.status().message().find(row.error), std::string::npos)
          << result.status().message();
      continue;
    }
    ASSERT_TRUE(result.isOk()) << result.status().toString();
    EXPECT_EQ(result->ports[0].exception_tap, row.tap);
    EXPECT_EQ(result->ports[0].exception_name, row.name);
  }
}

// route: on-link prefixes first (longest is not needed: prefixes do not overlap here), then a
// gateway of the destination's family; sourceFor prefers the same prefix.
TEST(DpdkLayout, RouteAndSource) {
  io::DpdkLayout layout;
  layout.ports.resize(2);
  layout.ports[0].addresses = {*io::parseDpdkAddress("198.18.0.1/24")};
  layout.ports[1].addresses = {*io::parseDpdkAddress("198.18.1.1/24@1"),
                               *io::parseDpdkAddress("198.18.9.1/24@1")};
  layout.ports[1].gateway = ip("198.18.1.254");
  net::IpAddress hop;
  EXPECT_EQ(layout.route(ip("198.18.0.7"), hop), 0);
  EXPECT_EQ(hop, ip("198.18.0.7"));
  EXPECT_EQ(layout.route(ip("198.18.1.7"), hop), 1);
  EXPECT_EQ(layout.route(ip("203.0.113.5"), hop), 1);
  EXPECT_EQ(hop, ip("198.18.1.254"));
  EXPECT_EQ(layout.route(ip("2001:db8::5"), hop), -1);
  net::IpAddress source;
  ASSERT_TRUE(layout.sourceFor(1, ip("198.18.9.20"), source));
  EXPECT_EQ(source, ip("198.18.9.1"));
  ASSERT_TRUE(layout.sourceFor(1, ip("198.18.1.254"), source));
  EXPECT_EQ(source, ip("198.18.1.1"));
  EXPECT_FALSE(layout.sourceFor(0, ip("2001:db8::1"), source));
  EXPECT_TRUE(io::prefixContains(ip("198.18.0.0"), 15, ip("198.19.255.255")));
  EXPECT_FALSE(io::prefixContains(ip("198.18.0.0"), 15, ip("198.20.0.0")));
}

// NextHopCache gives route()'s answer for every destination, whichever line it lands on and
// however often lines are replaced, and reads the next hop's MAC through the table each time:
// unknown until learned, then every change seen at once.
TEST(DpdkLayout, NextHopCacheMatchesRouteAndSeesNeighbourChanges) {
  io::DpdkLayout layout;
  layout.ports.resize(2);
  layout.ports[0].addresses = {*io::parseDpdkAddress("198.18.0.1/24")};
  layout.ports[1].addresses = {*io::parseDpdkAddress("198.18.1.1/24@1"),
                               *io::parseDpdkAddress("2001:db8::1/64@1")};
  layout.ports[1].gateway = ip("198.18.1.254");
  net::NeighbourTable table(1024);
  io::NextHopCache cache(layout, table);
  std::vector<net::IpAddress> destinations;
  for (int i = 0; i < 300; ++i) {
    destinations.push_back(ip("198.18.0." + std::to_string(i % 250 + 2)));
    destinations.push_back(ip("203.0." + std::to_string(i % 7) + "." + std::to_string(i % 250)));
    destinations.push_back(ip("2001:db8::" + std::to_string(i + 2)));
    destinations.push_back(ip("2001:db9::" + std::to_string(i + 2)));  // no route
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const net::IpAddress& d : destinations) {
      net::IpAddress expected_hop;
      const int expected = layout.route(d, expected_hop);
      net::IpAddress hop;
      net::MacAddress mac;
      bool has_mac = true;
      ASSERT_EQ(cache.route(d, hop, mac, has_mac), expected) << d.toString();
      if (expected >= 0) {
        EXPECT_EQ(hop, expected_hop) << d.toString();
      }
      EXPECT_FALSE(has_mac) << d.toString();  // nothing learned yet
    }
  }
  const net::MacAddress first{{2, 0, 0, 0, 0, 1}};
  const net::MacAddress second{{2, 0, 0, 0, 0, 2}};
  ASSERT_TRUE(table.learn(ip("198.18.1.254"), first, 1));
  net::IpAddress hop;
  net::MacAddress mac;
  bool has_mac = false;
  ASSERT_EQ(cache.route(ip("203.0.1.1"), hop, mac, has_mac), 1);
  ASSERT_TRUE(has_mac);
  EXPECT_EQ(mac, first);
  ASSERT_TRUE(table.update(ip("198.18.1.254"), second, 2));
  ASSERT_EQ(cache.route(ip("203.0.1.1"), hop, mac, has_mac), 1);
  ASSERT_TRUE(has_mac);
  EXPECT_EQ(mac, second);
  // An on-link host resolves on its own entry, not the gateway's.
  ASSERT_EQ(cache.route(ip("198.18.0.9"), hop, mac, has_mac), 0);
  EXPECT_FALSE(has_mac);
  ASSERT_TRUE(table.learn(ip("198.18.0.9"), first, 3));
  ASSERT_EQ(cache.route(ip("198.18.0.9"), hop, mac, has_mac), 0);
  EXPECT_TRUE(has_mac);
}

// prefixContains compares masked 64-bit words: every prefix length, both families, the bit
// right after the prefix and the last bit inside it.
TEST(DpdkLayout, PrefixContainsAtEveryLength) {
  EXPECT_TRUE(io::prefixContains(ip("0.0.0.0"), 0, ip("203.0.113.9")));
  EXPECT_TRUE(io::prefixContains(ip("198.18.0.1"), 32, ip("198.18.0.1")));
  EXPECT_FALSE(io::prefixContains(ip("198.18.0.1"), 32, ip("198.18.0.0")));
  EXPECT_FALSE(io::prefixContains(ip("198.18.0.0"), 33, ip("198.18.0.0")));  // too long
  EXPECT_FALSE(io::prefixContains(ip("198.18.0.0"), 16, ip("2001:db8::1")));  // family
  EXPECT_TRUE(io::prefixContains(ip("::"), 0, ip("2001:db8::1")));
  EXPECT_FALSE(io::prefixContains(ip("2001:db8::1"), 129, ip("2001:db8::1")));
  // Flip the last bit inside the prefix: outside. Flip the first bit after it: inside.
  const auto everyLength = [](const net::IpAddress& base, uint8_t bits) {
    for (uint8_t length = 1; length <= bits; ++length) {
      net::IpAddress inside_flip = base;
      inside_flip.bytes[(length - 1) / 8] ^= static_cast<uint8_t>(0x80 >> ((length - 1) % 8));
      EXPECT_FALSE(io::prefixContains(base, length, inside_flip)) << int{length};
      if (length < bits) {
        net::IpAddress after_flip = base;
        after_flip.bytes[length / 8] ^= static_cast<uint8_t>(0x80 >> (length % 8));
        EXPECT_TRUE(io::prefixContains(base, length, after_flip)) << int{length};
      }
    }
  };
  everyLength(ip("2001:db8:1234:5678:9abc:def0:1357:2468"), 128);
  everyLength(ip("198.18.170.85"), 32);
}

}  // namespace
}  // namespace sipshield
