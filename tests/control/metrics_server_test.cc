#include "src/control/metrics_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>

#include "tests/control/prometheus_parser.h"

namespace sipshield::control {
namespace {

std::shared_ptr<const StatsSnapshot> snapshotWith(lb::BackendState state, uint64_t received) {
  auto s = std::make_shared<StatsSnapshot>();
  s->workers.resize(1);
  s->workers[0].counters[static_cast<size_t>(PipelineCounter::Received)] = received;
  s->has_burst_histogram = true;
  lb::BackendStatus b;
  b.name = "pbx-a";
  b.state = state;
  s->backends.push_back({b, 0});
  return s;
}

// A real HTTP scrape of /metrics parses strictly; /health follows the control loop's ticks;
// /ready follows the backends.
TEST(MetricsServerTest, ServesMetricsHealthAndReady) {
  MetricsServer server(/*stall_ms=*/300);
  auto listen = net::Endpoint::parse("127.0.6.1:0");
  ASSERT_TRUE(listen.has_value());
  ASSERT_TRUE(server.start(*listen).isOk());
  ASSERT_NE(server.port(), 0);
  httplib::Client client("127.0.6.1", server.port());
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);

  auto before = client.Get("/metrics");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503) << "no snapshot yet";
  auto health_before = client.Get("/health");
  ASSERT_TRUE(health_before);
  EXPECT_EQ(health_before->status, 503) << "never ticked";

  server.publish(snapshotWith(lb::BackendState::Up, 77), MetricsServer::monotonicNowMs());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = testing::parseExposition(metrics->body);
  ASSERT_EQ(parsed.error, "") << metrics->body;
  EXPECT_EQ(parsed.value("sipshield_packets_received_total", {{"worker", "0"}}), 77.0);
  EXPECT_EQ(parsed.value("sipshield_backend_up", {{"backend", "pbx-a"}}), 1.0);
  EXPECT_TRUE(parsed.types.contains("sipshield_burst_duration_seconds"));

  struct Row {
    const char* description;
    const char* path;
    int status;
    const char* body;
  };
  const Row fresh[] = {{"health while ticking", "/health", 200, "ok\n"},
                       {"ready with a backend up", "/ready", 200, "ready\n"},
                       {"unknown path", "/nope", 404, ""}};
  for (const Row& row : fresh) {
    auto res = client.Get(row.path);
    ASSERT_TRUE(res) << row.description;
    EXPECT_EQ(res->status, row.status) << row.description;
    if (row.body[0] != '\0') {
      EXPECT_EQ(res->body, row.body) << row.description;
    }
  }

  server.publish(snapshotWith(lb::BackendState::Draining, 78), MetricsServer::monotonicNowMs());
  auto not_ready = client.Get("/ready");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "no backend up\n");

  // No tick for longer than stall_ms: the control loop is stuck.
  server.markTick(MetricsServer::monotonicNowMs() - 1000);
  auto stalled = client.Get("/health");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, 503);
  server.stop();
  EXPECT_EQ(server.port(), 0);
}

// A port that is taken is a clear start error.
TEST(MetricsServerTest, BindFailureIsAnError) {
  MetricsServer first;
  ASSERT_TRUE(first.start(*net::Endpoint::parse("127.0.6.1:0")).isOk());
  net::Endpoint taken = *net::Endpoint::parse("127.0.6.1:0");
  taken.port = first.port();
  MetricsServer second;
  Status s = second.start(taken);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("127.0.6.1"), std::string::npos);
}

}  // namespace
}  // namespace sipshield::control
