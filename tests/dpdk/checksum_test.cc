// The Internet-checksum kernels (src/net/checksum_kernel.h): every kernel the CPU supports
// against the portable one and a byte-pair reference, for every length and alignment a
// datagram can have, and RFC 1071's worked example. No DPDK: built with or without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "src/net/checksum.h"
#include "src/net/checksum_kernel.h"
#include "src/net/endpoint.h"
#include "src/net/frame.h"

namespace sipshield {
namespace {

using net::ChecksumIsa;

// reference is RFC 1071 §4.1's loop: big-endian 16-bit words, an odd last byte padded with
// zero, added to `sum`.
uint64_t reference(const uint8_t* data, size_t length, uint64_t sum) {
  for (size_t i = 0; i < length; i += 2) {
    sum += static_cast<uint32_t>(data[i] << 8) | (i + 1 < length ? data[i + 1] : 0u);
  }
  return sum;
}

std::vector<ChecksumIsa> supportedKernels() {
  std::vector<ChecksumIsa> out;
  for (ChecksumIsa isa : {ChecksumIsa::Portable, ChecksumIsa::Avx2}) {
    if (net::checksumIsaSupported(isa)) {
      out.push_back(isa);
    }
  }
  return out;
}

// The best supported kernel is the one checksumAdd uses for long inputs.
TEST(ChecksumKernels, ActiveIsBestSupported) {
  EXPECT_EQ(net::activeChecksumIsa(), net::checksumIsaSupported(ChecksumIsa::Avx2)
                                          ? ChecksumIsa::Avx2
                                          : ChecksumIsa::Portable);
  if (!net::checksumIsaSupported(ChecksumIsa::Avx2)) {
    GTEST_SKIP() << "no AVX2 on this CPU: only the portable kernel is tested";
  }
}

// setChecksumIsa switches the kernel behind checksumAdd; the result does not change.
TEST(ChecksumKernels, SetChecksumIsaKeepsResults) {
  std::vector<uint8_t> data(1082);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  const ChecksumIsa before = net::activeChecksumIsa();
  const uint64_t expected = net::checksumAddPortable(data.data(), data.size(), 3);
  for (ChecksumIsa isa : supportedKernels()) {
    ASSERT_TRUE(net::setChecksumIsa(isa));
    EXPECT_EQ(net::activeChecksumIsa(), isa);
    EXPECT_EQ(net::checksumAdd(data.data(), data.size(), 3), expected)
        << net::checksumIsaName(isa);
  }
  if (!net::checksumIsaSupported(ChecksumIsa::Avx2)) {
    EXPECT_FALSE(net::setChecksumIsa(ChecksumIsa::Avx2));
  }
  ASSERT_TRUE(net::setChecksumIsa(before));
}

// Known vectors, each through every kernel and checksumAdd: a table of description, input,
// running sum in, expected folded checksum.
TEST(ChecksumKernels, KnownVectors) {
  struct Row {
    const char* description;
    std::vector<uint8_t> input;
    uint64_t sum;
    uint16_t folded;
  };
  const std::vector<Row> rows = {
      // RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2, the checksum its complement.
      {"RFC 1071 example", {0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7}, 0, 0x220D},
      {"RFC 1071 example, odd", {0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6}, 0, 0x2304},
      {"IPv4 header", {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7}, 0, 0xB861},
      {"empty", {}, 0, 0xFFFF},
      {"empty with running sum", {}, 0x1234, 0xEDCB},
      {"one byte is the high half", {0xAB}, 0, 0x54FF},
      {"all ones sums to negative zero", std::vector<uint8_t>(64, 0xFF), 0, 0x0000},
      {"all zero", std::vector<uint8_t>(1500, 0x00), 0, 0xFFFF},
      {"carry wraps around", std::vector<uint8_t>(2000, 0xFF), 7, 0xFFF8},
  };
  for (const Row& row : rows) {
    const uint8_t* data = row.input.data();
    EXPECT_EQ(net::checksumFold(reference(data, row.input.size(), row.sum)), row.folded)
        << row.description << ": the reference";
    EXPECT_EQ(net::checksumFold(net::checksumAdd(data, row.input.size(), row.sum)), row.folded)
        << row.description << ": checksumAdd";
    for (ChecksumIsa isa : supportedKernels()) {
      EXPECT_EQ(net::checksumFold(net::checksumAddWith(isa, data, row.input.size(), row.sum)),
                row.folded)
          << row.description << ": " << net::checksumIsaName(isa);
    }
  }
}

// Every kernel returns exactly the portable kernel's value (not only the same folded
// checksum) and folds like the reference, for every length 0..2100 at every offset 0..31 of
// random data, with a running sum in.
TEST(ChecksumKernels, AgreeOnEveryLengthAndOffset) {
  std::mt19937_64 random(1071);
  std::vector<uint8_t> buffer(2100 + 32);
  for (uint8_t& b : buffer) {
    b = static_cast<uint8_t>(random());
  }
  const std::vector<ChecksumIsa> kernels = supportedKernels();
  size_t mismatches = 0;
  for (size_t offset = 0; offset < 32; ++offset) {
    for (size_t length = 0; length <= 2100; ++length) {
      const uint8_t* data = buffer.data() + offset;
      const uint64_t sum = (offset * 2101 + length) & 0xFFFFF;
      const uint64_t portable = net::checksumAddPortable(data, length, sum);
      const uint16_t expected = net::checksumFold(reference(data, length, sum));
      bool ok = net::checksumFold(portable) == expected &&
                net::checksumAdd(data, length, sum) == portable;
      for (ChecksumIsa isa : kernels) {
        ok = ok && net::checksumAddWith(isa, data, length, sum) == portable;
      }
      if (!ok && ++mismatches <= 10) {
        ADD_FAILURE() << "offset " << offset << " length " << length;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// Runs of 0xFF and 0x00 stress the carries: the kernels still agree with the reference.
TEST(ChecksumKernels, ExtremeBytes) {
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{0x01}}) {
    std::vector<uint8_t> data(4099, fill);
    for (size_t length : {0u, 1u, 31u, 32u, 63u, 64u, 127u, 128u, 129u, 1082u, 4099u}) {
      const uint16_t expected = net::checksumFold(reference(data.data(), length, 0));
      for (ChecksumIsa isa : supportedKernels()) {
        EXPECT_EQ(net::checksumFold(net::checksumAddWith(isa, data.data(), length, 0)), expected)
            << net::checksumIsaName(isa) << " fill " << int{fill} << " length " << length;
      }
    }
  }
}

// The kernels read only [data, data + length): a chunk ending at the last byte of a vector
// sized exactly to it stays clean under ASan for every short length.
TEST(ChecksumKernels, ReadsNothingPastTheEnd) {
  for (size_t length = 0; length <= 160; ++length) {
    const std::vector<uint8_t> exact(length, 0x5A);
    const uint16_t expected = net::checksumFold(reference(exact.data(), length, 0));
    for (ChecksumIsa isa : supportedKernels()) {
      EXPECT_EQ(net::checksumFold(net::checksumAddWith(isa, exact.data(), length, 0)), expected)
          << net::checksumIsaName(isa) << " length " << length;
    }
  }
}

// pseudoHeaderSum folds like the pseudo-header written out and summed by the reference
// (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6), with the length and protocol below and above
// 16 bits.
TEST(ChecksumKernels, PseudoHeaderSumMatchesReference) {
  const auto ip = [](std::string_view text) { return net::IpAddress::parse(text).value(); };
  const struct {
    const char* source;
    const char* destination;
    uint8_t protocol;
    uint32_t length;
  } rows[] = {
      {"198.18.0.2", "198.18.0.1", 17, 1090},
      {"255.255.255.255", "255.255.255.255", 17, 65535},
      {"0.0.0.0", "0.0.0.0", 17, 8},
      {"2001:db8::2", "2001:db8::1", 17, 1090},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1", 58, 70000},
  };
  for (const auto& row : rows) {
    const net::IpAddress s = ip(row.source);
    const net::IpAddress d = ip(row.destination);
    std::vector<uint8_t> header(s.bytes, s.bytes + s.size());
    header.insert(header.end(), d.bytes, d.bytes + d.size());
    if (s.isV4()) {
      header.insert(header.end(), {0, row.protocol, static_cast<uint8_t>(row.length >> 8),
                                   static_cast<uint8_t>(row.length)});
    } else {
      header.insert(header.end(), {static_cast<uint8_t>(row.length >> 24),
                                   static_cast<uint8_t>(row.length >> 16),
                                   static_cast<uint8_t>(row.length >> 8),
                                   static_cast<uint8_t>(row.length), 0, 0, 0, row.protocol});
    }
    EXPECT_EQ(net::checksumFold(net::pseudoHeaderSum(s, d, row.protocol, row.length)),
              net::checksumFold(reference(header.data(), header.size(), 0)))
        << row.source << " -> " << row.destination;
  }
}

// ipv4HeaderChecksum's 20-byte shortcut against RFC 1071's loop, for random headers, the
// extremes, and headers with options (the general path); a header carrying its own checksum
// verifies to 0.
TEST(ChecksumKernels, Ipv4HeaderChecksumMatchesReference) {
  std::mt19937 random(2026);
  for (int round = 0; round < 4000; ++round) {
    const size_t length = round % 4 == 0 ? 20 + 4 * (1 + random() % 10) : 20;
    std::vector<uint8_t> header(length);
    for (uint8_t& b : header) {
      b = round == 0 ? 0x00 : (round == 1 ? 0xFF : static_cast<uint8_t>(random()));
    }
    header[10] = 0;
    header[11] = 0;
    const uint16_t expected = net::checksumFold(reference(header.data(), header.size(), 0));
    const uint16_t got = net::ipv4HeaderChecksum(header.data(), header.size());
    ASSERT_EQ(got, expected) << "length " << length << ", round " << round;
    header[10] = static_cast<uint8_t>(got >> 8);
    header[11] = static_cast<uint8_t>(got);
    ASSERT_EQ(net::ipv4HeaderChecksum(header.data(), header.size()), 0) << "round " << round;
  }
}

// udpChecksum against RFC 768's definition: the reference loop over pseudo-header, UDP header
// (checksum field zero) and payload, for both families and every payload length up to 300
// plus a few long ones; 0 is sent as 0xFFFF.
TEST(ChecksumKernels, UdpChecksumMatchesReference) {
  std::mt19937 random(768);
  const auto ip = [](std::string_view text) { return net::IpAddress::parse(text).value(); };
  for (const auto& [from, to] : {std::pair{"198.18.0.2", "198.18.1.31"},
                                 std::pair{"2001:db8::2", "2001:db8:1::31"}}) {
    const net::IpAddress s = ip(from);
    const net::IpAddress d = ip(to);
    for (uint32_t length : {0u, 1u, 2u, 7u, 8u, 31u, 32u, 33u, 127u, 128u, 129u, 300u, 1090u,
                            1472u, 8999u}) {
      std::vector<uint8_t> payload(length);
      for (uint8_t& b : payload) {
        b = static_cast<uint8_t>(random());
      }
      const uint8_t header[8] = {0x13, 0xC4, 0x13, 0xC5, static_cast<uint8_t>((length + 8) >> 8),
                                 static_cast<uint8_t>(length + 8), 0, 0};
      std::vector<uint8_t> pseudo(s.bytes, s.bytes + s.size());
      pseudo.insert(pseudo.end(), d.bytes, d.bytes + d.size());
      const uint32_t udp_length = length + 8;
      if (s.isV4()) {
        pseudo.insert(pseudo.end(), {0, 17, static_cast<uint8_t>(udp_length >> 8),
                                     static_cast<uint8_t>(udp_length)});
      } else {
        pseudo.insert(pseudo.end(), {static_cast<uint8_t>(udp_length >> 24),
                                     static_cast<uint8_t>(udp_length >> 16),
                                     static_cast<uint8_t>(udp_length >> 8),
                                     static_cast<uint8_t>(udp_length), 0, 0, 0, 17});
      }
      uint64_t sum = reference(pseudo.data(), pseudo.size(), 0);
      sum = reference(header, sizeof(header), sum);
      sum = reference(payload.data(), payload.size(), sum);
      uint16_t expected = net::checksumFold(sum);
      expected = expected == 0 ? 0xFFFF : expected;
      EXPECT_EQ(net::udpChecksum(s, d, header, payload.data(), length), expected)
          << from << " length " << length;
    }
  }
}

}  // namespace
}  // namespace sipshield

namespace sipshield {
namespace {

// checksumAddMarked gives exactly checksumAdd's total and, for the first kChecksumMarkBytes
// (or all when shorter), exactly checksumAdd's sum of those, with every kernel behind it.
TEST(ChecksumKernels, MarkedSumIsTheTotalAndThePrefix) {
  std::mt19937_64 random(512);
  std::vector<uint8_t> buffer(1600 + 8);
  for (uint8_t& b : buffer) {
    b = static_cast<uint8_t>(random());
  }
  const ChecksumIsa before = net::activeChecksumIsa();
  size_t mismatches = 0;
  for (ChecksumIsa isa : supportedKernels()) {
    ASSERT_TRUE(net::setChecksumIsa(isa));
    for (size_t offset : {0u, 1u, 3u}) {
      for (size_t length = 0; length <= 1600; ++length) {
        const uint8_t* data = buffer.data() + offset;
        const uint64_t sum = (offset * 1601 + length) & 0xFFFFF;
        uint64_t at_mark = 0;
        const uint64_t total = net::checksumAddMarked(data, length, sum, at_mark);
        const size_t marked = std::min(length, net::kChecksumMarkBytes);
        if ((total != net::checksumAdd(data, length, sum) ||
             at_mark != net::checksumAdd(data, marked, sum)) &&
            ++mismatches <= 10) {
          ADD_FAILURE() << net::checksumIsaName(isa) << " offset " << offset << " length "
                        << length;
        }
      }
    }
  }
  ASSERT_TRUE(net::setChecksumIsa(before));
  EXPECT_EQ(mismatches, 0u);
}

// An in-place rewrite as the DPDK backend sends it: a received UDP datagram's bytes before
// some point (at most the mark) are replaced by a new prefix of another length (new bytes, the
// header moved into the headroom), the bytes after it stay where they were. The UDP checksum
// that takes the sum of the bytes from the mark on from the receive check (reusedTailSum)
// equals the one summed over every byte, for starts moved by odd and even amounts both ways,
// up to the mark and right at it, both families.
TEST(ChecksumKernels, ReusedTailMatchesAFullSum) {
  std::mt19937 random(1624);
  const auto ip = [](std::string_view text) { return net::IpAddress::parse(text).value(); };
  const net::IpAddress client = ip("198.18.0.2");
  const net::IpAddress us = ip("198.18.0.1");
  const net::IpAddress backend = ip("198.18.1.31");
  const net::IpAddress client6 = ip("2001:db8::2");
  const net::IpAddress us6 = ip("2001:db8::1");
  const net::IpAddress backend6 = ip("2001:db8:1::31");
  constexpr size_t kHeadroom = 256;
  size_t checked = 0;
  for (int round = 0; round < 6000; ++round) {
    const bool v6 = round % 2 == 1;
    // A received payload longer than the mark, so the receive check kept a sum from it.
    const uint32_t payload_length = 505 + random() % 1000;
    // The unchanged part starts `was_at` bytes into the payload, at most at the mark.
    uint32_t was_at = random() % (net::kChecksumMarkBytes - net::kUdpHeaderBytes + 1);
    if (round % 7 == 0) {
      was_at = net::kChecksumMarkBytes - net::kUdpHeaderBytes;  // right at the mark
    }
    const uint32_t now_at = static_cast<uint32_t>(
        std::max<int>(0, static_cast<int>(was_at) + static_cast<int>(random() % 161) - 40));
    std::vector<uint8_t> buffer(kHeadroom + net::kUdpHeaderBytes + payload_length);
    for (uint8_t& b : buffer) {
      b = static_cast<uint8_t>(random());
    }
    uint8_t* const rx_udp = buffer.data() + kHeadroom;
    const uint32_t udp_length = net::kUdpHeaderBytes + payload_length;
    rx_udp[4] = static_cast<uint8_t>(udp_length >> 8);
    rx_udp[5] = static_cast<uint8_t>(udp_length);
    rx_udp[6] = 0;
    rx_udp[7] = 0;
    uint64_t at_mark = 0;
    const uint64_t rx_total = net::checksumAddMarked(
        rx_udp, udp_length,
        net::pseudoHeaderSum(v6 ? client6 : client, v6 ? us6 : us, net::kIpProtoUdp,
                             udp_length),
        at_mark);
    const uint64_t from_mark = net::checksumSubtract(rx_total, at_mark);
    // The rewrite: new bytes before the tail, the datagram now starting earlier or later.
    uint8_t* const tail = rx_udp + net::kUdpHeaderBytes + was_at;
    const uint32_t tail_length = payload_length - was_at;
    uint8_t* const tx_payload = tail - now_at;
    for (uint8_t* p = tx_payload; p < tail; ++p) {
      *p = static_cast<uint8_t>(random());
    }
    const uint32_t tx_length = now_at + tail_length;
    // The bytes from the mark on keep their sum; only their parity may change.
    const uint32_t known_tail = udp_length - static_cast<uint32_t>(net::kChecksumMarkBytes);
    const uint64_t tail_sum = net::reusedTailSum(from_mark, ((now_at ^ was_at) & 1) != 0);
    uint8_t reused[8];
    uint8_t summed[8];
    net::writeUdp(reused, v6 ? us6 : us, 5060, v6 ? backend6 : backend, 5080, tx_payload,
                  tx_length, known_tail, tail_sum);
    net::writeUdp(summed, v6 ? us6 : us, 5060, v6 ? backend6 : backend, 5080, tx_payload,
                  tx_length);
    ASSERT_EQ(std::memcmp(reused, summed, sizeof(reused)), 0)
        << "round " << round << " payload " << payload_length << " was at " << was_at
        << " now at " << now_at;
    ++checked;
  }
  EXPECT_EQ(checked, 6000u);
}

}  // namespace
}  // namespace sipshield
