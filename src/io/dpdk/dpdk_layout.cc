#include "src/io/dpdk/dpdk_layout.h"

#include <cstring>

namespace sipshield::io {

bool prefixContains(const net::IpAddress& prefix, uint8_t length, const net::IpAddress& ip) {
  if (prefix.family != ip.family || length > prefix.size() * 8) {
    return false;
  }
  const uint32_t whole = length / 8u;
  if (std::memcmp(prefix.bytes, ip.bytes, whole) != 0) {
    return false;
  }
  const uint32_t bits = length % 8u;
  if (bits == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
  return (prefix.bytes[whole] & mask) == (ip.bytes[whole] & mask);
}

bool DpdkLayout::isOurs(const uint8_t* ip, uint8_t family) const {
  for (const DpdkAddress& a : addresses) {
    if (a.ip.family == family && std::memcmp(a.ip.bytes, ip, a.ip.size()) == 0) {
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
