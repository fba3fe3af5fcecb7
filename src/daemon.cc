#include "src/daemon.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <iostream>
#include <thread>

#include "lb/dispatcher.h"
#include "src/control/burst_histogram.h"
#include "src/snapshot_builder.h"  // shield control: shared with `sipshield replay`
#if SIPSHIELD_HAVE_DPDK  // dpdk backend (issue 5)
#include "src/io/dpdk/dpdk_backend.h"
#endif

namespace sipshield {
namespace {

// --- dpdk backend (issue 5) ---
#if SIPSHIELD_HAVE_DPDK
// ioCountersOf maps the DPDK counters onto the uring backend's, so stats, metrics and the exit
// report read the same fields whichever backend runs.
io::IoCounters ioCountersOf(const io::DpdkCounterValues& v) {
  using C = io::DpdkCounter;
  io::IoCounters out;
  out.received = v.get(C::Datagrams);
  out.sent = v.get(C::TxDatagrams);
  out.send_errors = v.get(C::SendErrors) + v.get(C::TxRefused) + v.get(C::NoRoute) +
                    v.get(C::NeighbourTimeouts) + v.get(C::NeighbourQueueFull) +
                    v.get(C::MbufExhausted);
  out.recv_errors = v.get(C::Malformed) + v.get(C::BadChecksum);
  out.truncated = v.get(C::RxMultiSegment) + v.get(C::ReassemblyOverflow);
  out.bursts = v.get(C::Bursts);
  out.idle = v.get(C::Idle);
  return out;
}
#endif
// --- end dpdk backend ---

lb::HealthPolicy healthPolicy(const HealthConfig& health) {
  lb::HealthPolicy policy;
  policy.fall_threshold = health.failures_to_down;
  policy.rise_threshold = health.successes_to_up;
  return policy;
}

// --- shield control: the signer is made by src/snapshot_builder (shared with replay) ---
Result<std::shared_ptr<const lb::BranchSigner>> makeSigner(const BalancerConfig& balancer) {
  return makeBranchSigner(balancer);
}
// --- end shield control ---

}  // namespace

uint64_t monotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)),
      control_(std::make_unique<control::ControlPlane>(*this)) {
  // --- shield control ---
  shield_control_ = std::make_unique<ShieldControl>(
      pipelines_, [this] { return config_.shield.rules.get(); },
      [this] { (void)publishSnapshot(); }, control_->events(), monotonicMs);
  shield_control_->addCommands(control_->commands());
  control_->addCounterGroupSource([this](std::vector<control::CounterGroup>& groups) {
    shield_control_->appendCounterGroups(groups);
  });
  // --- end shield control ---
}

void Daemon::logEvent(std::string_view kind, std::string_view detail) {
  control_->events().log(kind, detail);
}

Daemon::~Daemon() { stop(); }

