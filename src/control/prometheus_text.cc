#include "src/control/prometheus_text.h"

#include <cstdio>
#include <deque>
#include <utility>
#include <vector>

namespace sipshield::control {
namespace {

struct Sample {
  std::string labels;  // rendered, without braces: worker="0",le="0.001"
  std::string value;
};

struct Family {
  std::string name;
  std::string help;
  std::string type;
  std::vector<std::pair<std::string, Sample>> samples;  // sample name (suffix for histograms)
};

// Families keeps families in first-use order so each is rendered as one block.
class Families {
 public:
  Family& get(const std::string& name, std::string help, std::string type) {
    for (Family& f : families_) {
      if (f.name == name) {
        return f;
      }
    }
    families_.push_back(Family{name, std::move(help), std::move(type), {}});
    return families_.back();
  }
  std::string render() const {
    std::string out;
    for (const Family& f : families_) {
      out += "# HELP " + f.name + " " + f.help + "\n";
      out += "# TYPE " + f.name + " " + f.type + "\n";
      for (const auto& [name, sample] : f.samples) {
        out += name;
        if (!sample.labels.empty()) {
          out += "{" + sample.labels + "}";
        }
        out += " " + sample.value + "\n";
      }
    }
    return out;
  }

 private:
  std::deque<Family> families_;  // a deque: references from get() stay valid
};

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escapeLabelValue(value) + "\"";
}

std::string joinLabels(const std::string& a, const std::string& b) {
  if (a.empty()) {
    return b;
  }
  return b.empty() ? a : a + "," + b;
}

std::string number(uint64_t v) { return std::to_string(v); }

std::string seconds(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

std::string helpFor(const PipelineMetric& m) {
  if (m.name == "sipshield_packets_received_total") {
    return "Datagrams handed to the pipeline.";
  }
  if (m.name == "sipshield_forwarded_total") {
    return "SIP messages forwarded, by direction.";
  }
  if (m.name == "sipshield_dropped_total") {
    return "Datagrams dropped, by reason.";
  }
  if (m.name == "sipshield_replies_total") {
    return "Stateless replies sent, by status code.";
  }
  return "Pipeline counter " + m.name + ".";
}

void addWorkerCounter(Families& families, const std::string& name, const std::string& help,
                      const StatsSnapshot& snapshot, uint64_t io::IoCounters::*field) {
  Family& f = families.get(name, help, "counter");
  for (size_t w = 0; w < snapshot.workers.size(); ++w) {
    f.samples.push_back(
        {name, Sample{label("worker", std::to_string(w)), number(snapshot.workers[w].io.*field)}});
  }
}

void addHistogram(Families& families, const StatsSnapshot& snapshot) {
  const std::string name = "sipshield_burst_duration_seconds";
  Family& f = families.get(name, "Time the pipeline took per burst of received datagrams.",
                           "histogram");
  for (size_t w = 0; w < snapshot.workers.size(); ++w) {
    const BurstHistogramSnapshot& h = snapshot.workers[w].bursts;
    const std::string worker = label("worker", std::to_string(w));
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBurstBucketBoundsNs.size(); ++i) {
      cumulative += h.buckets[i];
      f.samples.push_back(
          {name + "_bucket",
           Sample{joinLabels(worker, label("le", seconds(kBurstBucketBoundsNs[i] / 1e9))),
                  number(cumulative)}});
    }
    cumulative += h.buckets.back();
    // +Inf equals _count by definition; use the bucket sum so a torn read stays consistent.
    f.samples.push_back(
        {name + "_bucket", Sample{joinLabels(worker, label("le", "+Inf")), number(cumulative)}});
    f.samples.push_back({name + "_sum", Sample{worker, seconds(h.sum_ns / 1e9)}});
    f.samples.push_back({name + "_count", Sample{worker, number(cumulative)}});
  }
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

PipelineMetric pipelineMetric(std::string_view counter_name) {
  auto starts = [&](std::string_view prefix) { return counter_name.starts_with(prefix); };
  if (counter_name == "received") {
    return {"sipshield_packets_received_total", "", "", true};
  }
  if (counter_name == "forwarded_requests") {
    return {"sipshield_forwarded_total", "direction", "request", false};
  }
  if (counter_name == "forwarded_responses") {
    return {"sipshield_forwarded_total", "direction", "response", false};
  }
  if (starts("dropped_")) {
    return {"sipshield_dropped_total", "reason", std::string(counter_name.substr(8)), false};
  }
  if (starts("replied_")) {
    return {"sipshield_replies_total", "status", std::string(counter_name.substr(8)), false};
  }
  return {"sipshield_" + std::string(counter_name) + "_total", "", "", false};
}

std::string renderPrometheus(const StatsSnapshot& snapshot) {
  Families families;
  const WorkerSnapshot total = snapshot.total();
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    PipelineMetric m = pipelineMetric(pipelineCounterName(static_cast<PipelineCounter>(c)));
    Family& f = families.get(m.name, helpFor(m), "counter");
    std::string labels = m.label.empty() ? "" : label(m.label, m.label_value);
    if (m.per_worker) {
      for (size_t w = 0; w < snapshot.workers.size(); ++w) {
        f.samples.push_back({m.name, Sample{joinLabels(label("worker", std::to_string(w)), labels),
                                            number(snapshot.workers[w].counters[c])}});
      }
    } else {
      f.samples.push_back({m.name, Sample{labels, number(total.counters[c])}});
    }
  }

  Family& workers = families.get("sipshield_workers", "Worker threads running.", "gauge");
  workers.samples.push_back({"sipshield_workers", Sample{"", number(snapshot.workers.size())}});

  using Io = io::IoCounters;
  addWorkerCounter(families, "sipshield_io_received_total", "Datagrams received by the worker.",
                   snapshot, &Io::received);
  addWorkerCounter(families, "sipshield_io_sent_total", "Datagrams the kernel accepted to send.",
                   snapshot, &Io::sent);
  addWorkerCounter(families, "sipshield_io_send_errors_total", "Sends the kernel refused.",
                   snapshot, &Io::send_errors);
  addWorkerCounter(families, "sipshield_io_recv_errors_total", "Receive errors.", snapshot,
                   &Io::recv_errors);
  addWorkerCounter(families, "sipshield_io_rearm_total", "Multishot receives re-armed.",
                   snapshot, &Io::rearm);
  addWorkerCounter(families, "sipshield_io_truncated_total",
                   "Datagrams larger than a receive buffer, dropped.", snapshot, &Io::truncated);
  addWorkerCounter(families, "sipshield_io_bursts_total", "Bursts handed to the pipeline.",
                   snapshot, &Io::bursts);
  addWorkerCounter(families, "sipshield_io_idle_total", "Polls that found nothing.", snapshot,
                   &Io::idle);

  Family& up = families.get("sipshield_backend_up",
                            "1 when the backend takes new calls (healthy, not draining).",
                            "gauge");
  Family& healthy = families.get("sipshield_backend_healthy",
                                 "1 when the backend passes health checks.", "gauge");
  Family& draining = families.get("sipshield_backend_draining",
                                  "1 when the backend is administratively draining.", "gauge");
  Family& weight = families.get("sipshield_backend_weight", "Maglev weight.", "gauge");
  Family& requests = families.get("sipshield_backend_requests_total",
                                  "Requests forwarded to the backend.", "counter");
  for (const BackendSnapshot& b : snapshot.backends) {
    const std::string l = label("backend", b.status.name);
    up.samples.push_back({up.name, Sample{l, b.status.state == lb::BackendState::Up ? "1" : "0"}});
    healthy.samples.push_back({healthy.name, Sample{l, b.status.healthy ? "1" : "0"}});
    draining.samples.push_back({draining.name, Sample{l, b.status.draining ? "1" : "0"}});
    weight.samples.push_back({weight.name, Sample{l, number(b.status.weight)}});
    requests.samples.push_back({requests.name, Sample{l, number(b.requests)}});
  }

  if (snapshot.has_burst_histogram) {
    addHistogram(families, snapshot);
  }

  for (const CounterGroup& g : snapshot.groups) {
    const bool counter = g.kind == CounterKind::Counter;
    const std::string name = "sipshield_" + g.name + (counter ? "_total" : "");
    Family& f = families.get(name, g.help.empty() ? g.name : g.help, counter ? "counter" : "gauge");
    for (const CounterEntry& e : g.entries) {
      f.samples.push_back({name, Sample{label(g.label, e.key), number(e.value)}});
    }
  }
  return families.render();
}

}  // namespace sipshield::control
