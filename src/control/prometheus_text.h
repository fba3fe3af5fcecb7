#pragma once

// Renders a StatsSnapshot in the Prometheus text exposition format (version 0.0.4).

#include <string>
#include <string_view>

#include "src/control/stats_snapshot.h"

namespace sipshield::control {

// PipelineMetric says where one pipeline counter goes in the exposition.
struct PipelineMetric {
  std::string name;         // full metric name, e.g. "sipshield_dropped_total"
  std::string label;        // label name, "" for none (e.g. "reason")
  std::string label_value;  // e.g. "malformed"
  bool per_worker = false;  // true: one sample per worker with a worker="N" label
};

// pipelineMetric maps a pipeline counter name (pipelineCounterName) to its metric, by the
// naming rule that new counters follow automatically: "received" ->
// sipshield_packets_received_total{worker}; "forwarded_requests"/"forwarded_responses" ->
// sipshield_forwarded_total{direction="request"|"response"}; "dropped_X" ->
// sipshield_dropped_total{reason="X"}; "replied_N" -> sipshield_replies_total{status="N"};
// any other "X" -> sipshield_X_total. Thread-safe.
[[nodiscard]] PipelineMetric pipelineMetric(std::string_view counter_name);

// renderPrometheus returns the exposition of `snapshot`: every metric family has one HELP and
// one TYPE line followed by its samples; label values are escaped. Families: packets received
// per worker, forwarded/dropped/replies and other pipeline counters summed over workers,
// per-worker I/O counters (sipshield_io_*_total), backend gauges and request counters
// (sipshield_backend_up, _draining, _weight, _requests_total), the per-worker burst latency
// histogram (sipshield_burst_duration_seconds, when the snapshot has one), sipshield_workers,
// and every CounterGroup. Thread-safe (pure function).
[[nodiscard]] std::string renderPrometheus(const StatsSnapshot& snapshot);

// escapeLabelValue escapes backslash, double quote and newline for a label value.
[[nodiscard]] std::string escapeLabelValue(std::string_view value);

}  // namespace sipshield::control
