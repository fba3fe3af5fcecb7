#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sipshield::net {

// IpAddress is an IPv4 or IPv6 address as plain bytes (network order); IPv4 uses bytes[0..3].
struct IpAddress {
  uint8_t family = 0;  // AF_INET, AF_INET6, 0 = unset
  uint8_t bytes[16] = {};

  [[nodiscard]] bool isV4() const { return family == AF_INET; }
  [[nodiscard]] bool isV6() const { return family == AF_INET6; }
  [[nodiscard]] size_t size() const { return isV4() ? 4 : (isV6() ? 16 : 0); }
  // Fixed-size word compares (inline, no memcmp call: the fast path compares addresses per
  // packet); bytes past an IPv4 address's four do not take part.
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    if (a.family != b.family) {
      return false;
    }
    if (a.family == AF_INET) {
      uint32_t x;
      uint32_t y;
      std::memcpy(&x, a.bytes, 4);
      std::memcpy(&y, b.bytes, 4);
      return x == y;
    }
    if (a.family != AF_INET6) {
      return true;  // both unset
    }
    uint64_t x[2];
    uint64_t y[2];
    std::memcpy(x, a.bytes, 16);
    std::memcpy(y, b.bytes, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }

  static IpAddress v4(uint32_t host_order);
  // parse reads a literal ("192.0.2.1", "2001:db8::1", "[2001:db8::1]"); nullopt if not one.
  static std::optional<IpAddress> parse(std::string_view text);
  // parseInto is parse writing into `out` (left as it was on failure), for the fast path: a
  // returned optional is built on the stack and copied with loads wider than its stores, which
  // wait for them (no store forwarding).
  static bool parseInto(std::string_view text, IpAddress& out);
  // toString prints the literal without brackets.
  [[nodiscard]] std::string toString() const;
  // format writes the literal (IPv6 in brackets when `bracket_v6`) into `out` (>= 48 bytes)
  // and returns its length. Allocation-free, for the fast path.
  size_t format(char* out, bool bracket_v6) const;
};

// Endpoint is an address and UDP port (host order).
struct Endpoint {
  IpAddress ip;
  uint16_t port = 0;

  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.ip == b.ip;
  }
  // parse reads "1.2.3.4:5060", "[::1]:5060", or an address alone with `default_port`.
  static std::optional<Endpoint> parse(std::string_view text, uint16_t default_port = 5060);
  [[nodiscard]] std::string toString() const;  // "1.2.3.4:5060" or "[::1]:5060"

  // toSockaddr fills `storage` and returns its length; fromSockaddr reads one back.
  socklen_t toSockaddr(sockaddr_storage& storage) const;
  static Endpoint fromSockaddr(const sockaddr* address);
};

// parsePort reads 1 to 5 decimal digits holding 0..65535; nullopt for anything else (signs,
// spaces, empty, overflow). Callers that cannot use port 0 check for it themselves.
std::optional<uint16_t> parsePort(std::string_view text);

}  // namespace sipshield::net
