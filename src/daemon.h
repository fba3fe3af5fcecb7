#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lb/affinity_table.h"
#include "lb/backend_pool.h"
#include "lb/snapshot_publisher.h"
#include "src/config.h"
#include "src/control/control_plane.h"  // control plane (issue 6)
#include "src/health_prober.h"
#include "src/io/uring/uring_backend.h"
#include "src/pipeline.h"
#include "src/runtime.h"
#include "src/shield_control.h"  // shield control (issue 4)
#include "src/status.h"

namespace sipshield {

namespace io {
class DpdkBackend;  // dpdk backend (issue 5): defined only in DPDK builds
}

// Totals across workers, for the exit report, `sipshieldctl stats` and metrics.
struct DaemonStats {
  uint64_t counters[kPipelineCounterCount] = {};
  std::vector<uint64_t> requests_per_backend;  // by backend index
  io::IoCounters io;
};

// Daemon is the running balancer: the I/O workers with their pipelines, and the control
// thread's state (backend pool, health prober, snapshot publishing, reloads).
// start/stop/runUntilSignalled and reload are for the control (main) thread only.
class Daemon {
 public:
  // Daemon takes a validated config; `config_path` is re-read on reload (may be empty).
  Daemon(Config config, std::string config_path);
  ~Daemon();

  // start builds the shared tables, binds the sockets, starts the workers and publishes the
  // first snapshot. Returns a clear error when a socket, io_uring or a table cannot be made.
  Status start();

  // runUntilSignalled runs the control loop (health probes, passive signals, affinity ageing,
  // snapshot reclamation) until SIGTERM/SIGINT; SIGHUP reloads the config file. The caller
  // must have blocked those signals in every thread (blockControlSignals) before start().
  void runUntilSignalled();

  // controlTick does one round of the control loop at `now_ms` (tests drive it directly).
  void controlTick(uint64_t now_ms);

  // reload re-reads the config file and applies what can change live (backends, weights,
  // drain, key, record_route, secrets, health timing). On error the running config stays.
  Status reload();

  // stop stops the workers; idempotent.
  void stop();

  [[nodiscard]] DaemonStats stats() const;
  [[nodiscard]] std::vector<lb::BackendStatus> backends() const { return pool_->status(); }
  [[nodiscard]] const std::vector<net::Endpoint>& boundEndpoints() const;
  // probeSources is boundEndpoints() with the backend_listen sockets first: where health
  // probes leave from.
  [[nodiscard]] std::vector<net::Endpoint> probeSources() const;
  [[nodiscard]] const Config& config() const { return config_; }

  // --- control plane (issue 6) ---
  // drain sets (true) or clears (false) backend `name`'s drain flag at once. The override
  // survives reloads until the config file's own drain flag for that backend changes.
  // Control thread only. Returns kNotFound for an unknown backend.
  Status drain(std::string_view name, bool draining);
  // workerSnapshots copies each worker's pipeline and I/O counters and burst histogram, in
  // worker order. Control thread (reads the workers' relaxed atomics).
  [[nodiscard]] std::vector<control::WorkerSnapshot> workerSnapshots() const;
  // hasBurstHistograms is true when the workers' bursts are timed.
  [[nodiscard]] bool hasBurstHistograms() const { return !burst_histograms_.empty(); }
  // control returns the control plane: event log, command registry (for subsystems that add
  // commands such as top/bans/rules) and counter-group sources. Control thread only.
  [[nodiscard]] control::ControlPlane& control() { return *control_; }
  // --- end control plane ---
  // --- shield control ---
  // shieldControl is the DoS shield's control side: operator bans, the top/bans/rules
  // commands, shield counter groups and ban events. Control thread only.
  [[nodiscard]] ShieldControl& shieldControl() { return *shield_control_; }
  // --- end shield control ---
  // requestStop makes runUntilSignalled return (any thread).
  void requestStop() { stop_requested_.store(true); }

  // blockControlSignals blocks SIGHUP/SIGTERM/SIGINT in the calling thread and the threads it
  // creates afterwards, so only the control loop sees them.
  static void blockControlSignals();

 private:
  Status applyBackends(const std::vector<BackendConfig>& backends, uint64_t now_ms);
  Status publishSnapshot();
  // logEvent writes one event line through the control plane's rate-limited EventLog.
  void logEvent(std::string_view kind, std::string_view detail);

  Config config_;
  std::string config_path_;
  std::unique_ptr<lb::BackendPool> pool_;
  std::unique_ptr<lb::AffinityTable> affinity_;
  std::unique_ptr<lb::SnapshotPublisher<RuntimeSnapshot>> publisher_;
  // The shield rules of the newest published snapshot (releaseStaleCeilings compares with it).
  std::shared_ptr<const filters::ShieldRules> published_shield_;
  std::shared_ptr<const lb::BranchSigner> signer_;
  std::unique_ptr<io::UringBackend> io_;
  // dpdk backend (issue 5): set instead of starting io_ when server.io is "dpdk". A
  // shared_ptr so this header needs no DPDK types (its deleter is made in daemon.cc).
  std::shared_ptr<io::DpdkBackend> dpdk_;
  std::vector<Pipeline*> pipelines_;  // owned by io_
  std::unique_ptr<HealthProber> prober_;
  std::vector<ProbeResult> probe_results_;
  std::vector<uint64_t> seen_503_;     // per backend, summed over workers at the last tick
  std::vector<LocalIdentity> locals_;
  uint64_t tag_seed_ = 0;
  uint64_t version_ = 0;
  uint32_t sweep_cursor_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool running_ = false;
  // control plane (issue 6): made in the constructor so events and commands work at once.
  std::unique_ptr<control::ControlPlane> control_;
  std::vector<const control::BurstHistogram*> burst_histograms_;  // owned by io_, per worker
  std::map<std::string, bool, std::less<>> drain_override_;  // by backend name, from drain()
  // --- shield control ---
  // Made in the constructor (after control_) so its commands are registered at once.
  std::unique_ptr<ShieldControl> shield_control_;
  // --- end shield control ---
};

// monotonicMs reads CLOCK_MONOTONIC in milliseconds.
uint64_t monotonicMs();

}  // namespace sipshield
