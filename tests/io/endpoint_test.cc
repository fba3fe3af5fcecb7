#include "src/net/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include <random>
#include <string>

namespace sipshield::net {
namespace {

struct ParseRow {
  const char* description;
  const char* input;
  uint16_t default_port;
  bool ok;
  int family;
  const char* address;  // expected IpAddress::toString()
  uint16_t port;
};

const ParseRow kParseRows[] = {
    {"ipv4 with port", "192.0.2.1:5080", 5060, true, AF_INET, "192.0.2.1", 5080},
    {"ipv4 default port", "192.0.2.1", 5060, true, AF_INET, "192.0.2.1", 5060},
    {"ipv4 port zero is ephemeral", "127.0.0.1:0", 5060, true, AF_INET, "127.0.0.1", 0},
    {"ipv4 max port", "10.0.0.1:65535", 5060, true, AF_INET, "10.0.0.1", 65535},
    {"ipv6 bracketed with port", "[2001:db8::1]:5061", 5060, true, AF_INET6, "2001:db8::1", 5061},
    {"ipv6 bracketed default port", "[::1]", 5070, true, AF_INET6, "::1", 5070},
    {"ipv6 bare default port", "2001:db8::2", 5060, true, AF_INET6, "2001:db8::2", 5060},
    {"ipv6 mapped", "[::ffff:192.0.2.7]:1", 5060, true, AF_INET6, "::ffff:192.0.2.7", 1},
    {"ipv6 upper case normalised", "[2001:DB8::A]:9", 5060, true, AF_INET6, "2001:db8::a", 9},
    {"empty", "", 5060, false, 0, "", 0},
    {"port only", ":5060", 5060, false, 0, "", 0},
    {"empty port", "192.0.2.1:", 5060, false, 0, "", 0},
    {"port too large", "192.0.2.1:65536", 5060, false, 0, "", 0},
    {"port six digits", "192.0.2.1:000001", 5060, false, 0, "", 0},
    {"port with sign", "192.0.2.1:+5", 5060, false, 0, "", 0},
    {"port with space", "192.0.2.1: 5", 5060, false, 0, "", 0},
    {"ipv4 octet too large", "192.0.2.256:5060", 5060, false, 0, "", 0},
    {"ipv4 three octets", "192.0.2:5060", 5060, false, 0, "", 0},
    {"hostname", "proxy.example.com:5060", 5060, false, 0, "", 0},
    {"unclosed bracket", "[::1:5060", 5060, false, 0, "", 0},
    {"junk after bracket", "[::1]x5060", 5060, false, 0, "", 0},
    {"ipv4 in brackets", "[192.0.2.1]:5060", 5060, false, 0, "", 0},
    {"ipv6 zone id", "[fe80::1%eth0]:5060", 5060, false, 0, "", 0},
    {"ipv6 too many groups", "[1:2:3:4:5:6:7:8:9]", 5060, false, 0, "", 0},
    {"ipv6 two double colons", "[1::2::3]", 5060, false, 0, "", 0},
    {"overlong literal", "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]", 5060, false, 0,
     "", 0},
};

class EndpointParseTest : public testing::TestWithParam<ParseRow> {};

TEST_P(EndpointParseTest, Parses) {
  const ParseRow& row = GetParam();
  const std::optional<Endpoint> parsed = Endpoint::parse(row.input, row.default_port);
  ASSERT_EQ(parsed.has_value(), row.ok) << row.description;
  if (!row.ok) {
    return;
  }
  EXPECT_EQ(parsed->ip.family, row.family) << row.description;
  EXPECT_EQ(parsed->ip.toString(), row.address) << row.description;
  EXPECT_EQ(parsed->port, row.port) << row.description;
}

INSTANTIATE_TEST_SUITE_P(Table, EndpointParseTest, testing::ValuesIn(kParseRows));

struct FormatRow {
  const char* input;       // IpAddress::parse input
  const char* plain;       // format(bracket_v6 = false)
  const char* endpoint;    // Endpoint{ip, 5060}.toString()
};

// RFC 5952 canonical text: lower case, no leading zeros, longest zero run compressed (first on
// a tie), a lone zero group not compressed, IPv4-mapped with a dotted tail.
const FormatRow kFormatRows[] = {
    {"0.0.0.0", "0.0.0.0", "0.0.0.0:5060"},
    {"255.255.255.255", "255.255.255.255", "255.255.255.255:5060"},
    {"10.1.20.3", "10.1.20.3", "10.1.20.3:5060"},
    {"::", "::", "[::]:5060"},
    {"::1", "::1", "[::1]:5060"},
    {"1::", "1::", "[1::]:5060"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", "[2001:db8::1]:5060"},
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", "[2001:db8:0:1:1:1:1:1]:5060"},
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1", "[2001:0:0:1::1]:5060"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "[2001:db8::1:0:0:1]:5060"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:5060"},
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4", "[::ffff:1.2.3.4]:5060"},
};

TEST(EndpointFormat, CanonicalText) {
  for (const FormatRow& row : kFormatRows) {
    const std::optional<IpAddress> ip = IpAddress::parse(row.input);
    ASSERT_TRUE(ip.has_value()) << row.input;
    char buffer[48];
    const size_t n = ip->format(buffer, false);
    EXPECT_EQ(std::string(buffer, n), row.plain) << row.input;
    EXPECT_EQ(buffer[n], '\0') << row.input;
    EXPECT_EQ((Endpoint{*ip, 5060}.toString()), row.endpoint) << row.input;
    // Round trip: what we print parses back to the same address.
    EXPECT_EQ(IpAddress::parse(row.plain), ip) << row.input;
  }
}

// parseInto: the octets in order and the rest zeroed over a previous IPv6 address; a failed
// parse leaves the destination as it was.
TEST(EndpointParse, ParseIntoOverwritesOrLeavesAlone) {
  IpAddress out = *IpAddress::parse("2001:db8::ffff:ffff");
  ASSERT_TRUE(IpAddress::parseInto("198.18.7.250", out));
  EXPECT_TRUE(out.isV4());
  const uint8_t expected[16] = {198, 18, 7, 250};
  EXPECT_EQ(0, std::memcmp(out.bytes, expected, sizeof(expected)));
  EXPECT_EQ(out, *IpAddress::parse("198.18.7.250"));
  for (const char* bad : {"198.18.7", "198.18.7.256", "198.18.07.1", "198.18.7.1.", "host"}) {
    IpAddress kept = *IpAddress::parse("192.0.2.9");
    EXPECT_FALSE(IpAddress::parseInto(bad, kept)) << bad;
    EXPECT_EQ(kept, *IpAddress::parse("192.0.2.9")) << bad;
  }
}

TEST(EndpointFormat, BracketsOnlyIpv6) {
  char buffer[48];
  const IpAddress v6 = *IpAddress::parse("2001:db8::5");
  EXPECT_EQ(std::string(buffer, v6.format(buffer, true)), "[2001:db8::5]");
  const IpAddress v4 = IpAddress::v4(0x7F000001);
  EXPECT_EQ(std::string(buffer, v4.format(buffer, true)), "127.0.0.1");
  EXPECT_EQ(IpAddress{}.format(buffer, true), 0u);
}

// Every octet value in every position, against glibc's inet_ntop.
TEST(EndpointFormat, Ipv4MatchesInetNtop) {
  std::mt19937 random(777);
  for (int value = 0; value < 256; ++value) {
    for (int position = 0; position < 4; ++position) {
      IpAddress ip = IpAddress::v4(static_cast<uint32_t>(random()));
      ip.bytes[position] = static_cast<uint8_t>(value);
      char expected[INET_ADDRSTRLEN];
      ASSERT_NE(inet_ntop(AF_INET, ip.bytes, expected, sizeof(expected)), nullptr);
      char buffer[48];
      const size_t n = ip.format(buffer, false);
      ASSERT_EQ(std::string(buffer, n), expected);
      ASSERT_EQ(buffer[n], '\0');
    }
  }
}

// IpAddress::parse takes dotted quads without inet_pton; it must accept and reject exactly
// what inet_pton(AF_INET) does: random strings of digits and dots (leading zeros, octets above
// 255, too few or many parts, empty parts), and every octet value written plainly.
TEST(EndpointParse, DottedQuadsAgreeWithInetPton) {
  std::mt19937 random(4);
  const char alphabet[] = "0123456789..";
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    const size_t length = 1 + random() % 17;
    for (size_t k = 0; k < length; ++k) {
      text += alphabet[random() % (sizeof(alphabet) - 1)];
    }
    if (i % 4 == 0) {  // mostly well-formed shapes, so acceptance is exercised too
      text = std::to_string(random() % 300) + "." + std::to_string(random() % 300) + "." +
             std::to_string(random() % 300) + "." + std::to_string(random() % 300);
    }
    uint8_t expected[4];
    const bool valid = inet_pton(AF_INET, text.c_str(), expected) == 1;
    const std::optional<IpAddress> got = IpAddress::parse(text);
    ASSERT_EQ(got.has_value() && got->isV4(), valid) << text;
    if (valid) {
      ASSERT_EQ(std::memcmp(got->bytes, expected, 4), 0) << text;
    }
  }
  for (int value = 0; value < 256; ++value) {
    const std::string text = "198.18." + std::to_string(value) + ".7";
    ASSERT_TRUE(IpAddress::parse(text).has_value()) << text;
    EXPECT_EQ(IpAddress::parse(text)->bytes[2], value);
  }
}

// glibc's inet_ntop is RFC 5952 too, except for the deprecated IPv4-compatible ::a.b.c.d
// form, which the generator avoids by keeping group 5 or 6 non-zero.
TEST(EndpointFormat, MatchesInetNtopOnRandomAddresses) {
  std::mt19937 random(12345);
  for (int i = 0; i < 20000; ++i) {
    IpAddress ip;
    ip.family = AF_INET6;
    for (int g = 0; g < 8; ++g) {
      // Mostly zero groups, so runs of zeros of every length and position appear.
      const uint16_t value = (random() % 3 == 0) ? static_cast<uint16_t>(random()) : 0;
      ip.bytes[2 * g] = static_cast<uint8_t>(value >> 8);
      ip.bytes[2 * g + 1] = static_cast<uint8_t>(value);
    }
    const bool compat = ip.bytes[0] == 0 && std::memcmp(ip.bytes, ip.bytes + 1, 11) == 0;
    if (compat) {
      continue;
    }
    char expected[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, ip.bytes, expected, sizeof(expected)), nullptr);
    char buffer[48];
    const size_t n = ip.format(buffer, false);
    ASSERT_EQ(std::string(buffer, n), expected);
  }
}

