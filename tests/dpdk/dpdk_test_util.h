#pragma once

// Shared pieces of the DPDK backend tests and the replay benchmark: the EAL set-up for a
// machine without hugepages or NICs, a net_ring port, a pipeline world (backends, signer,
// snapshot) and frame builders / parsers for what goes in and comes out.

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lb/affinity_table.h"
#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/snapshot_publisher.h"
#include "src/io/dpdk/dpdk_backend.h"
#include "src/net/checksum.h"
#include "src/net/frame.h"
#include "src/net/neighbour_discovery.h"
#include "src/net/neighbour_table.h"
#include "src/net/udp_decode.h"
#include "src/pipeline.h"
#include "src/runtime.h"

namespace sipshield::dpdk_testing {

using Bytes = std::vector<uint8_t>;

// ealArgs runs the EAL without hugepages, PCI or shared files, on the CPU we are on.
inline std::vector<std::string> ealArgs() {
  const int cpu = sched_getcpu();
  return {"--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l",
          std::to_string(cpu < 0 ? 0 : cpu), "--log-level=*:error", "--no-telemetry"};
}

// ealReady initialises the EAL once; false (with the reason in `why`) if it cannot start.
inline bool ealReady(std::string* why = nullptr) {
  static const Status status = io::initEal(ealArgs());
  if (why != nullptr) {
    *why = status.toString();
  }
  return status.isOk();
}

inline net::Endpoint ep(std::string_view text) { return net::Endpoint::parse(text).value(); }
inline net::IpAddress ip(std::string_view text) { return net::IpAddress::parse(text).value(); }
inline net::MacAddress mac(uint8_t last) { return net::MacAddress{{0x02, 0, 0, 0, 0, last}}; }

// World is what a pipeline reads: backends, signer, locals, an affinity table. Two Worlds
// built with the same arguments make pipelines that decide identically.
struct World {
  lb::SnapshotPublisher<RuntimeSnapshot> publisher{8};
  std::unique_ptr<lb::AffinityTable> affinity;

