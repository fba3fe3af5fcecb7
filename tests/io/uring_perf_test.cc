// Echo throughput of one worker, per I/O mode: a closed-loop blaster keeps `kWindow`
// datagrams in flight on loopback for a fixed time and counts the echoes. Bounded in time
// (kRepetitions x modes x kRunTime). Prints packets/s per mode (median of the repetitions);
// run alone: `meson test -C build --suite perf uring_perf`.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "src/io/uring/uring_backend.h"
#include "tests/io/io_test_util.h"

namespace sipshield::io {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kWindow = 512;
constexpr size_t kPayload = 600;  // a typical INVITE is 500-1000 bytes
constexpr auto kRunTime = std::chrono::milliseconds(1500);
constexpr int kRepetitions = 3;

struct Mode {
  const char* name;
  IoMode mode;
  SendMode send_mode;
  uint32_t buffer_count;
};

struct RunResult {
  double packets_per_second = 0;
  double server_ns_per_packet = 0;  // worker CPU time (process minus this thread) per echo
};

double cpuNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// blast runs the closed-loop client against `server` for kRunTime. The client is itself a
// bottleneck on a 2-core box, so the worker's CPU per packet is the fairer comparison.
RunResult blast(const net::Endpoint& server) {
  testing::UdpClient client(AF_INET);
  sockaddr_storage to;
  const socklen_t to_length = server.toSockaddr(to);
  constexpr uint32_t kBatch = 32;
  std::vector<uint8_t> payload(kPayload, 'x');
  std::vector<uint8_t> in(kBatch * 2048);
  mmsghdr out_msgs[kBatch];
  iovec out_iovs[kBatch];
  mmsghdr in_msgs[kBatch];
  iovec in_iovs[kBatch];
  for (uint32_t i = 0; i < kBatch; ++i) {
    out_iovs[i] = iovec{payload.data(), payload.size()};
    out_msgs[i] = mmsghdr{};
    out_msgs[i].msg_hdr.msg_name = &to;
    out_msgs[i].msg_hdr.msg_namelen = to_length;
    out_msgs[i].msg_hdr.msg_iov = &out_iovs[i];
    out_msgs[i].msg_hdr.msg_iovlen = 1;
    in_iovs[i] = iovec{in.data() + i * 2048, 2048};
    in_msgs[i] = mmsghdr{};
    in_msgs[i].msg_hdr.msg_iov = &in_iovs[i];
    in_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t sent = 0;
  uint64_t received = 0;
  const double process_cpu_begin = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
  const double thread_cpu_begin = cpuNs(CLOCK_THREAD_CPUTIME_ID);
  const auto begin = Clock::now();
  const auto end = begin + kRunTime;
  while (Clock::now() < end) {
    if (sent - received + kBatch <= kWindow) {
      const int n = sendmmsg(client.fd(), out_msgs, kBatch, MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<uint64_t>(n);
      }
    }
    const int n = recvmmsg(client.fd(), in_msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n > 0) {
      received += static_cast<uint64_t>(n);
    } else if (sent - received + kBatch > kWindow) {
      // Window full and nothing back yet: wait a little instead of spinning. If the server
      // dropped packets the window would never drain, so forget what is presumed lost.
      pollfd pfd{client.fd(), POLLIN, 0};
      if (poll(&pfd, 1, 50) == 0) {
        received = sent;
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  const double server_cpu = (cpuNs(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_begin) -
                            (cpuNs(CLOCK_THREAD_CPUTIME_ID) - thread_cpu_begin);
  RunResult result;
  result.packets_per_second = static_cast<double>(received) / seconds;
  result.server_ns_per_packet = received ? server_cpu / static_cast<double>(received) : 0;
  return result;
}

TEST(UringPerf, EchoThroughputOneWorker) {
  const Mode modes[] = {
      {"io_uring sendmsg SQEs", IoMode::Uring, SendMode::UringSendmsg, 256},
      {"io_uring sendmsg 1024b", IoMode::Uring, SendMode::UringSendmsg, 1024},
      {"io_uring + sendmmsg", IoMode::Uring, SendMode::Sendmmsg, 256},
      {"recvmmsg/sendmmsg", IoMode::Mmsg, SendMode::Sendmmsg, 256},
  };
  std::vector<std::vector<double>> rates(std::size(modes));
  std::vector<std::vector<double>> costs(std::size(modes));
  std::vector<IoCounters> totals(std::size(modes));
  // Interleave modes so drift on the shared machine hits them alike.
  for (int rep = 0; rep < kRepetitions; ++rep) {
    for (size_t m = 0; m < std::size(modes); ++m) {
      UringBackendConfig config;
      config.workers = 1;
      config.worker.listen = {*net::Endpoint::parse("127.0.0.1:0")};
      config.worker.mode = modes[m].mode;
      config.worker.send_mode = modes[m].send_mode;
      config.worker.buffer_count = modes[m].buffer_count;
      UringBackend backend(config);
      ASSERT_TRUE(
          backend.start([](int) { return std::make_unique<testing::EchoHandler>(); }).isOk());
      const RunResult run = blast(backend.localEndpoints()[0]);
      rates[m].push_back(run.packets_per_second);
      costs[m].push_back(run.server_ns_per_packet);
      backend.stop();
      totals[m] += backend.counters();
    }
  }
  for (size_t m = 0; m < std::size(modes); ++m) {
    std::sort(rates[m].begin(), rates[m].end());
    std::sort(costs[m].begin(), costs[m].end());
    const double median = rates[m][rates[m].size() / 2];
    const IoCounters& c = totals[m];
    std::printf("%-24s median %7.0f pkt/s (min %7.0f max %7.0f) worker %5.0f ns/pkt "
                "(min %5.0f)  rx %lu tx %lu send_err %lu rearm %lu avg burst %.1f\n",
                modes[m].name, median, rates[m].front(), rates[m].back(),
                costs[m][costs[m].size() / 2], costs[m].front(),
                static_cast<unsigned long>(c.received), static_cast<unsigned long>(c.sent),
                static_cast<unsigned long>(c.send_errors), static_cast<unsigned long>(c.rearm),
                c.bursts ? static_cast<double>(c.received) / static_cast<double>(c.bursts) : 0.0);
    ::testing::Test::RecordProperty(modes[m].name, static_cast<int>(median));
    // An echo server on loopback that cannot do 5k packets/s is broken, not slow.
    EXPECT_GT(median, 5000.0) << modes[m].name;
    EXPECT_EQ(c.send_errors, 0u) << modes[m].name;
  }
}

}  // namespace
}  // namespace sipshield::io
