#include "src/io/dpdk/dpdk_backend.h"

#include <pthread.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sched.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "src/io/dpdk/dpdk_worker.h"
#include "src/net/neighbour_table.h"

namespace sipshield::io {
namespace {

constexpr std::array<std::string_view, kDpdkCounterCount> kCounterNames = {{
#define SIPSHIELD_DPDK_COUNTER_NAME(name, text) text,
    SIPSHIELD_DPDK_COUNTERS(SIPSHIELD_DPDK_COUNTER_NAME)
#undef SIPSHIELD_DPDK_COUNTER_NAME
}};

std::mutex eal_mutex;
bool eal_done = false;
Status eal_status;

std::string rteError() { return std::string(rte_strerror(rte_errno)); }

std::atomic<uint32_t> pool_serial{0};

}  // namespace

std::string_view dpdkCounterName(DpdkCounter counter) {
  const auto index = static_cast<size_t>(counter);
  return index < kCounterNames.size() ? kCounterNames[index] : std::string_view("unknown");
}

Status initEal(const std::vector<std::string>& args) {
  std::lock_guard<std::mutex> guard(eal_mutex);
  if (eal_done) {
    return eal_status;
  }
  std::vector<std::string> owned;
  owned.emplace_back("sipshield");
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : owned) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const int result = rte_eal_init(static_cast<int>(owned.size()), argv.data());
  eal_done = true;
  eal_status = result < 0 ? Status(StatusCode::kUnavailable, "rte_eal_init: " + rteError())
                          : Status::ok();
  return eal_status;
}

DpdkBackend::DpdkBackend(DpdkBackendConfig config) : config_(std::move(config)) {}

DpdkBackend::~DpdkBackend() { stop(); }

Status DpdkBackend::start(const DpdkHandlerFactory& factory) {
  if (started_) {
    return Status(StatusCode::kFailedPrecondition, "DPDK backend already started");
  }
  if (config_.workers == 0 || config_.workers > 64 || config_.ports.empty() ||
      config_.listen.empty() || config_.listen.size() > 256 || config_.burst == 0 ||
      config_.burst > kMaxBurst || config_.mtu < 576 || config_.mtu > 9216) {
    return invalidArgument(
        "dpdk: need 1..64 workers, at least one port, 1..256 listen endpoints, burst 1..32 "
        "and an MTU of 576..9216");
  }
  if (Status status = initEal(config_.eal_args); !status.isOk()) {
    return status;
  }
  final_counters_.clear();
  handlers_.clear();
  layout_ = DpdkLayout{};
  layout_.mtu = config_.mtu;
  layout_.addresses = config_.addresses;
  layout_.listen = config_.listen;
  for (const net::Endpoint& listen : config_.listen) {
    if (!layout_.isOurs(listen.ip.bytes, listen.ip.family)) {
      return invalidArgument("dpdk: listen address " + listen.toString() +
                             " is not one of the DPDK addresses");
    }
  }
  for (uint32_t i = 0; i < config_.workers; ++i) {
    std::unique_ptr<BurstHandler> handler = factory(static_cast<int>(i));
    if (handler == nullptr) {
      handlers_.clear();
      return invalidArgument("handler factory returned null for worker " + std::to_string(i));
    }
    handlers_.push_back(std::move(handler));
  }
  // One pool per worker: its RX queues fill from it and its TX frames come from it, so no
  // two lcores ever contend on a pool's ring beyond their private caches.
  uint32_t frame_bytes = config_.mtu + 22;  // Ethernet header, one VLAN tag, FCS room
  for (const DpdkPort& port : config_.ports) {
    frame_bytes = std::max(frame_bytes, port.max_rx_frame);
  }
  const uint32_t data_room = std::min<uint32_t>(
      65535, RTE_PKTMBUF_HEADROOM + std::max<uint32_t>(2048, ((frame_bytes + 63) / 64) * 64));
  for (uint32_t i = 0; i < config_.workers; ++i) {
    const std::string name = "sipshield_" + std::to_string(pool_serial.fetch_add(1));
    rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), config_.mbufs_per_worker, 256, 0,
                                                static_cast<uint16_t>(data_room),
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) {
      teardown();
      return Status(StatusCode::kResourceExhausted,
                    "dpdk: mbuf pool for worker " + std::to_string(i) + ": " + rteError() +
                        " (raise -m / hugepages or lower mbufs_per_worker)");
    }
    pools_.push_back(pool);
  }
  if (Status status = startPorts(); !status.isOk()) {
    teardown();
    return status;
  }
  neighbours_ = std::make_unique<net::NeighbourTable>(config_.neighbour_capacity);
  for (uint32_t i = 0; i < config_.workers; ++i) {
    auto worker = std::make_unique<DpdkWorker>(layout_, config_, static_cast<uint16_t>(i),
                                               pools_[i], *neighbours_);
    if (Status status = worker->open(); !status.isOk()) {
      teardown();
      return status;
    }
    workers_.push_back(std::move(worker));
  }
  endpoints_ = config_.listen;
  started_ = true;
  if (config_.spawn_threads) {
    for (uint32_t i = 0; i < config_.workers; ++i) {
      DpdkWorker* worker = workers_[i].get();
      BurstHandler* handler = handlers_[i].get();
      const int cpu = config_.cpus.empty() ? -1 : config_.cpus[i % config_.cpus.size()];
      threads_.emplace_back([worker, handler, cpu, i] {
        if (cpu >= 0) {
          cpu_set_t set;
          CPU_ZERO(&set);
          CPU_SET(cpu, &set);
          if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
            std::fprintf(stderr, "sipshield: dpdk worker %u: cannot pin to CPU %d\n", i, cpu);
          }
        }
        // An lcore id gives the worker its mempool cache; without one (all ids taken) the
        // pool still works, only slower.
        const bool registered = rte_thread_register() == 0;
        worker->run(*handler);
        if (registered) {
          rte_thread_unregister();
        }
      });
    }
  }
  return Status::ok();
}