  World(const std::vector<std::string>& backends, const std::vector<net::Endpoint>& listen,
        uint32_t affinity_entries = 1u << 12) {
    lb::AffinityConfig config;
    config.capacity = affinity_entries;
    affinity = std::move(lb::AffinityTable::create(config).value());
    lb::BackendPool pool;
    auto snapshot = std::make_unique<RuntimeSnapshot>();
    for (size_t i = 0; i < backends.size(); ++i) {
      (void)pool.addBackend({"b" + std::to_string(i), backends[i], 100});
      snapshot->backend_addresses.push_back(ep(backends[i]));
    }
    snapshot->dispatch =
        std::shared_ptr<const lb::DispatchSnapshot>(std::move(pool.buildSnapshot().value()));
    std::vector<uint8_t> secret(32, 'k');
    snapshot->signer = std::make_shared<const lb::BranchSigner>(
        std::move(lb::BranchSigner::create(secret, 1).value()));
    ServerConfig server;
    server.listen = listen;
    snapshot->locals = buildLocals(server, listen);
    snapshot->tag_seed = 0x5eed;
    publisher.publish(std::move(snapshot));
  }
  std::unique_ptr<Pipeline> pipeline() {
    return std::make_unique<Pipeline>(publisher, publisher.registerReader().value(),
                                      affinity.get());
  }
};

// udpDatagram returns the IP packet (header, UDP header, payload) from `from` to `to`.
inline Bytes ipUdp(const net::Endpoint& from, const net::Endpoint& to, std::string_view payload,
                   uint16_t id = 1, uint8_t ttl = 64) {
  const auto* data = reinterpret_cast<const uint8_t*>(payload.data());
  const uint32_t length = static_cast<uint32_t>(payload.size());
  const bool v4 = from.ip.isV4();
  Bytes out((v4 ? 20 : 40) + 8 + length);
  uint8_t* udp = out.data() + (v4 ? 20 : 40);
  (void)net::writeUdp(udp, from.ip, from.port, to.ip, to.port, data, length);
  std::memcpy(udp + 8, data, length);
  if (v4) {
    net::Ipv4Fields f;
    f.source = from.ip.bytes;
    f.destination = to.ip.bytes;
    f.payload_length = static_cast<uint16_t>(8 + length);
    f.id = id;
    f.ttl = ttl;
    (void)net::writeIpv4(out.data(), f);
  } else {
    (void)net::writeIpv6(out.data(), from.ip.bytes, to.ip.bytes, net::kIpProtoUdp, ttl,
                         static_cast<uint16_t>(8 + length));
  }
  return out;
}

// ethernet prefixes `l3` with an Ethernet header.
inline Bytes ethernet(const net::MacAddress& to, const net::MacAddress& from, uint16_t type,
                      const Bytes& l3, uint16_t vlan = 0) {
  Bytes out(18 + l3.size());
  const uint32_t n = net::writeEthernet(out.data(), to, from, vlan, type);
  std::memcpy(out.data() + n, l3.data(), l3.size());
  out.resize(n + l3.size());
  return out;
}

// fragmentsV4 splits a whole IPv4 packet (no options) into fragments of at most `mtu` bytes.
inline std::vector<Bytes> fragmentsV4(const Bytes& packet, uint32_t mtu) {
  std::vector<Bytes> out;
  const uint32_t payload = static_cast<uint32_t>(packet.size()) - 20;
  const uint32_t chunk = net::ipv4FragmentPayloadBytes(mtu);
  for (uint32_t offset = 0; offset < payload; offset += chunk) {
    const uint32_t n = std::min(chunk, payload - offset);
    Bytes f(20 + n);
    net::Ipv4Fields fields;
    fields.source = packet.data() + 12;
    fields.destination = packet.data() + 16;
    fields.payload_length = static_cast<uint16_t>(n);
    fields.id = net::load16(packet.data() + 4);
    fields.ttl = packet[8];
    fields.fragment_offset = static_cast<uint16_t>(offset);
    fields.more_fragments = offset + n < payload;
    (void)net::writeIpv4(f.data(), fields);
    std::memcpy(f.data() + 20, packet.data() + 20 + offset, n);
    out.push_back(std::move(f));
  }
  return out;
}

inline Bytes arp(uint16_t op, const net::MacAddress& sender_mac, std::string_view sender_ip,
                 const net::MacAddress& target_mac, std::string_view target_ip) {
  net::ArpMessage m;
  m.op = op;
  m.sender_mac = sender_mac;
  std::memcpy(m.sender_ip, ip(sender_ip).bytes, 4);
  m.target_mac = target_mac;
  std::memcpy(m.target_ip, ip(target_ip).bytes, 4);
  Bytes out(net::kArpBytes);
  (void)net::writeArp(out.data(), m);
  return out;
}

// Datagram is one UDP datagram reassembled from the frames a port sent.
struct Datagram {
  net::L2Frame l2;
  net::UdpDatagram udp;
  std::string payload;
  bool ip_checksum_ok = true;
  bool udp_checksum_ok = false;
  uint32_t frames = 0;
};

// udpChecksumOk verifies a UDP header + payload against its pseudo-header.
inline bool udpChecksumOk(const net::IpAddress& s, const net::IpAddress& d, const uint8_t* udp,
                          uint32_t length) {
  return net::checksumFold(net::checksumAdd(
             udp, length, net::pseudoHeaderSum(s, d, net::kIpProtoUdp, length))) == 0;
}

// datagrams decodes the UDP datagrams in `frames` (IPv4 fragments are put back together by
// id, IPv6 ones by their fragment header) and ignores everything else.
inline std::vector<Datagram> datagrams(const std::vector<Bytes>& frames) {
  std::vector<Datagram> out;
  struct Partial {
    Datagram d;
    Bytes data;
    uint32_t total = 0;
    uint32_t have = 0;
    net::IpAddress source, destination;
  };
  std::map<uint32_t, Partial> partial;
  for (const Bytes& frame : frames) {
    net::L2Frame l2;
    if (!net::parseEthernet(frame.data(), static_cast<uint32_t>(frame.size()), l2)) {
      continue;
    }
    const uint8_t* l3 = frame.data() + l2.l3_offset;
    const uint32_t l3_size = static_cast<uint32_t>(frame.size()) - l2.l3_offset;
    const bool v4 = l2.ether_type == net::kEtherTypeIpv4;
    const bool v6 = l2.ether_type == net::kEtherTypeIpv6;
    if (!v4 && !v6) {
      continue;
    }
    uint32_t offset = 0;
    bool more = false;
    bool fragment = false;
    uint32_t id = 0;
    const uint8_t* body = nullptr;
    uint32_t body_length = 0;
    net::IpAddress s, d;
    bool ip_ok = true;
    if (v4) {
      ip_ok = net::ipv4HeaderChecksum(l3, 20) == 0;
      const uint16_t frag = net::load16(l3 + 6);
      fragment = (frag & 0x3FFF) != 0;
      offset = (frag & 0x1FFF) * 8u;
      more = (frag & 0x2000) != 0;
      id = net::load16(l3 + 4);
      body = l3 + 20;
      body_length = net::load16(l3 + 2) - 20u;
      s.family = d.family = AF_INET;
      std::memcpy(s.bytes, l3 + 12, 4);
      std::memcpy(d.bytes, l3 + 16, 4);
    } else {
      s.family = d.family = AF_INET6;
      std::memcpy(s.bytes, l3 + 8, 16);
      std::memcpy(d.bytes, l3 + 24, 16);
      body = l3 + 40;
      body_length = net::load16(l3 + 4);
      if (l3[6] == net::kIpProtoFragment) {
        fragment = true;
        const uint16_t field = net::load16(l3 + 42);
        offset = field & 0xFFF8u;
        more = (field & 1u) != 0;
        id = (static_cast<uint32_t>(net::load16(l3 + 44)) << 16) | net::load16(l3 + 46);
        body += 8;
        body_length -= 8;
      } else if (l3[6] != net::kIpProtoUdp) {
        continue;
      }
    }
    if (v4 && l3[9] != net::kIpProtoUdp) {
      continue;
    }
    (void)l3_size;
    Partial& p = partial[fragment ? id : 0xFFFFFFFFu];
    if (!fragment) {
      p = Partial{};
    }
    p.d.l2 = l2;
    p.d.ip_checksum_ok = p.d.ip_checksum_ok && ip_ok;
    ++p.d.frames;
    p.source = s;
    p.destination = d;
    if (p.data.size() < offset + body_length) {
      p.data.resize(offset + body_length);
    }
    std::memcpy(p.data.data() + offset, body, body_length);
    p.have += body_length;
    if (!more) {
      p.total = offset + body_length;
    }
    if (p.total != 0 && p.have == p.total) {
      Datagram done = p.d;
      done.udp.source = {s, net::load16(p.data.data())};
      done.udp.destination = {d, net::load16(p.data.data() + 2)};
      done.payload.assign(reinterpret_cast<const char*>(p.data.data()) + 8, p.total - 8);
      done.udp_checksum_ok = udpChecksumOk(s, d, p.data.data(), p.total);
      out.push_back(std::move(done));
      partial.erase(fragment ? id : 0xFFFFFFFFu);
    }
  }
  return out;
}

// RingPort is a net_ring ethdev whose RX ring the test fills and whose TX ring it drains.
// `pool_cache` is the per-lcore cache of the pool its frames come from: 0 for tests (every
// mbuf is counted in the pool); a benchmark standing in for a NIC gives it the cache the
// daemon's own RX pools have, so the worker's frees stay in its lcore's cache as they would.
class RingPort {
 public:
  explicit RingPort(const std::string& name, unsigned pool_cache = 0) {
    static std::atomic<int> serial{0};
    const std::string unique = name + std::to_string(serial.fetch_add(1));
    rx_ = rte_ring_create((unique + "_rx").c_str(), 4096, SOCKET_ID_ANY,
                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ = rte_ring_create((unique + "_tx").c_str(), 4096, SOCKET_ID_ANY,
                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    pool_ = rte_pktmbuf_pool_create((unique + "_pool").c_str(), 4095, pool_cache, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    port_ = rte_eth_from_rings(unique.c_str(), &rx_, 1, &tx_, 1, SOCKET_ID_ANY);
    if (port_ >= 0) {
      char buffer[RTE_ETH_NAME_MAX_LEN];
      (void)rte_eth_dev_get_name_by_port(static_cast<uint16_t>(port_), buffer);
      name_ = buffer;
      rte_ether_addr m{};
      (void)rte_eth_macaddr_get(static_cast<uint16_t>(port_), &m);
      std::memcpy(mac_.bytes, m.addr_bytes, 6);
    }
  }
  ~RingPort() {
    drain();
    rte_ring_free(rx_);
    rte_ring_free(tx_);
    // The pool outlives nothing the backend holds: the backend is gone before this.
    rte_mempool_free(pool_);
  }
  [[nodiscard]] bool ok() const { return port_ >= 0 && pool_ != nullptr; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const net::MacAddress& mac() const { return mac_; }

  // inject queues one frame for the backend to receive.
  // inject enqueues `frame` as received, with `ol_flags` as a port would set them (e.g. its
  // RX checksum verdicts).
  bool inject(const Bytes& frame, uint64_t ol_flags = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      return false;
    }
    m->ol_flags = ol_flags;
    char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    if (data == nullptr) {
      rte_pktmbuf_free(m);
      return false;
    }
    std::memcpy(data, frame.data(), frame.size());
    injected_.push_back({m, reinterpret_cast<const uint8_t*>(data)});
    return rte_ring_enqueue(rx_, m) == 0;
  }
  // Where a frame lived: its mbuf and the address of its first byte (identity only: the mbuf
  // may be freed since).
  struct Placement {
    const rte_mbuf* mbuf;
    const uint8_t* data;
  };
  // injected / lastSent say where the injected frames and those of the last sent() call were.
  [[nodiscard]] const std::vector<Placement>& injected() const { return injected_; }
  [[nodiscard]] const std::vector<Placement>& lastSent() const { return last_sent_; }
  // sent returns (and frees) every frame the backend transmitted so far.
  std::vector<Bytes> sent() {
    std::vector<Bytes> out;
    last_sent_.clear();
    void* object = nullptr;
    while (rte_ring_dequeue(tx_, &object) == 0) {
      auto* m = static_cast<rte_mbuf*>(object);
      last_sent_.push_back({m, rte_pktmbuf_mtod(m, const uint8_t*)});
      Bytes bytes(m->pkt_len);
      const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, bytes.data());
      if (p != bytes.data()) {
        std::memcpy(bytes.data(), p, m->pkt_len);
      }
      out.push_back(std::move(bytes));
      rte_pktmbuf_free(m);
    }
    return out;
  }
  void drain() { (void)sent(); }
  // pool and rxRing let a benchmark feed prebuilt mbufs without copying.
  [[nodiscard]] rte_mempool* pool() const { return pool_; }
  [[nodiscard]] rte_ring* rxRing() const { return rx_; }

 private:
  rte_ring* rx_ = nullptr;
  rte_ring* tx_ = nullptr;
  rte_mempool* pool_ = nullptr;
  int port_ = -1;
  std::string name_;
  net::MacAddress mac_;
  std::vector<Placement> injected_;
  std::vector<Placement> last_sent_;
};

}  // namespace sipshield::dpdk_testing