void Daemon::blockControlSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Status Daemon::start() {
  if (Status s = control_->openEventLog(config_.log.events); !s.isOk()) {
    return s;
  }
  const uint64_t now = monotonicMs();
  pool_ = std::make_unique<lb::BackendPool>(healthPolicy(config_.health),
                                            config_.balancer.maglev_table_size);
  if (Status s = applyBackends(config_.backends, now); !s.isOk()) {
    return s;
  }
  lb::AffinityConfig affinity;
  affinity.capacity = config_.balancer.affinity_entries;
  affinity.idle_timeout_ms = uint64_t{config_.balancer.affinity_idle_timeout_s} * 1000u;
  auto table = lb::AffinityTable::create(affinity);
  if (!table.ok()) {
    return invalidArgument("balancer.affinity_entries: " + table.status().message());
  }
  affinity_ = std::move(table.value());
  auto signer = makeSigner(config_.balancer);
  if (!signer.isOk()) {
    return signer.status();
  }
  signer_ = signer.value();
  tag_seed_ = replyTagSeed(config_.balancer);  // shield control: shared with replay

  io::UringBackendConfig io_config;
  io_config.workers = config_.server.workers == 0
                          ? std::max(1u, std::thread::hardware_concurrency())
                          : config_.server.workers;
  io_config.worker.listen = socketAddresses(config_.server);
  io_config.worker.socket_buffer_bytes = static_cast<int>(config_.server.socket_buffer_bytes);
  publisher_ = std::make_unique<lb::SnapshotPublisher<RuntimeSnapshot>>(io_config.workers);
  io_ = std::make_unique<io::UringBackend>(io_config);
  auto make_handler = [this](int /*worker*/) -> std::unique_ptr<BurstHandler> {
    auto reader = publisher_->registerReader();
    // shield control: [shield.tables] sizes; one SharedShieldState for every worker.
    auto pipeline = std::make_unique<Pipeline>(*publisher_, reader.value(), affinity_.get(),
                                               config_.shield.sizes);
    pipeline->shield().shareState(shield_control_->sharedState(config_.shield.sizes));
    pipelines_.push_back(pipeline.get());
    // Timed per burst for sipshield_burst_duration_seconds (control plane, issue 6).
    auto timed = std::make_unique<control::TimedBurstHandler<Pipeline>>(std::move(pipeline));
    burst_histograms_.push_back(&timed->histogram());
    return timed;
  };
  // --- dpdk backend (issue 5): the same handlers, driven by poll-mode lcores ---
  Status started;
  if (config_.server.io == IoBackend::Dpdk) {
#if SIPSHIELD_HAVE_DPDK
    auto dpdk_config = io::dpdkBackendConfig(config_);
    if (!dpdk_config.isOk()) {
      return dpdk_config.status();
    }
    dpdk_config->workers = io_config.workers;
    dpdk_ = std::make_shared<io::DpdkBackend>(std::move(dpdk_config.value()));
    started = dpdk_->start(make_handler);
#else
    started = Status(StatusCode::kUnimplemented, "server.io = \"dpdk\": built without DPDK");
#endif
  } else {
    started = io_->start(make_handler);
  }
  // --- end dpdk backend ---
  if (!started.isOk()) {
    return started;
  }
  running_ = true;
  locals_ = buildLocals(config_.server, boundEndpoints());
  if (Status s = publishSnapshot(); !s.isOk()) {
    return s;
  }
  prober_ = std::make_unique<HealthProber>(config_.health.interval_ms, config_.health.timeout_ms);
  // dpdk backend (issue 5): the prober's kernel sockets reach the wire only through a port's
  // exception-path TAP (answers come back to their ephemeral port, which the workers hand to
  // the kernel). The TAP gets the listen address from the operator after start, hence
  // freebind. Without any TAP, active probes are off (passive 503 signals still apply).
  bool exception_path = false;
#if SIPSHIELD_HAVE_DPDK
  if (dpdk_) {
    for (const io::DpdkPortLayout& port : dpdk_->layout().ports) {
      exception_path = exception_path || port.exception_port_id >= 0;
    }
  }
#endif
  if (dpdk_ && !exception_path) {
    if (config_.health.enabled) {
      logEvent("health_probes_off",
               "server.io = dpdk: OPTIONS probes need a [[dpdk.ports]] entry with "
               "exception_path = \"tap\" (and the listen address on that TAP)");
    }
  } else if (Status s = prober_->open(probeSources(), /*freebind=*/dpdk_ != nullptr);
             !s.isOk()) {
    return s;
  }
  if (Status s = control_->open(config_); !s.isOk()) {
    return s;
  }
  logEvent("started", describeConfig(config_) + "; io mode " +
                          (dpdk_ ? std::string("dpdk poll mode")  // dpdk backend (issue 5)
                           : io_->fallbackReason().empty() ? "io_uring multishot"
                                                         : "fallback: " + io_->fallbackReason()));
  return Status::ok();
}

std::vector<net::Endpoint> Daemon::probeSources() const {
  // The prober sends from the first address of each family it is given: backend side first.
  const std::vector<net::Endpoint>& bound = boundEndpoints();
  const size_t clients = std::min(bound.size(), config_.server.listen.size());
  std::vector<net::Endpoint> sources(bound.begin() + static_cast<std::ptrdiff_t>(clients),
                                     bound.end());
  sources.insert(sources.end(), bound.begin(),
                 bound.begin() + static_cast<std::ptrdiff_t>(clients));
  return sources;
}

const std::vector<net::Endpoint>& Daemon::boundEndpoints() const {
#if SIPSHIELD_HAVE_DPDK  // dpdk backend (issue 5)
  if (dpdk_) {
    return dpdk_->localEndpoints();
  }
#endif
  return io_->localEndpoints();
}

Status Daemon::applyBackends(const std::vector<BackendConfig>& backends, uint64_t now_ms) {
  // Removed backends first, so a name may come back at once with a new address.
  for (const lb::BackendStatus& existing : pool_->status()) {
    if (existing.removed) {
      continue;
    }
    bool kept = false;
    for (const BackendConfig& b : backends) {
      kept = kept || (b.name == existing.name && b.address.toString() == existing.address);
    }
    if (!kept) {
      (void)pool_->removeBackend(existing.name);
      logEvent("backend_removed", existing.name);
    }
  }
  for (const BackendConfig& b : backends) {
    std::optional<uint16_t> index = pool_->find(b.name);
    if (!index) {
      auto added = pool_->addBackend({b.name, b.address.toString(), b.weight}, now_ms);
      if (!added.ok()) {
        return invalidArgument("backend " + b.name + ": " + added.status().message());
      }
      index = added.value();
      logEvent("backend_added", b.name + " " + b.address.toString());
    } else {
      (void)pool_->setWeight(*index, b.weight);
    }
    auto override_it = drain_override_.find(b.name);
    (void)pool_->setDraining(*index,
                             override_it != drain_override_.end() ? override_it->second : b.drain,
                             now_ms);
  }
  return Status::ok();
}

