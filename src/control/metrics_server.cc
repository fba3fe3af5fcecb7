#include "src/control/metrics_server.h"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <chrono>

#include "src/control/prometheus_text.h"

#if SIPSHIELD_HAVE_HTTPLIB
#include <httplib.h>
#else
namespace httplib {
class Server {};  // never made; completes the type for unique_ptr's destructor
}  // namespace httplib
#endif

namespace sipshield::control {

uint64_t MetricsServer::monotonicNowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

MetricsServer::MetricsServer(uint64_t stall_ms) : stall_ms_(stall_ms) {}

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::available() { return SIPSHIELD_HAVE_HTTPLIB != 0; }

void MetricsServer::publish(std::shared_ptr<const StatsSnapshot> snapshot, uint64_t now_ms) {
  {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(snapshot);
  }
  markTick(now_ms);
}

std::shared_ptr<const StatsSnapshot> MetricsServer::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

#if SIPSHIELD_HAVE_HTTPLIB

Status MetricsServer::start(const net::Endpoint& listen) {
  if (server_) {
    return Status(StatusCode::kFailedPrecondition, "metrics server already started");
  }
  auto server = std::make_unique<httplib::Server>();
  // Two threads are plenty for a scrape every few seconds and keep the workers' cores free.
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  server->set_keep_alive_max_count(100);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second daemon
  // bind the same metrics port silently and split the scrapes between two processes.
  server->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const StatsSnapshot> snapshot = current();
    if (!snapshot) {
      res.status = 503;
      res.set_content("no statistics yet\n", "text/plain");
      return;
    }
    // Rendered here, on the HTTP thread, from the immutable snapshot: the control loop only
    // pays for the copy.
    res.set_content(renderPrometheus(*snapshot), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const uint64_t last = last_tick_ms_.load(std::memory_order_relaxed);
    const uint64_t now = monotonicNowMs();
    if (last != 0 && now - std::min(now, last) <= stall_ms_) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("control loop stalled\n", "text/plain");
    }
  });
  server->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const StatsSnapshot> snapshot = current();
    if (snapshot && snapshot->upBackends() > 0) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("no backend up\n", "text/plain");
    }
  });

  const std::string host = listen.ip.toString();
  int port = listen.port;
  if (port == 0) {
    port = server->bind_to_any_port(host);
    if (port < 0) {
      port = 0;
    }
  } else if (!server->bind_to_port(host, port)) {
    port = 0;
  }
  if (port == 0) {
    return unavailable("metrics.listen: cannot bind " + listen.toString() +
                       " (TCP): address in use or not local");
  }
  port_.store(static_cast<uint16_t>(port), std::memory_order_relaxed);
  server_ = std::move(server);
  httplib::Server* raw = server_.get();
  thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so an early stop()
  // cannot leave the thread listening forever.
  for (int i = 0; i < 2000 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::ok();
}

void MetricsServer::stop() {
  if (server_) {
    server_->stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    server_.reset();
    port_.store(0, std::memory_order_relaxed);
  }
}

#else  // !SIPSHIELD_HAVE_HTTPLIB

Status MetricsServer::start(const net::Endpoint& /*listen*/) {
  return Status(StatusCode::kUnimplemented,
                "metrics.listen: this build has no HTTP server (cpp-httplib was not found)");
}

void MetricsServer::stop() {}

#endif

}  // namespace sipshield::control
