#pragma once

#include <array>
#include <cstdint>

#include "src/io/dpdk/dpdk_layout.h"
#include "src/net/endpoint.h"
#include "src/net/frame.h"
#include "src/net/neighbour_table.h"

namespace sipshield::io {

// NextHopCache remembers, per destination address, the port and next hop DpdkLayout::route
// chose and the neighbour-table entry of that next hop, so a datagram to an address seen before
// costs one compare and one atomic load instead of a route walk and a hash probe. Routes cannot
// change while a worker runs (the layout is fixed at start), and the MAC is read through the
// entry every time, so an ARP/ND update is seen at once.
//
// Fixed size (direct-mapped, kLines lines, a collision replaces the line); allocates nothing.
// One per worker: not thread-safe.
class NextHopCache {
 public:
  static constexpr uint32_t kLines = 64;

  // NextHopCache keeps references to `layout` and `neighbours`, which must outlive it.
  NextHopCache(const DpdkLayout& layout, const net::NeighbourTable& neighbours)
      : layout_(layout), neighbours_(neighbours) {}

  // route returns DpdkLayout::route(destination, next_hop): the port index, or -1 when no port
  // reaches `destination`. When it returns a port, `has_mac` says whether the next hop's MAC
  // is known, and `mac` holds it if so.
  int route(const net::IpAddress& destination, net::IpAddress& next_hop, net::MacAddress& mac,
            bool& has_mac);

 private:
  struct Line {
    net::IpAddress destination;  // family 0: empty
    int32_t port = -1;
    net::IpAddress next_hop;
    net::NeighbourTable::Entry entry;  // invalid until the next hop has a table slot
  };

  static uint32_t lineOf(const net::IpAddress& destination);

  const DpdkLayout& layout_;
  const net::NeighbourTable& neighbours_;
  std::array<Line, kLines> lines_{};
};

}  // namespace sipshield::io
