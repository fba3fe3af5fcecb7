#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/config.h"
#include "src/net/endpoint.h"
#include "src/status.h"

namespace sipshield::io {

// DpdkPort is one [[dpdk.ports]] entry, interpreted.
struct DpdkPort {
  // device names the port: a virtual device with its arguments ("net_af_packet0,iface=v0",
  // "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"), a PCI address ("0000:03:00.0"), or the
  // name of a port that already exists in this process (tests create net_ring ports). TOML
  // keys: `device`, `vdev` or `pci`.
  std::string device;
  // vlan is the 802.1Q VLAN id the port's traffic is tagged with (1..4094); 0 = untagged.
  uint16_t vlan = 0;
  // gateway / gateway6 are the next hops for destinations outside every on-link prefix of
  // this port. Their Ethernet addresses are learned by ARP / neighbour discovery.
  std::optional<net::IpAddress> gateway;
  std::optional<net::IpAddress> gateway6;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  // max_rx_frame is the largest frame the port can hand us (bytes from the Ethernet header);
  // it sizes the mbufs. 0 = the MTU's frame. net_af_packet needs it raised to its framesz:
  // the kernel reassembles IP fragments for packet-socket fanout groups, so datagrams larger
  // than the MTU arrive whole.
  uint32_t max_rx_frame = 0;
  // exception_path "tap" gives the host kernel what is addressed to us but not SIP over UDP
  // to a listen endpoint (TCP, other UDP ports, other protocols, ARP replies) through a TAP
  // interface (DPDK net_tap) that carries the port's MAC, and sends what the kernel transmits
  // on that interface out of the port: the host stays reachable (ssh, monitoring). "none"
  // (default) drops that traffic (counted). TOML keys: `exception_path`, `exception_name`
  // (the kernel interface name, default "sipshield<port index>", at most 15 characters).
  bool exception_tap = false;
  std::string exception_name;
};

// DpdkAddress is one address we own ([dpdk] addresses = ["198.18.0.1/24@0"]): the IP, its
// on-link prefix length, and the index of the port it lives on ("@N", default 0).
struct DpdkAddress {
  net::IpAddress ip;
  uint8_t prefix_length = 0;
  uint16_t port = 0;
};

// DpdkBackendConfig is everything DpdkBackend::start needs, fixed at start.
struct DpdkBackendConfig {
  // eal_args go to rte_eal_init after a program name. They are used only by the first
  // backend started in a process: the EAL initialises once per process.
  std::vector<std::string> eal_args;
  std::vector<DpdkPort> ports;
  std::vector<DpdkAddress> addresses;
  // listen are the SIP endpoints (IP and UDP port) we serve; RxPacket/TxPacket::local_index
  // is the index here. Each IP must be one of `addresses`.
  std::vector<net::Endpoint> listen;
  // workers is the number of poll loops; each gets one RX and one TX queue on every port.
  uint32_t workers = 1;
  uint32_t mtu = 1500;    // IP MTU of every port; larger datagrams are fragmented (IPv4)
  uint32_t burst = 32;    // receive burst, at most kMaxBurst
  uint32_t mbufs_per_worker = 8191;
  uint32_t tx_slots = 256;                 // TxBatch slots per worker
  uint32_t neighbour_capacity = 4096;      // next hops in the shared ARP/ND table
  uint32_t pending_capacity = 128;         // frames per worker waiting for ARP/ND
  uint32_t resolve_timeout_ms = 3000;      // a waiting frame is dropped after this
  uint32_t solicit_interval_ms = 1000;     // one ARP request / NS per next hop per interval
  uint32_t reassembly_flows = 4096;        // datagrams being reassembled per worker
  uint32_t reassembly_timeout_ms = 2000;   // incomplete datagrams are dropped after this
  // idle_sleep_us: after 1024 empty polls in a row a worker sleeps this long between polls
  // (0 = pure busy polling). Keeps a shared or idle machine usable; costs up to this much
  // latency on the first packet after a quiet period.
  uint32_t idle_sleep_us = 50;
  // How often (ms) BurstHandler::idle runs, even under load.
  uint32_t idle_interval_ms = 20;
  // spawn_threads false: start() makes no threads and the caller drives pollWorker() (tests,
  // benchmarks).
  bool spawn_threads = true;
  // cpus: pin worker i to cpus[i % size]; empty = unpinned.
  std::vector<int> cpus;
  // in_place_tx: lend received mbufs to the pipeline so forwarded messages are rewritten and
  // sent in the mbuf they arrived in (false: every datagram is copied into a new mbuf; for
  // benchmarks and as a fallback switch).
  bool in_place_tx = true;
  // tx_checksum_offload: let ports that offer IPv4/UDP transmit checksum offload compute them
  // (false: always software).
  bool tx_checksum_offload = true;
};

// dpdkBackendConfig interprets the daemon config's [dpdk] table and [server] listen list.
// Thread-safe. Returns kInvalidArgument naming the key when a port lacks a device, a value
// is out of range, an address or gateway is not a literal, an address names a port that does
// not exist, or a listen address is not one of the DPDK addresses.
[[nodiscard]] Result<DpdkBackendConfig> dpdkBackendConfig(const Config& config);

// parseDpdkAddress reads "198.18.0.1/24", "2001:db8::1/64" or either with "@N" (port N).
// Thread-safe. Returns nullopt when malformed (a missing or out-of-range prefix length
// included).
[[nodiscard]] std::optional<DpdkAddress> parseDpdkAddress(std::string_view text);

}  // namespace sipshield::io
