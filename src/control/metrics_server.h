#pragma once

// The Prometheus and orchestration endpoint: /metrics, /health and /ready over HTTP, served
// by cpp-httplib on its own threads from a snapshot the control loop publishes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "src/control/stats_snapshot.h"
#include "src/net/endpoint.h"
#include "src/status.h"

namespace httplib {
class Server;
}

namespace sipshield::control {

// MetricsServer serves:
//   GET /metrics  200, text/plain; version=0.0.4: renderPrometheus() of the latest snapshot
//                 (503 before the first publish()).
//   GET /health   200 "ok" while the control loop ticks (markTick within `stall_ms`), else
//                 503 "control loop stalled": liveness.
//   GET /ready    200 "ready" when the latest snapshot has at least one backend Up, else
//                 503 "no backend up": readiness to take calls.
// The HTTP threads never touch pipelines or the backend pool; they read the snapshot the
// control loop hands over with publish() (a shared_ptr swapped under a mutex).
//
// Thread-safety: start/stop on one (control) thread; publish and markTick from the control
// thread while running; port() any thread.
class MetricsServer {
 public:
  // MetricsServer does no I/O. `stall_ms` is how long /health tolerates no markTick().
  explicit MetricsServer(uint64_t stall_ms = 2000);
  // ~MetricsServer stops the server.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // available reports whether this build has cpp-httplib (otherwise start() fails).
  [[nodiscard]] static bool available();

  // start binds `listen` (port 0 picks a free port; see port()) and serves on a background
  // thread. Returns kUnimplemented without cpp-httplib, kUnavailable when the address cannot
  // be bound (with the address in the message), kFailedPrecondition when already started.
  Status start(const net::Endpoint& listen);

  // stop stops serving and joins the thread. Idempotent.
  void stop();

  // publish makes `snapshot` what the next requests see, and counts as a tick.
  void publish(std::shared_ptr<const StatsSnapshot> snapshot, uint64_t now_ms);

  // markTick records that the control loop ran at `now_ms` (monotonic ms; see monotonicNowMs).
  void markTick(uint64_t now_ms) { last_tick_ms_.store(now_ms, std::memory_order_relaxed); }

  // port returns the bound TCP port (0 when not started).
  [[nodiscard]] uint16_t port() const { return port_.load(std::memory_order_relaxed); }

  // monotonicNowMs reads CLOCK_MONOTONIC in ms, the time base of markTick and publish.
  [[nodiscard]] static uint64_t monotonicNowMs();

 private:
  [[nodiscard]] std::shared_ptr<const StatsSnapshot> current() const;

  uint64_t stall_ms_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::shared_ptr<const StatsSnapshot> snapshot_;  // guarded by mutex_
  std::atomic<uint64_t> last_tick_ms_{0};
  std::atomic<uint16_t> port_{0};
};

}  // namespace sipshield::control
