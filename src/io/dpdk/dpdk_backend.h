#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/io/dpdk/dpdk_config.h"
#include "src/io/dpdk/dpdk_counters.h"
#include "src/io/dpdk/dpdk_layout.h"
#include "src/packet.h"
#include "src/status.h"

struct rte_mempool;
struct rte_ether_addr;

namespace sipshield::net {
class NeighbourTable;
}

namespace sipshield::io {

class DpdkWorker;

// initEal initialises the DPDK EAL with `args` (after a program name) unless this process
// already did, in which case `args` are ignored and the first call's result is returned: the
// EAL can be initialised once per process. Thread-safe (serialised). Returns kUnavailable with
// DPDK's reason (rte_errno) when rte_eal_init fails.
Status initEal(const std::vector<std::string>& args);

// DpdkHandlerFactory makes worker `worker_index`'s BurstHandler; called once per worker on the
// thread calling DpdkBackend::start(), before any worker runs. Same contract as the uring
// backend's HandlerFactory.
using DpdkHandlerFactory = std::function<std::unique_ptr<BurstHandler>(int worker_index)>;

// DpdkBackend runs the poll-mode data path: the EAL, the ports (one RX and one TX queue per
// worker on each, RSS across queues when there are several), one mbuf pool per worker, the
// shared neighbour table and N DpdkWorkers, each on its own thread (registered with the EAL
// so mempool caches work).
//
// Threading: start() and stop() from one control thread; counters(), workerCounters(),
// localEndpoints() and layout() from any thread after start() returned ok.
class DpdkBackend {
 public:
  // DpdkBackend keeps `config`; does no I/O.
  explicit DpdkBackend(DpdkBackendConfig config);
  // ~DpdkBackend stops the workers, stops and closes the ports and frees the pools.
  ~DpdkBackend();
  DpdkBackend(const DpdkBackend&) = delete;
  DpdkBackend& operator=(const DpdkBackend&) = delete;

  // start initialises the EAL (initEal), probes and starts the ports, creates the pools and
  // workers with handlers from `factory`, and (config.spawn_threads) starts one thread per
  // worker. Returns ok, or kInvalidArgument (bad config, unknown device, a port with fewer
  // queues than workers, factory returned null), kUnavailable (EAL or port start failed),
  // kResourceExhausted (no memory for pools or tables), kFailedPrecondition (already
  // started). On error everything made so far is torn down.
  Status start(const DpdkHandlerFactory& factory);

  // stop asks every worker to stop, joins the threads, stops and closes the ports. Idempotent.
  // Counters stay readable.
  void stop();

  // pollWorker runs one poll iteration of worker `index` on the calling thread (only when
  // started with spawn_threads = false). Returns the frames received. `now_ns` is
  // CLOCK_MONOTONIC.
  uint32_t pollWorker(size_t index, uint64_t now_ns);

  // counters returns the sum over workers. Thread-safe.
  [[nodiscard]] DpdkCounterValues counters() const;
  // workerCounters returns worker `index`'s counters (zeros when out of range).
  [[nodiscard]] DpdkCounterValues workerCounters(size_t index) const;
  // workerCount returns the number of running workers made by start().
  [[nodiscard]] size_t workerCount() const { return workers_.size(); }
  // localEndpoints returns the listen endpoints by local_index (empty before start()).
  [[nodiscard]] const std::vector<net::Endpoint>& localEndpoints() const { return endpoints_; }
  // layout returns the ports (ids, MACs) and addresses in use. Valid after start().
  [[nodiscard]] const DpdkLayout& layout() const { return layout_; }
  // neighbours returns the shared ARP/ND table (for tests and the control plane).
  [[nodiscard]] net::NeighbourTable* neighbours() const { return neighbours_.get(); }

 private:
  Status startPorts();
  // startExceptionTap creates and starts port `index`'s TAP to the kernel (net_tap named
  // spec.exception_name, MAC `mac`). Returns its port id, or kUnavailable.
  Result<uint16_t> startExceptionTap(size_t index, const DpdkPort& spec,
                                     const rte_ether_addr& mac);
  void teardown();

  DpdkBackendConfig config_;
  DpdkLayout layout_;
  std::vector<net::Endpoint> endpoints_;
  std::vector<uint16_t> started_ports_;
  std::vector<bool> probed_;  // per started port: we probed the device, so we remove it
  std::vector<rte_mempool*> pools_;
  std::unique_ptr<net::NeighbourTable> neighbours_;
  std::vector<std::unique_ptr<DpdkWorker>> workers_;
  std::vector<std::unique_ptr<BurstHandler>> handlers_;
  std::vector<std::thread> threads_;
  std::vector<DpdkCounterValues> final_counters_;  // workers' counters after stop()
  bool started_ = false;
};

}  // namespace sipshield::io
