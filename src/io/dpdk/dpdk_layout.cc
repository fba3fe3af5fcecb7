#include "src/io/dpdk/dpdk_layout.h"

#include <algorithm>
#include <cstring>

namespace sipshield::io {

bool prefixContains(const net::IpAddress& prefix, uint8_t length, const net::IpAddress& ip) {
  if (prefix.family != ip.family || length > prefix.size() * 8) {
    return false;
  }
  // Two big-endian 64-bit words per address, each masked to its share of the prefix: fixed-size
  // loads and no memcmp call (route() runs per transmitted datagram). An IPv4 prefix is at most
  // 32 bits, so its bytes past the fourth never take part.
  uint64_t a[2];
  uint64_t b[2];
  std::memcpy(a, prefix.bytes, 16);
  std::memcpy(b, ip.bytes, 16);
  uint64_t differ = 0;
  for (uint32_t k = 0; k < 2; ++k) {
    const uint32_t bits = length > 64 * k ? std::min<uint32_t>(length - 64 * k, 64) : 0;
    const uint64_t mask = bits == 0 ? 0 : ~0ull << (64 - bits);
    differ |= (__builtin_bswap64(a[k]) ^ __builtin_bswap64(b[k])) & mask;
  }
  return differ == 0;
}

bool DpdkLayout::isOurs(const uint8_t* ip, uint8_t family) const {
  // The received address as an IpAddress, so the compare is operator=='s fixed-size one.
  net::IpAddress received;
  received.family = family;
  std::memcpy(received.bytes, ip, family == AF_INET ? 4 : 16);
  for (const DpdkAddress& a : addresses) {
    if (a.ip == received) {
      return true;
    }
  }
  return false;
}

int DpdkLayout::listenIndex(const net::Endpoint& destination) const {
  for (size_t i = 0; i < listen.size(); ++i) {
    if (listen[i] == destination) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int DpdkLayout::route(const net::IpAddress& destination, net::IpAddress& next_hop) const {
  for (size_t p = 0; p < ports.size(); ++p) {
    for (const DpdkAddress& a : ports[p].addresses) {
      if (prefixContains(a.ip, a.prefix_length, destination)) {
        next_hop = destination;
        return static_cast<int>(p);
      }
    }
  }
  for (size_t p = 0; p < ports.size(); ++p) {
    const auto& gateway = destination.isV4() ? ports[p].gateway : ports[p].gateway6;
    if (gateway) {
      next_hop = *gateway;
      return static_cast<int>(p);
    }
  }
  return -1;
}

bool DpdkLayout::sourceFor(uint32_t port, const net::IpAddress& next_hop,
                           net::IpAddress& source) const {
  bool found = false;
  for (const DpdkAddress& a : ports[port].addresses) {
    if (a.ip.family != next_hop.family) {
      continue;
    }
    if (prefixContains(a.ip, a.prefix_length, next_hop)) {
      source = a.ip;
      return true;
    }
    if (!found) {
      source = a.ip;
      found = true;
    }
  }
  return found;
}

}  // namespace sipshield::io