Result<uint16_t> DpdkBackend::startExceptionTap(size_t index, const DpdkPort& spec,
                                                const rte_ether_addr& mac) {
  // The TAP carries the port's MAC, so the kernel's frames leave with our source address and
  // frames for us are frames for it; it has one queue per worker like the port.
  char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(mac_text, sizeof(mac_text), &mac);
  const std::string name = "net_tap_ss" + std::to_string(index);
  const std::string device = name + ",iface=" + spec.exception_name + ",mac=" + mac_text;
  const std::string where =
      "dpdk.ports[" + std::to_string(index) + "] exception_path tap (" + device + "): ";
  uint16_t port_id = 0;
  if (rte_dev_probe(device.c_str()) != 0 ||
      rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    return Status(StatusCode::kUnavailable,
                  where + "cannot create the TAP (needs /dev/net/tun and CAP_NET_ADMIN): " +
                      rteError());
  }
  started_ports_.push_back(port_id);
  probed_.push_back(true);
  const uint16_t queues = static_cast<uint16_t>(config_.workers);
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port_id, queues, queues, &conf); rc != 0) {
    return Status(StatusCode::kUnavailable,
                  where + "rte_eth_dev_configure: " + std::string(rte_strerror(-rc)));
  }
  const int socket = static_cast<int>(rte_socket_id());
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port_id, q, 512, socket, nullptr, pools_[q]); rc != 0) {
      return Status(StatusCode::kUnavailable,
                    where + "rx queue setup: " + std::string(rte_strerror(-rc)));
    }
    if (int rc = rte_eth_tx_queue_setup(port_id, q, 512, socket, nullptr); rc != 0) {
      return Status(StatusCode::kUnavailable,
                    where + "tx queue setup: " + std::string(rte_strerror(-rc)));
    }
  }
  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    return Status(StatusCode::kUnavailable,
                  where + "rte_eth_dev_start: " + std::string(rte_strerror(-rc)));
  }
  return port_id;
}

