#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "src/io/dpdk/dpdk_config.h"
#include "src/io/dpdk/dpdk_tx_checksum.h"
#include "src/net/endpoint.h"
#include "src/net/frame.h"

namespace sipshield::io {

// DpdkPortLayout is one started port as the workers see it: immutable after start.
struct DpdkPortLayout {
  uint16_t port_id = 0;
  net::MacAddress mac;
  uint16_t vlan = 0;
  std::optional<net::IpAddress> gateway;
  std::optional<net::IpAddress> gateway6;
  std::vector<DpdkAddress> addresses;  // the addresses that live on this port
  TxChecksumOffload tx_checksums;      // what the port checksums itself (else software)
  // exception_port_id is the TAP port (DpdkPort::exception_tap) that leads to the kernel, with
  // one queue per worker like the port itself; -1 = none.
  int32_t exception_port_id = -1;
  // exception_mtu is the TAP's MTU: it drops larger frames, so reassembled packets for the
  // kernel are fragmented to it again.
  uint32_t exception_mtu = 1500;
  // exception_mac is the TAP's MAC (the port's, when that is a valid unicast address): frames
  // the backend builds for the kernel are addressed to it.
  net::MacAddress exception_mac;
};

// DpdkLayout is the backend's L2/L3 picture: ports, the addresses we own and the SIP listen
// endpoints. Built once by DpdkBackend::start; read-only afterwards, shared by workers.
struct DpdkLayout {
  std::vector<DpdkPortLayout> ports;
  std::vector<DpdkAddress> addresses;  // every address we own, any port
  std::vector<net::Endpoint> listen;   // by local_index
  uint32_t mtu = 1500;

  // isOurs says whether `ip` is one of our addresses (on any port: weak host model, so a
  // reply may come back on another port than the request left by).
  [[nodiscard]] bool isOurs(const uint8_t* ip, uint8_t family) const;
  // listenIndex returns the local_index of (ip, port), or -1.
  [[nodiscard]] int listenIndex(const net::Endpoint& destination) const;
  // route finds the port to reach `destination` and the next hop on it: the destination
  // itself when on-link, else the port's gateway of that family. Returns the port index or -1.
  [[nodiscard]] int route(const net::IpAddress& destination, net::IpAddress& next_hop) const;
  // sourceFor returns our address on port `port` to solicit `next_hop` from (same prefix
  // preferred, then any of the family); false when the port has none of that family.
  [[nodiscard]] bool sourceFor(uint32_t port, const net::IpAddress& next_hop,
                               net::IpAddress& source) const;
};

// prefixContains says whether `ip` is inside `prefix`/`length` (same family required).
[[nodiscard]] bool prefixContains(const net::IpAddress& prefix, uint8_t length,
                                  const net::IpAddress& ip);

}  // namespace sipshield::io
