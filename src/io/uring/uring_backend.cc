#include "src/io/uring/uring_backend.h"

#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <future>

namespace sipshield::io {

namespace {

void pinCurrentThread(int cpu, int worker_index) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (error != 0) {
    std::fprintf(stderr, "sipshield: worker %d: cannot pin to CPU %d: %s; running unpinned\n",
                 worker_index, cpu, std::strerror(error));
  }
}

}  // namespace

UringBackend::UringBackend(UringBackendConfig config) : config_(std::move(config)) {}

UringBackend::~UringBackend() { stop(); }

Status UringBackend::start(const HandlerFactory& factory) {
  if (!threads_.empty()) {
    return Status(StatusCode::kFailedPrecondition, "backend already started");
  }
  workers_.clear();
  handlers_.clear();
  endpoints_.clear();
  uint32_t count = config_.workers;
  if (count == 0) {
    count = std::max(1u, std::thread::hardware_concurrency());
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::unique_ptr<BurstHandler> handler = factory(static_cast<int>(i));
    if (handler == nullptr) {
      handlers_.clear();
      return Status(StatusCode::kInvalidArgument,
                    "handler factory returned null for worker " + std::to_string(i));
    }
    handlers_.push_back(std::move(handler));
  }

  const long cpu_total = std::max(1l, static_cast<long>(std::thread::hardware_concurrency()));
  UringConfig worker_config = config_.worker;
  for (uint32_t i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<UringWorker>(worker_config, static_cast<int>(i)));
    UringWorker* worker = workers_.back().get();
    BurstHandler* handler = handlers_[i].get();
    int cpu = -1;
    if (config_.pin_cpus) {
      cpu = config_.cpus.empty() ? static_cast<int>(i % cpu_total)
                                 : config_.cpus[i % config_.cpus.size()];
    }
    // The ring is single-issuer, so open() runs on the worker's own thread; start() waits
    // for its verdict so errors come back here, in order.
    std::promise<Status> opened;
    std::future<Status> verdict = opened.get_future();
    threads_.emplace_back([worker, handler, cpu, i, opened = std::move(opened)]() mutable {
      if (cpu >= 0) {
        pinCurrentThread(cpu, static_cast<int>(i));
      }
      Status status = worker->open();
      const bool ok = status.isOk();
      opened.set_value(std::move(status));
      if (ok) {
        worker->run(*handler);
      }
    });
    Status status = verdict.get();
    if (!status.isOk()) {
      stop();
      return status;
    }
    if (i == 0) {
      // Later workers bind the ports the first one got, and use its mode so every worker
      // behaves alike.
      endpoints_ = worker->localEndpoints();
      worker_config.listen = endpoints_;
      mode_ = worker->mode();
      fallback_reason_ = worker->fallbackReason();
      worker_config.mode = mode_;
      if (mode_ == IoMode::Mmsg && !fallback_reason_.empty()) {
        std::fprintf(stderr, "sipshield: io_uring unavailable (%s); using recvmmsg/sendmmsg\n",
                     fallback_reason_.c_str());
      }
    }
  }
  return Status::ok();
}

void UringBackend::stop() {
  for (auto& worker : workers_) {
    worker->stop();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  // Workers and handlers stay until the next start() or destruction so counters() still
  // reports the final values.
  threads_.clear();
}

IoCounters UringBackend::counters() const {
  IoCounters total;
  for (const auto& worker : workers_) {
    total += worker->counters();
  }
  return total;
}

IoCounters UringBackend::workerCounters(size_t index) const {
  if (index >= workers_.size()) {
    return IoCounters{};
  }
  return workers_[index]->counters();
}

}  // namespace sipshield::io