Status Daemon::publishSnapshot() {
  // --- shield control: built by src/snapshot_builder (shared with `sipshield replay`), with
  // the operator's bans ---
  if (!publisher_ || !pool_) {
    return Status::ok();  // not started yet: start() publishes the first snapshot
  }
  SnapshotInputs inputs;
  inputs.config = &config_;
  inputs.pool = pool_.get();
  inputs.locals = &locals_;
  inputs.signer = signer_;
  inputs.tag_seed = tag_seed_;
  inputs.operator_bans = shield_control_->operatorBans();
  inputs.version = version_ + 1;
  auto snapshot = buildRuntimeSnapshot(inputs);
  if (!snapshot.isOk()) {
    return snapshot.status();
  }
  ++version_;
  published_shield_ = snapshot.value()->shield;
  publisher_->publish(std::move(snapshot.value()));
  return Status::ok();
  // --- end shield control ---
}

void Daemon::controlTick(uint64_t now_ms) {
  bool changed = false;
  std::vector<ProbeTarget> targets;
  for (const lb::BackendStatus& b : pool_->status()) {
    if (!b.removed) {
      if (auto address = net::Endpoint::parse(b.address)) {
        targets.push_back({b.index, *address});
      }
    }
  }
  probe_results_.clear();
  // dpdk backend (issue 5): the prober is open only when a port has the exception path.
  if (config_.health.enabled && prober_->isOpen()) {
    prober_->poll(now_ms, targets, probe_results_);
  }
  for (const ProbeResult& r : probe_results_) {
    if (pool_->onProbeResult(r.index, r.ok, now_ms)) {
      changed = true;
      logEvent(std::string("backend_") + lb::backendStateName(pool_->state(r.index)),
               pool_->status()[r.index].name +
                   (r.status == 0 ? " (probe timeout)" : " (probe " + std::to_string(r.status) + ")"));
    }
  }
  // Passive signal: 503s the workers relayed from each backend since the last tick.
  seen_503_.resize(pool_->size(), 0);
  for (uint16_t i = 0; i < pool_->size(); ++i) {
    uint64_t total = 0;
    for (const Pipeline* p : pipelines_) {
      total += p->backend503s(i);
    }
    for (uint64_t n = seen_503_[i]; n < total; ++n) {
      if (pool_->onPassiveFailure(i, lb::PassiveFailure::ServiceUnavailable, now_ms)) {
        changed = true;
        logEvent("backend_down", pool_->status()[i].name + " (passive: 503s)");
      }
    }
    seen_503_[i] = total;
  }
  if (changed) {
    (void)publishSnapshot();
  }
  // Age the affinity table a slice at a time so one tick stays short.
  constexpr uint32_t kSweepBuckets = 4096;
  uint32_t buckets = affinity_->bucketCount();
  (void)affinity_->sweepExpired(now_ms, sweep_cursor_, std::min(kSweepBuckets, buckets));
  sweep_cursor_ = (sweep_cursor_ + kSweepBuckets) % buckets;
  if (publisher_->reclaim() == 0) {
    // Every worker runs the newest snapshot: ceiling slots of renamed rules can go back.
    (void)shield_control_->releaseStaleCeilings(published_shield_.get());
  }
  shield_control_->tick(now_ms);  // shield control: ban events, expiry (issue 4)
  control_->tick(now_ms);  // control socket commands, metrics snapshot (issue 6)
}

