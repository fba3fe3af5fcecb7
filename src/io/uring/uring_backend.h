#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/io/uring/uring_worker.h"
#include "src/packet.h"
#include "src/status.h"

namespace sipshield::io {

// UringBackendConfig is the io_uring backend's configuration, fixed at start().
struct UringBackendConfig {
  // Per-worker socket/ring settings, including the listen addresses shared by every worker
  // through SO_REUSEPORT.
  UringConfig worker;
  // Number of worker threads; 0 means std::thread::hardware_concurrency() (at least 1).
  uint32_t workers = 0;
  // Pin worker i to a CPU: cpus[i % cpus.size()] when `cpus` is given, else CPU i modulo the
  // number of CPUs. A pinning failure is logged to stderr and the worker runs unpinned.
  bool pin_cpus = false;
  std::vector<int> cpus;
};

// HandlerFactory makes worker `worker_index`'s BurstHandler. Called once per worker, on the
// thread calling UringBackend::start(), before any worker runs; never per packet.
using HandlerFactory = std::function<std::unique_ptr<BurstHandler>(int worker_index)>;

// UringBackend runs N UringWorkers, one thread each, all bound to the same listen addresses
// with SO_REUSEPORT so the kernel spreads sources across them.
//
// Threading: start() and stop() are called by one control thread; counters(),
// workerCounters(), localEndpoints() and mode() may be called from any thread after start()
// returned ok.
class UringBackend {
 public:
  // UringBackend keeps `config`; does no I/O.
  explicit UringBackend(UringBackendConfig config);
  // ~UringBackend stops and joins the workers if still running.
  ~UringBackend();
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  // start creates the handlers with `factory`, then opens and starts each worker in its own
  // thread, waiting until every worker has opened. Listen ports given as 0 are resolved by the
  // first worker and reused by the others, so all workers share one ephemeral port.
  // Returns ok, or the first worker error (kInvalidArgument, kAlreadyExists, kUnavailable,
  // kResourceExhausted, kFailedPrecondition), with "worker N:" in the message; on error every
  // started worker is stopped and joined before returning. kFailedPrecondition if already
  // started; kInvalidArgument if the factory returns null.
  Status start(const HandlerFactory& factory);

  // stop asks every worker to stop and joins the threads. Idempotent. Returns once all
  // workers have left their loops (stop() wakes blocked workers at once). Counters stay
  // readable until the next start() or destruction.
  void stop();

  // counters returns the sum over workers. Thread-safe (relaxed snapshots).
  [[nodiscard]] IoCounters counters() const;
  // workerCounters returns worker `index`'s counters; zeros for an index out of range.
  [[nodiscard]] IoCounters workerCounters(size_t index) const;
  // workerCount returns the number of workers made by the last start() (0 before start()).
  [[nodiscard]] size_t workerCount() const { return workers_.size(); }
  // localEndpoints returns the bound listen addresses (ephemeral ports resolved), indexed by
  // local_index. Empty before start().
  [[nodiscard]] const std::vector<net::Endpoint>& localEndpoints() const { return endpoints_; }
  // mode returns the I/O mode the workers use (Uring or Mmsg), Auto before start().
  [[nodiscard]] IoMode mode() const { return mode_; }
  // fallbackReason says why Auto fell back to Mmsg; empty otherwise.
  [[nodiscard]] const std::string& fallbackReason() const { return fallback_reason_; }

 private:
  UringBackendConfig config_;
  std::vector<std::unique_ptr<UringWorker>> workers_;
  std::vector<std::unique_ptr<BurstHandler>> handlers_;
  std::vector<std::thread> threads_;
  std::vector<net::Endpoint> endpoints_;
  IoMode mode_ = IoMode::Auto;
  std::string fallback_reason_;
};

}  // namespace sipshield::io
