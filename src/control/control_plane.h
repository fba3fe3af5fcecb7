#pragma once

// ControlPlane ties the operator-facing pieces to a running Daemon: the event log, the
// command registry behind the control socket, the socket itself and the metrics endpoint.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/control/command_registry.h"
#include "src/control/control_server.h"
#include "src/control/event_log.h"
#include "src/control/metrics_server.h"
#include "src/control/stats_snapshot.h"
#include "src/status.h"

namespace sipshield {
class Daemon;
struct Config;
}  // namespace sipshield

namespace sipshield::control {

// CounterGroupSource appends a subsystem's counter groups (e.g. per-rule drops) to a stats
// snapshot. Called on the control thread whenever a snapshot is built.
using CounterGroupSource = std::function<void(std::vector<CounterGroup>& groups)>;

// ControlPlane is owned by the Daemon and lives as long as it. It registers the built-in
// commands: backends, stats, drain {"name"}, undrain {"name"}, reload; and keeps top, bans
// and rules unavailable until a provider replaces them through commands().add().
//
// Thread-safety: every method is for the control thread, except events(), whose EventLog is
// thread-safe. Command handlers run on the control thread (inside tick()).
class ControlPlane {
 public:
  // ControlPlane keeps a reference to `daemon`, which must outlive it. Does no I/O.
  explicit ControlPlane(Daemon& daemon);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // openEventLog directs events to `destination` ("stderr" or a file); see EventLog::open.
  Status openEventLog(const std::string& destination) { return events_.open(destination); }

  // open starts the control socket (config.control.socket, "" = none) and the metrics
  // endpoint (config.metrics.listen, unset = none). Returns the first error of
  // ControlServer::open or MetricsServer::start; on error nothing stays open.
  Status open(const Config& config);

  // tick serves the control socket and, when metrics are on, publishes a fresh snapshot to
  // the metrics thread at most every `kPublishIntervalMs`. Call every control-loop round.
  void tick(uint64_t now_ms);

  // close stops the metrics server and removes the control socket. Idempotent.
  void close();

  // events returns the event log (thread-safe).
  [[nodiscard]] EventLog& events() { return events_; }
  // commands returns the registry, for subsystems that add commands (control thread only).
  [[nodiscard]] CommandRegistry& commands() { return commands_; }
  // addCounterGroupSource adds a provider of counter groups to every stats snapshot.
  void addCounterGroupSource(CounterGroupSource source);

  // snapshot builds a StatsSnapshot of the daemon at `now_ms` (control thread only).
  [[nodiscard]] StatsSnapshot snapshot(uint64_t now_ms) const;

  // metricsPort returns the bound metrics port (0 when off).
  [[nodiscard]] uint16_t metricsPort() const { return metrics_ ? metrics_->port() : 0; }
  // socketPath returns the control socket path ("" when off).
  [[nodiscard]] const std::string& socketPath() const { return server_.path(); }

  static constexpr uint64_t kPublishIntervalMs = 100;

 private:
  void registerBuiltins();

  Daemon& daemon_;
  EventLog events_;
  CommandRegistry commands_;
  ControlServer server_;
  std::unique_ptr<MetricsServer> metrics_;
  std::vector<CounterGroupSource> group_sources_;
  uint64_t last_publish_ms_ = 0;
};

// statsJson renders `snapshot` for `sipshieldctl stats`: {"workers":[{"worker":0,
// "counters":{name:n},"io":{name:n},"bursts":{"count":n,"sum_seconds":x}}],"total":{...},
// "groups":{name:{key:n}}}. Thread-safe (pure).
[[nodiscard]] nlohmann::json statsJson(const StatsSnapshot& snapshot);

// backendsJson renders `snapshot` for `sipshieldctl backends`: {"backends":[{"name","address",
// "state","weight","requests","healthy","draining","health":{"consecutive_successes",
// "consecutive_failures","passive_failures","last_change_ago_ms"}}]}; `now_ms` is the
// monotonic time the ages are measured from. Thread-safe (pure).
[[nodiscard]] nlohmann::json backendsJson(const StatsSnapshot& snapshot,
                                          uint64_t now_ms);

}  // namespace sipshield::control