Status DpdkBackend::startPorts() {
  for (size_t p = 0; p < config_.ports.size(); ++p) {
    const DpdkPort& spec = config_.ports[p];
    const std::string where = "dpdk.ports[" + std::to_string(p) + "] (" + spec.device + "): ";
    const std::string name = spec.device.substr(0, spec.device.find(','));
    uint16_t port_id = 0;
    bool probed = false;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
      if (rte_dev_probe(spec.device.c_str()) != 0 ||
          rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
        return invalidArgument(where + "cannot probe the device: " + rteError());
      }
      probed = true;
    }
    started_ports_.push_back(port_id);
    probed_.push_back(probed);
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_id, &info) != 0) {
      return Status(StatusCode::kUnavailable, where + "rte_eth_dev_info_get failed");
    }
    if (info.max_rx_queues < config_.workers || info.max_tx_queues < config_.workers) {
      return invalidArgument(where + "has " + std::to_string(info.max_rx_queues) +
                             " RX queues, " + std::to_string(config_.workers) +
                             " workers need one each (af_packet: add qpairs=N)");
    }
    rte_eth_conf conf{};
    if (config_.workers > 1 && info.flow_type_rss_offloads != 0) {
      // RSS on addresses and ports keeps one source on one worker (DESIGN.md).
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf =
          (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    // Unfragmented datagrams leave their checksums to the port when it offers that.
    const TxChecksumOffload tx_checksums =
        selectTxChecksumOffload(info.tx_offload_capa, config_.tx_checksum_offload);
    conf.txmode.offloads = txOffloadBits(tx_checksums);
    // Start-up only: says which checksums this port finishes (tests and operators read it).
    std::fprintf(stderr, "sipshield: dpdk port %u (%s, %s): tx checksum offload: ipv4 %s, udp %s\n",
                 port_id, name.c_str(), info.driver_name != nullptr ? info.driver_name : "?",
                 tx_checksums.ipv4 ? "on" : "off", tx_checksums.udp ? "on" : "off");
    const uint16_t queues = static_cast<uint16_t>(config_.workers);
    if (int rc = rte_eth_dev_configure(port_id, queues, queues, &conf); rc != 0) {
      return Status(StatusCode::kUnavailable,
                    where + "rte_eth_dev_configure: " + std::string(rte_strerror(-rc)));
    }
    uint16_t rx_descriptors = spec.rx_descriptors;
    uint16_t tx_descriptors = spec.tx_descriptors;
    (void)rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_descriptors, &tx_descriptors);
    // Virtual devices often cannot change their MTU; the worker fragments to layout.mtu anyway.
    (void)rte_eth_dev_set_mtu(port_id, static_cast<uint16_t>(config_.mtu));
    const int socket = rte_eth_dev_socket_id(port_id) < 0 ? static_cast<int>(rte_socket_id())
                                                          : rte_eth_dev_socket_id(port_id);
    for (uint16_t q = 0; q < queues; ++q) {
      if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_descriptors, socket, nullptr,
                                          pools_[q]);
          rc != 0) {
        return Status(StatusCode::kUnavailable,
                      where + "rx queue setup: " + std::string(rte_strerror(-rc)));
      }
      if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_descriptors, socket, nullptr);
          rc != 0) {
        return Status(StatusCode::kUnavailable,
                      where + "tx queue setup: " + std::string(rte_strerror(-rc)));
      }
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) {
      return Status(StatusCode::kUnavailable,
                    where + "rte_eth_dev_start: " + std::string(rte_strerror(-rc)));
    }
    DpdkPortLayout port;
    port.port_id = port_id;
    rte_ether_addr mac{};
    (void)rte_eth_macaddr_get(port_id, &mac);
    std::memcpy(port.mac.bytes, mac.addr_bytes, 6);
    port.vlan = spec.vlan;
    port.tx_checksums = tx_checksums;
    if (spec.exception_tap) {
      Result<uint16_t> tap = startExceptionTap(p, spec, mac);
      if (!tap.isOk()) {
        return tap.status();
      }
      port.exception_port_id = *tap;
      uint16_t tap_mtu = 0;
      if (rte_eth_dev_get_mtu(*tap, &tap_mtu) == 0 && tap_mtu >= 68) {
        port.exception_mtu = tap_mtu;
      }
      rte_ether_addr tap_mac{};
      (void)rte_eth_macaddr_get(*tap, &tap_mac);
      std::memcpy(port.exception_mac.bytes, tap_mac.addr_bytes, 6);
    }
    port.gateway = spec.gateway;
    port.gateway6 = spec.gateway6;
    for (const DpdkAddress& address : config_.addresses) {
      if (address.port == p) {
        port.addresses.push_back(address);
      }
    }
    layout_.ports.push_back(port);
  }
  return Status::ok();
}

void DpdkBackend::stop() {
  for (auto& worker : workers_) {
    worker->stop();
  }
  for (std::thread& thread : threads_) {
    thread.join();
  }
  threads_.clear();
  if (started_) {
    teardown();
    started_ = false;
  }
}

void DpdkBackend::teardown() {
  // Counters survive in a snapshot: workers go, their numbers stay readable.
  for (const auto& worker : workers_) {
    final_counters_.push_back(worker->counters());
  }
  workers_.clear();  // frees the mbufs they still hold
  for (size_t i = 0; i < started_ports_.size(); ++i) {
    const uint16_t port_id = started_ports_[i];
    rte_eth_dev_info info{};
    const bool have_info = rte_eth_dev_info_get(port_id, &info) == 0;
    (void)rte_eth_dev_stop(port_id);
    (void)rte_eth_dev_close(port_id);
    // A device we probed is removed so the same vdev name can be probed again later.
    if (probed_[i] && have_info && info.device != nullptr) {
      (void)rte_dev_remove(info.device);
    }
  }
  started_ports_.clear();
  probed_.clear();
  for (rte_mempool* pool : pools_) {
    rte_mempool_free(pool);
  }
  pools_.clear();
}

uint32_t DpdkBackend::pollWorker(size_t index, uint64_t now_ns) {
  if (!started_ || config_.spawn_threads || index >= workers_.size()) {
    return 0;
  }
  return workers_[index]->poll(*handlers_[index], now_ns);
}

DpdkCounterValues DpdkBackend::workerCounters(size_t index) const {
  if (index < workers_.size()) {
    return workers_[index]->counters();
  }
  if (index < final_counters_.size()) {
    return final_counters_[index];
  }
  return {};
}

DpdkCounterValues DpdkBackend::counters() const {
  DpdkCounterValues sum;
  const size_t count = std::max(workers_.size(), final_counters_.size());
  for (size_t i = 0; i < count; ++i) {
    sum += workerCounters(i);
  }
  return sum;
}

}  // namespace sipshield::io