TEST(EndpointSockaddr, RoundTrips) {
  for (const char* text : {"192.0.2.9:5060", "[2001:db8::7]:65535", "0.0.0.0:0"}) {
    const Endpoint endpoint = *Endpoint::parse(text);
    sockaddr_storage storage;
    const socklen_t length = endpoint.toSockaddr(storage);
    EXPECT_EQ(length, endpoint.ip.isV4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)) << text;
    EXPECT_EQ(Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage)), endpoint)
        << text;
    EXPECT_EQ(endpoint.toString(), text);
  }
  sockaddr_storage storage;
  EXPECT_EQ(Endpoint{}.toSockaddr(storage), 0u);
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_EQ(Endpoint::fromSockaddr(&unix_address).ip.family, 0);
  EXPECT_EQ(Endpoint::fromSockaddr(nullptr).ip.family, 0);
}

TEST(EndpointEquality, ComparesFamilyBytesAndPort) {
  const Endpoint a = *Endpoint::parse("10.0.0.1:5060");
  EXPECT_EQ(a, *Endpoint::parse("10.0.0.1"));
  EXPECT_FALSE(a == *Endpoint::parse("10.0.0.1:5061"));
  EXPECT_FALSE(a == *Endpoint::parse("10.0.0.2:5060"));
  EXPECT_FALSE(a == *Endpoint::parse("[::ffff:10.0.0.1]:5060"));
  EXPECT_EQ(IpAddress::v4(0x0A000001), a.ip);
}

}  // namespace
}  // namespace sipshield::net
