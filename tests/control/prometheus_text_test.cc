#include "src/control/prometheus_text.h"

#include <gtest/gtest.h>

#include "tests/control/prometheus_parser.h"

namespace sipshield::control {
namespace {

using testing::parseExposition;

StatsSnapshot sampleSnapshot() {
  StatsSnapshot s;
  s.workers.resize(2);
  s.workers[0].counters[static_cast<size_t>(PipelineCounter::Received)] = 10;
  s.workers[1].counters[static_cast<size_t>(PipelineCounter::Received)] = 5;
  s.workers[0].counters[static_cast<size_t>(PipelineCounter::ForwardedRequests)] = 7;
  s.workers[1].counters[static_cast<size_t>(PipelineCounter::ForwardedRequests)] = 2;
  s.workers[1].counters[static_cast<size_t>(PipelineCounter::DroppedMalformed)] = 3;
  s.workers[0].counters[static_cast<size_t>(PipelineCounter::RepliedNoBackend)] = 4;
  s.workers[0].io.sent = 11;
  BurstHistogram h;
  h.record(500);         // <= 1us
  h.record(3'000);       // <= 5us
  h.record(90'000'000);  // above the last bound
  s.workers[0].bursts = h.snapshot();
  s.has_burst_histogram = true;
  lb::BackendStatus up;
  up.name = "pbx-a";
  up.state = lb::BackendState::Up;
  up.weight = 100;
  lb::BackendStatus down;
  down.name = "pbx \"b\"\\n";  // escaping of label values
  down.state = lb::BackendState::Down;
  down.healthy = false;
  s.backends = {{up, 42}, {down, 0}};
  s.groups.push_back({"filter_dropped", "Drops per rule.", "rule", CounterKind::Counter,
                      {{"invite-flood", 9}, {"bad-ua", 1}}});
  s.groups.push_back({"bans_active", "Bans in force.", "kind", CounterKind::Gauge,
                      {{"source", 3}}});
  return s;
}

// Every line is HELP, TYPE or a valid sample, and the values are where the names say.
TEST(PrometheusTextTest, RendersValidExpositionWithExpectedValues) {
  const std::string text = renderPrometheus(sampleSnapshot());
  auto parsed = parseExposition(text);
  ASSERT_EQ(parsed.error, "") << text;
  struct Row {
    const char* description;
    std::string name;
    std::map<std::string, std::string> labels;
    double expected;
  };
  const std::vector<Row> rows = {
      {"received per worker 0", "sipshield_packets_received_total", {{"worker", "0"}}, 10},
      {"received per worker 1", "sipshield_packets_received_total", {{"worker", "1"}}, 5},
      {"requests summed", "sipshield_forwarded_total", {{"direction", "request"}}, 9},
      {"responses", "sipshield_forwarded_total", {{"direction", "response"}}, 0},
      {"malformed", "sipshield_dropped_total", {{"reason", "malformed"}}, 3},
      {"503 replies", "sipshield_replies_total", {{"status", "503"}}, 4},
      {"io sent", "sipshield_io_sent_total", {{"worker", "0"}}, 11},
      {"backend up", "sipshield_backend_up", {{"backend", "pbx-a"}}, 1},
      {"backend down, escaped", "sipshield_backend_up", {{"backend", "pbx \"b\"\\n"}}, 0},
      {"backend requests", "sipshield_backend_requests_total", {{"backend", "pbx-a"}}, 42},
      {"workers", "sipshield_workers", {}, 2},
      {"bucket 1us", "sipshield_burst_duration_seconds_bucket",
       {{"worker", "0"}, {"le", "1e-06"}}, 1},
      {"bucket 5us cumulative", "sipshield_burst_duration_seconds_bucket",
       {{"worker", "0"}, {"le", "5e-06"}}, 2},
      {"bucket +Inf", "sipshield_burst_duration_seconds_bucket",
       {{"worker", "0"}, {"le", "+Inf"}}, 3},
      {"count", "sipshield_burst_duration_seconds_count", {{"worker", "0"}}, 3},
      {"group counter", "sipshield_filter_dropped_total", {{"rule", "invite-flood"}}, 9},
      {"group gauge", "sipshield_bans_active", {{"kind", "source"}}, 3},
  };
  for (const Row& row : rows) {
    auto v = parsed.value(row.name, row.labels);
    ASSERT_TRUE(v.has_value()) << row.description;
    EXPECT_DOUBLE_EQ(*v, row.expected) << row.description;
  }
  EXPECT_EQ(parsed.types["sipshield_burst_duration_seconds"], "histogram");
  EXPECT_EQ(parsed.types["sipshield_backend_up"], "gauge");
  EXPECT_EQ(parsed.types["sipshield_bans_active"], "gauge");
  EXPECT_NEAR(*parsed.value("sipshield_burst_duration_seconds_sum", {{"worker", "0"}}),
              0.0900035, 1e-9);
}

// Without timed handlers the histogram family is left out, and the rest is still valid.
TEST(PrometheusTextTest, NoHistogramWhenHandlersAreNotTimed) {
  StatsSnapshot s = sampleSnapshot();
  s.has_burst_histogram = false;
  auto parsed = parseExposition(renderPrometheus(s));
  ASSERT_EQ(parsed.error, "");
  EXPECT_FALSE(parsed.types.contains("sipshield_burst_duration_seconds"));
}

// Every pipeline counter maps to a valid metric by the naming rule.
TEST(PrometheusTextTest, PipelineCounterNamingRule) {
  struct Row {
    const char* counter;
    const char* metric;
    const char* label;
    const char* value;
    bool per_worker;
  };
  const Row rows[] = {
      {"received", "sipshield_packets_received_total", "", "", true},
      {"forwarded_requests", "sipshield_forwarded_total", "direction", "request", false},
      {"forwarded_responses", "sipshield_forwarded_total", "direction", "response", false},
      {"dropped_spoofed_response", "sipshield_dropped_total", "reason", "spoofed_response", false},
      {"replied_483", "sipshield_replies_total", "status", "483", false},
      {"keepalive", "sipshield_keepalive_total", "", "", false},
      {"rate_limited_new", "sipshield_rate_limited_new_total", "", "", false},
  };
  for (const Row& row : rows) {
    PipelineMetric m = pipelineMetric(row.counter);
    EXPECT_EQ(m.name, row.metric) << row.counter;
    EXPECT_EQ(m.label, row.label) << row.counter;
    EXPECT_EQ(m.label_value, row.value) << row.counter;
    EXPECT_EQ(m.per_worker, row.per_worker) << row.counter;
  }
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    auto name = pipelineCounterName(static_cast<PipelineCounter>(c));
    EXPECT_TRUE(testing::validMetricName(pipelineMetric(name).name)) << name;
  }
}

// The strict parser itself rejects what Prometheus would (so the tests above can fail).
TEST(PrometheusParserTest, RejectsInvalidExpositions) {
  struct Row {
    const char* description;
    const char* text;
  };
  const Row rows[] = {
      {"sample without TYPE", "# HELP a_total x\na_total 1\n"},
      {"bad metric name", "# HELP 1a x\n# TYPE 1a gauge\n1a 1\n"},
      {"bad label name", "# HELP a x\n# TYPE a gauge\na{1x=\"v\"} 1\n"},
      {"unquoted label", "# HELP a x\n# TYPE a gauge\na{x=v} 1\n"},
      {"bad value", "# HELP a x\n# TYPE a gauge\na 1x\n"},
      {"duplicate series", "# HELP a x\n# TYPE a gauge\na 1\na 2\n"},
      {"counter without _total", "# HELP a x\n# TYPE a counter\na 1\n"},
      {"split family",
       "# HELP a x\n# TYPE a gauge\na{k=\"1\"} 1\n# HELP b x\n# TYPE b gauge\nb 1\na{k=\"2\"} 1\n"},
      {"no final newline", "# HELP a x\n# TYPE a gauge\na 1"},
      {"histogram without +Inf",
       "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
      {"bad escape", "# HELP a x\n# TYPE a gauge\na{x=\"\\t\"} 1\n"},
  };
  for (const Row& row : rows) {
    EXPECT_NE(parseExposition(row.text).error, "") << row.description;
  }
  EXPECT_EQ(parseExposition("# HELP a x\n# TYPE a gauge\na{x=\"q\\\"\"} 1\n").error, "");
}

// Burst durations land in the first bucket whose bound is >= the duration.
TEST(BurstHistogramTest, BucketBoundaries) {
  struct Row {
    uint64_t ns;
    size_t bucket;
  };
  const Row rows[] = {{0, 0},         {1'000, 0},      {1'001, 1},
                      {2'000, 1},     {49'999'999, 13}, {50'000'000, 13},
                      {50'000'001, 14}, {UINT64_MAX / 2, 14}};
  for (const Row& row : rows) {
    BurstHistogram h;
    h.record(row.ns);
    BurstHistogramSnapshot s = h.snapshot();
    EXPECT_EQ(s.buckets[row.bucket], 1u) << row.ns;
    EXPECT_EQ(s.count, 1u);
    EXPECT_EQ(s.sum_ns, row.ns);
  }
}

}  // namespace
}  // namespace sipshield::control
