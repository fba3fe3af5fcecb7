#include "src/control/control_plane.h"

#include "src/config.h"
#include "src/daemon.h"

namespace sipshield::control {

using nlohmann::json;

namespace {

json countersJson(const WorkerSnapshot& w) {
  json counters = json::object();
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    counters[std::string(pipelineCounterName(static_cast<PipelineCounter>(c)))] = w.counters[c];
  }
  json io = {{"received", w.io.received},       {"sent", w.io.sent},
             {"send_errors", w.io.send_errors}, {"recv_errors", w.io.recv_errors},
             {"rearm", w.io.rearm},             {"truncated", w.io.truncated},
             {"bursts", w.io.bursts},           {"idle", w.io.idle}};
  return {{"counters", counters},
          {"io", io},
          {"bursts", {{"count", w.bursts.count}, {"sum_seconds", w.bursts.sum_ns / 1e9}}}};
}

// requestedName reads the "name" argument of drain/undrain.
std::string requestedName(const json& request) {
  if (!request.contains("name") || !request["name"].is_string()) {
    return {};
  }
  return request["name"].get<std::string>();
}

}  // namespace

json statsJson(const StatsSnapshot& snapshot) {
  json workers = json::array();
  for (size_t i = 0; i < snapshot.workers.size(); ++i) {
    json w = countersJson(snapshot.workers[i]);
    w["worker"] = i;
    workers.push_back(std::move(w));
  }
  json groups = json::object();
  for (const CounterGroup& g : snapshot.groups) {
    json entries = json::object();
    for (const CounterEntry& e : g.entries) {
      entries[e.key] = e.value;
    }
    groups[g.name] = std::move(entries);
  }
  return {{"workers", std::move(workers)},
          {"total", countersJson(snapshot.total())},
          {"groups", std::move(groups)}};
}

json backendsJson(const StatsSnapshot& snapshot, uint64_t now_ms) {
  json list = json::array();
  for (const BackendSnapshot& b : snapshot.backends) {
    const lb::BackendStatus& s = b.status;
    list.push_back({{"name", s.name},
                    {"address", s.address},
                    {"state", lb::backendStateName(s.state)},
                    {"weight", s.weight},
                    {"requests", b.requests},
                    {"healthy", s.healthy},
                    {"draining", s.draining},
                    {"health",
                     {{"consecutive_successes", s.consecutive_successes},
                      {"consecutive_failures", s.consecutive_failures},
                      {"passive_failures", s.passive_failures},
                      {"last_change_ago_ms",
                       now_ms >= s.last_change_ms ? now_ms - s.last_change_ms : 0}}}});
  }
  return {{"backends", std::move(list)}};
}

ControlPlane::ControlPlane(Daemon& daemon) : daemon_(daemon) { registerBuiltins(); }

ControlPlane::~ControlPlane() { close(); }

void ControlPlane::registerBuiltins() {
  commands_.add("backends", "backends with state, weight, requests and health history",
                [this](const json&) -> json {
                  const uint64_t now = monotonicMs();
                  return backendsJson(snapshot(now), now);
                });
  commands_.add("stats", "pipeline and I/O counters per worker and in total",
                [this](const json&) -> json { return statsJson(snapshot(monotonicMs())); });
  for (bool draining : {true, false}) {
    commands_.add(draining ? "drain" : "undrain",
                  draining ? "{\"name\":B}: no new calls to backend B; its calls stay"
                           : "{\"name\":B}: backend B takes new calls again",
                  [this, draining](const json& request) -> json {
                    std::string name = requestedName(request);
                    if (name.empty()) {
                      return {{"error", "missing \"name\": the backend to drain or undrain"}};
                    }
                    Status s = daemon_.drain(name, draining);
                    if (!s.isOk()) {
                      return {{"error", s.message()}};
                    }
                    return {{"ok", true}, {"backend", name}, {"draining", draining}};
                  });
  }
  commands_.add("reload", "re-read the config file and apply what can change live",
                [this](const json&) -> json {
                  Status s = daemon_.reload();
                  if (!s.isOk()) {
                    return {{"error", "reload failed: " + s.message()}};
                  }
                  return {{"ok", true}};
                });
}

Status ControlPlane::open(const Config& config) {
  if (!config.control.socket.empty()) {
    if (Status s = server_.open(config.control.socket); !s.isOk()) {
      return s;
    }
  }
  if (config.metrics.listen) {
    metrics_ = std::make_unique<MetricsServer>();
    const uint64_t now = monotonicMs();
    metrics_->publish(std::make_shared<const StatsSnapshot>(snapshot(now)), now);
    last_publish_ms_ = now;
    if (Status s = metrics_->start(*config.metrics.listen); !s.isOk()) {
      metrics_.reset();
      server_.close();
      return s;
    }
  }
  return Status::ok();
}

void ControlPlane::tick(uint64_t now_ms) {
  server_.poll(commands_, now_ms);
  if (metrics_) {
    if (now_ms - last_publish_ms_ >= kPublishIntervalMs) {
      metrics_->publish(std::make_shared<const StatsSnapshot>(snapshot(now_ms)), now_ms);
      last_publish_ms_ = now_ms;
    } else {
      metrics_->markTick(now_ms);
    }
  }
  events_.flushSuppressed();
}

void ControlPlane::close() {
  if (metrics_) {
    metrics_->stop();
    metrics_.reset();
  }
  server_.close();
}

void ControlPlane::addCounterGroupSource(CounterGroupSource source) {
  group_sources_.push_back(std::move(source));
}

StatsSnapshot ControlPlane::snapshot(uint64_t now_ms) const {
  StatsSnapshot out;
  out.taken_ms = now_ms;
  out.workers = daemon_.workerSnapshots();
  out.has_burst_histogram = daemon_.hasBurstHistograms();
  DaemonStats totals = daemon_.stats();
  for (const lb::BackendStatus& b : daemon_.backends()) {
    if (b.removed) {
      continue;
    }
    uint64_t requests =
        b.index < totals.requests_per_backend.size() ? totals.requests_per_backend[b.index] : 0;
    out.backends.push_back(BackendSnapshot{b, requests});
  }
  for (const CounterGroupSource& source : group_sources_) {
    source(out.groups);
  }
  return out;
}

}  // namespace sipshield::control
