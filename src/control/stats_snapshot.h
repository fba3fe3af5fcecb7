#pragma once

// Plain data copied out of the running daemon by the control loop: what `sipshieldctl stats`,
// `sipshieldctl backends` and the Prometheus endpoint report. Built on the control thread and
// then only read, so the metrics thread can render it without touching pipelines or the pool.

#include <cstdint>
#include <string>
#include <vector>

#include "lb/backend_pool.h"
#include "src/control/burst_histogram.h"
#include "src/io/uring/uring_worker.h"
#include "src/pipeline_counters.h"

namespace sipshield::control {

// WorkerSnapshot is one worker's counters.
struct WorkerSnapshot {
  uint64_t counters[kPipelineCounterCount] = {};  // indexed by PipelineCounter
  io::IoCounters io;
  BurstHistogramSnapshot bursts;
};

// BackendSnapshot is one configured (not removed) backend.
struct BackendSnapshot {
  lb::BackendStatus status;
  uint64_t requests = 0;  // requests forwarded to it, summed over workers
};

// CounterKind says how Prometheus should treat a CounterGroup's values.
enum class CounterKind : uint8_t {
  Counter,  // only goes up (rendered as `<metric>_total`)
  Gauge,    // may go down (bans in force, tracked sources)
};

// CounterEntry is one labelled value of a CounterGroup, e.g. {"invite-flood", 1234}.
struct CounterEntry {
  std::string key;
  uint64_t value = 0;
};

// CounterGroup is a set of related counters another subsystem adds to the stats (e.g. the
// DoS filters: drops per rule). It appears in `sipshieldctl stats` as
// "groups": {name: {key: value}} and in Prometheus as `sipshield_<name>_total{<label>="key"}`
// (or `sipshield_<name>{...}` for a gauge).
struct CounterGroup {
  std::string name;   // metric-name safe: [a-z_][a-z0-9_]*, e.g. "filter_dropped"
  std::string help;   // one line for the HELP text
  std::string label;  // label name for the keys, e.g. "rule"
  CounterKind kind = CounterKind::Counter;
  std::vector<CounterEntry> entries;
};

// StatsSnapshot is everything the control plane reports, taken at one moment.
struct StatsSnapshot {
  uint64_t taken_ms = 0;  // CLOCK_MONOTONIC ms when built
  std::vector<WorkerSnapshot> workers;
  std::vector<BackendSnapshot> backends;
  std::vector<CounterGroup> groups;
  // has_burst_histogram is false when the workers' handlers are not timed (then `bursts` is 0).
  bool has_burst_histogram = false;

  // total sums the workers' pipeline counters, I/O counters and burst histograms.
  [[nodiscard]] WorkerSnapshot total() const {
    WorkerSnapshot sum;
    for (const WorkerSnapshot& w : workers) {
      for (size_t c = 0; c < kPipelineCounterCount; ++c) {
        sum.counters[c] += w.counters[c];
      }
      sum.io += w.io;
      sum.bursts += w.bursts;
    }
    return sum;
  }

  // upBackends counts backends in state Up (taking new calls).
  [[nodiscard]] size_t upBackends() const {
    size_t n = 0;
    for (const BackendSnapshot& b : backends) {
      n += b.status.state == lb::BackendState::Up ? 1 : 0;
    }
    return n;
  }
};

}  // namespace sipshield::control
