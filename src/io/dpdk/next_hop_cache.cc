#include "src/io/dpdk/next_hop_cache.h"

#include <cstring>

namespace sipshield::io {

uint32_t NextHopCache::lineOf(const net::IpAddress& destination) {
  // The address's 32-bit words folded, then Fibonacci hashing onto the lines.
  uint32_t w[4];
  std::memcpy(w, destination.bytes, sizeof(w));
  const uint32_t folded = destination.isV4() ? w[0] : (w[0] ^ w[1] ^ w[2] ^ w[3]);
  static_assert((kLines & (kLines - 1)) == 0, "a power of two");
  constexpr uint32_t kShift = 32 - __builtin_ctz(kLines);
  return (folded * 0x9E3779B1u) >> kShift;
}

int NextHopCache::route(const net::IpAddress& destination, net::IpAddress& next_hop,
                        net::MacAddress& mac, bool& has_mac) {
  Line& line = lines_[lineOf(destination)];
  if (line.destination.family == 0 || !(line.destination == destination)) {
    line.destination = destination;
    line.port = layout_.route(destination, line.next_hop);
    line.entry = {};
  }
  has_mac = false;
  if (line.port < 0) {
    return -1;
  }
  next_hop = line.next_hop;
  if (!line.entry.valid()) {
    // The next hop gets its slot when it is first solicited or heard from.
    line.entry = neighbours_.entry(line.next_hop);
  }
  has_mac = neighbours_.lookup(line.entry, mac);
  return line.port;
}

}  // namespace sipshield::io