Status Daemon::reload() {
  if (config_path_.empty()) {
    return invalidArgument("no config file to reload");
  }
  auto next = loadConfig(config_path_);
  if (!next.isOk()) {
    logEvent("reload_failed", next.status().message());
    return next.status();
  }
  ConfigDiff diff = diffConfig(config_, next.value());
  for (const std::string& line : diff.restart_required) {
    logEvent("reload_needs_restart", line);
  }
  auto signer = makeSigner(next->balancer);
  if (!signer.isOk()) {
    logEvent("reload_failed", signer.status().message());
    return signer.status();
  }
  // A drain flag edited in the file is newer intent than an earlier `sipshieldctl drain`.
  for (const BackendConfig& b : next->backends) {
    for (const BackendConfig& old : config_.backends) {
      if (old.name == b.name && old.drain != b.drain) {
        drain_override_.erase(b.name);
      }
    }
  }
  (void)control_->events().reopen();  // after logrotate moved the file
  if (Status s = applyBackends(next->backends, monotonicMs()); !s.isOk()) {
    logEvent("reload_failed", s.message());
    return s;
  }
  signer_ = signer.value();
  // Listen sockets, worker count and table sizes stay as started (they need a restart).
  Config applied = next.value();
  applied.server = config_.server;
  applied.balancer.affinity_entries = config_.balancer.affinity_entries;
  applied.control = config_.control;
  applied.metrics = config_.metrics;
  // shield control: the shield's tables were allocated at start; new sizes need a restart.
  if (applied.shield.present && applied.shield.sizes != config_.shield.sizes) {
    logEvent("reload_needs_restart", "shield.tables");
  }
  applied.shield.sizes = config_.shield.sizes;
  config_ = std::move(applied);
  prober_->setTiming(config_.health.interval_ms, config_.health.timeout_ms);
  if (Status s = publishSnapshot(); !s.isOk()) {
    return s;
  }
  for (const std::string& line : diff.applied) {
    logEvent("reload_applied", line);
  }
  logEvent("reloaded", config_path_);
  return Status::ok();
}

void Daemon::runUntilSignalled() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const timespec tick{0, 20 * 1000 * 1000};
  while (!stop_requested_.load()) {
    int signal = sigtimedwait(&set, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      logEvent("stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (signal == SIGHUP) {
      (void)reload();
    }
    controlTick(monotonicMs());
  }
}

void Daemon::stop() {
  control_->close();
  if (running_) {
    io_->stop();
#if SIPSHIELD_HAVE_DPDK  // dpdk backend (issue 5)
    if (dpdk_) {
      dpdk_->stop();
      // The L2/L3 counters have no place in the pipeline report: log the non-zero ones.
      const io::DpdkCounterValues values = dpdk_->counters();
      std::string text;
      for (size_t c = 0; c < io::kDpdkCounterCount; ++c) {
        if (values.values[c] != 0) {
          text += (text.empty() ? "" : " ") +
                  std::string(io::dpdkCounterName(static_cast<io::DpdkCounter>(c))) + "=" +
                  std::to_string(values.values[c]);
        }
      }
      logEvent("dpdk_counters", text);
    }
#endif
    running_ = false;
  }
}

// --- control plane (issue 6) ---
Status Daemon::drain(std::string_view name, bool draining) {
  std::optional<uint16_t> index = pool_ ? pool_->find(name) : std::nullopt;
  if (!index) {
    return notFound("no backend named " + std::string(name));
  }
  const uint64_t now = monotonicMs();
  if (lb::Status s = pool_->setDraining(*index, draining, now); !s.ok()) {
    return notFound("backend " + std::string(name) + ": " + s.message());
  }
  drain_override_[std::string(name)] = draining;
  if (Status s = publishSnapshot(); !s.isOk()) {
    return s;
  }
  logEvent(draining ? "backend_draining" : "backend_undrained",
           std::string(name) + " (sipshieldctl)");
  return Status::ok();
}

std::vector<control::WorkerSnapshot> Daemon::workerSnapshots() const {
  std::vector<control::WorkerSnapshot> out(pipelines_.size());
  for (size_t w = 0; w < pipelines_.size(); ++w) {
    for (size_t c = 0; c < kPipelineCounterCount; ++c) {
      out[w].counters[c] = pipelines_[w]->counters().get(static_cast<PipelineCounter>(c));
    }
    if (io_) {
      out[w].io = io_->workerCounters(w);
    }
#if SIPSHIELD_HAVE_DPDK  // dpdk backend (issue 5)
    if (dpdk_) {
      out[w].io = ioCountersOf(dpdk_->workerCounters(w));
    }
#endif
    if (w < burst_histograms_.size()) {
      out[w].bursts = burst_histograms_[w]->snapshot();
    }
  }
  return out;
}
// --- end control plane ---

DaemonStats Daemon::stats() const {
  DaemonStats stats;
  stats.requests_per_backend.resize(pool_ ? pool_->size() : 0, 0);
  for (const Pipeline* p : pipelines_) {
    for (size_t c = 0; c < kPipelineCounterCount; ++c) {
      stats.counters[c] += p->counters().get(static_cast<PipelineCounter>(c));
    }
    for (uint16_t i = 0; i < stats.requests_per_backend.size(); ++i) {
      stats.requests_per_backend[i] += p->forwardedTo(i);
    }
  }
  if (io_) {
    stats.io = io_->counters();
  }
#if SIPSHIELD_HAVE_DPDK  // dpdk backend (issue 5)
  if (dpdk_) {
    stats.io = ioCountersOf(dpdk_->counters());
  }
#endif
  return stats;
}

}  // namespace sipshield
