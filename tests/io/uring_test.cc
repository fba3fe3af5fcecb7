#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/io/uring/uring_backend.h"
#include "tests/io/io_test_util.h"

namespace sipshield::io {
namespace {

using testing::EchoHandler;
using testing::UdpClient;
using Clock = std::chrono::steady_clock;

struct ModeRow {
  const char* name;
  IoMode mode;
  SendMode send_mode;
};

// Every behaviour is checked on the io_uring path (both transmit styles) and the fallback.
const ModeRow kModes[] = {
    {"UringSendmsg", IoMode::Uring, SendMode::UringSendmsg},
    {"UringSendmmsg", IoMode::Uring, SendMode::Sendmmsg},
    {"Mmsg", IoMode::Mmsg, SendMode::Sendmmsg},
};

class UringBackendTest : public ::testing::TestWithParam<ModeRow> {
 protected:
  UringBackendConfig makeConfig(std::vector<const char*> listen, uint32_t workers = 1) {
    UringBackendConfig config;
    for (const char* text : listen) {
      config.worker.listen.push_back(*net::Endpoint::parse(text));
    }
    config.workers = workers;
    config.worker.mode = GetParam().mode;
    config.worker.send_mode = GetParam().send_mode;
    config.worker.buffer_count = 64;
    return config;
  }

  // start runs `backend` with EchoHandlers and remembers them in handlers_.
  Status start(UringBackend& backend) {
    return backend.start([this](int) {
      auto handler = std::make_unique<EchoHandler>();
      handlers_.push_back(handler.get());
      return handler;
    });
  }

  std::vector<EchoHandler*> handlers_;
};

// Sends `count` numbered datagrams with at most `window` outstanding and checks every echo:
// payload intact, from the listen address. Returns how many came back.
uint32_t echoMany(UdpClient& client, const net::Endpoint& to, uint32_t count, uint32_t window,
                  size_t size, std::chrono::milliseconds budget) {
  std::vector<uint8_t> out(size);
  std::vector<uint8_t> in(size + 16);
  std::vector<bool> seen(count, false);
  uint32_t sent = 0;
  uint32_t received = 0;
  const auto deadline = Clock::now() + budget;
  while (received < count && Clock::now() < deadline) {
    while (sent < count && sent - received < window) {
      for (size_t i = 0; i < size; ++i) {
        out[i] = static_cast<uint8_t>(sent * 7 + i);
      }
      std::memcpy(out.data(), &sent, sizeof(sent));
      if (!client.sendTo(to, out.data(), out.size())) {
        break;  // socket buffer full: receive first
      }
      ++sent;
    }
    net::Endpoint from;
    const ssize_t n = client.receive(in.data(), in.size(), 100, &from);
    if (n < 0) {
      continue;
    }
    EXPECT_EQ(static_cast<size_t>(n), size);
    EXPECT_EQ(from, to);
    uint32_t number = 0;
    std::memcpy(&number, in.data(), sizeof(number));
    if (number >= count || seen[number]) {
      ADD_FAILURE() << "unexpected or duplicate datagram " << number;
      continue;
    }
    bool intact = true;
    for (size_t i = sizeof(number); i < size; ++i) {
      intact = intact && in[i] == static_cast<uint8_t>(number * 7 + i);
    }
    EXPECT_TRUE(intact) << "datagram " << number;
    seen[number] = true;
    ++received;
  }
  return received;
}

// 10k datagrams through one worker come back intact, counters agree, bursts are batched.
TEST_P(UringBackendTest, EchoesTenThousandDatagramsV4) {
  UringBackend backend(makeConfig({"127.0.0.1:0"}));
  ASSERT_TRUE(start(backend).isOk());
  EXPECT_EQ(backend.mode(), GetParam().mode);
  const net::Endpoint server = backend.localEndpoints().at(0);
  EXPECT_NE(server.port, 0);
  UdpClient client(AF_INET);
  const uint32_t got = echoMany(client, server, 10000, 256, 200, std::chrono::seconds(20));
  EXPECT_EQ(got, 10000u);
  backend.stop();
  const IoCounters counters = backend.counters();
  EXPECT_EQ(counters.received, 10000u);
  EXPECT_EQ(counters.sent, 10000u);
  EXPECT_EQ(counters.send_errors, 0u);
  EXPECT_EQ(counters.truncated, 0u);
  EXPECT_LE(handlers_[0]->max_burst.load(), kMaxBurst);
  EXPECT_GE(counters.bursts, 10000u / kMaxBurst);
  EXPECT_LE(counters.bursts, 10000u);
}

// IPv6 works, alongside IPv4 on the same worker; local_index routes replies to the right
// socket, and the hop limit arrives in RxPacket::ttl.
TEST_P(UringBackendTest, DualStackAndHopLimit) {
  UringBackend backend(makeConfig({"127.0.0.1:0", "[::1]:0"}));
  ASSERT_TRUE(start(backend).isOk());
  ASSERT_EQ(backend.localEndpoints().size(), 2u);
  const net::Endpoint v4 = backend.localEndpoints()[0];
  const net::Endpoint v6 = backend.localEndpoints()[1];
  EXPECT_TRUE(v6.ip.isV6());

  UdpClient client6(AF_INET6);
  const int hops = 55;
  ASSERT_EQ(setsockopt(client6.fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)), 0);
  EXPECT_EQ(echoMany(client6, v6, 500, 64, 300, std::chrono::seconds(10)), 500u);
  EXPECT_EQ(handlers_[0]->last_ttl.load(), 55u);

  UdpClient client4(AF_INET);
  const int ttl = 77;
  ASSERT_EQ(setsockopt(client4.fd(), IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
  EXPECT_EQ(echoMany(client4, v4, 500, 64, 300, std::chrono::seconds(10)), 500u);
  EXPECT_EQ(handlers_[0]->last_ttl.load(), 77u);
}

// Without setting anything the loopback TTL is the system default (64 unless changed).
TEST_P(UringBackendTest, DefaultTtlIsFilled) {
  UringBackend backend(makeConfig({"127.0.0.1:0"}));
  ASSERT_TRUE(start(backend).isOk());
  UdpClient client(AF_INET);
  int expected = 0;
  socklen_t length = sizeof(expected);
  ASSERT_EQ(getsockopt(client.fd(), IPPROTO_IP, IP_TTL, &expected, &length), 0);
  EXPECT_EQ(echoMany(client, backend.localEndpoints()[0], 1, 1, 50, std::chrono::seconds(5)),
            1u);
  EXPECT_EQ(handlers_[0]->last_ttl.load(), static_cast<uint32_t>(expected));
  EXPECT_NE(handlers_[0]->last_ttl.load(), 0u);
}

// Datagrams larger than a page and near the UDP maximum pass unharmed.
TEST_P(UringBackendTest, LargeDatagrams) {
  UringBackend backend(makeConfig({"127.0.0.1:0"}));
  ASSERT_TRUE(start(backend).isOk());
  UdpClient client(AF_INET);
  EXPECT_EQ(echoMany(client, backend.localEndpoints()[0], 50, 8, 8000, std::chrono::seconds(10)),
            50u);
  EXPECT_EQ(echoMany(client, backend.localEndpoints()[0], 3, 1, 65000, std::chrono::seconds(10)),
            3u);
}

// A datagram bigger than the receive room is dropped and counted, and the worker keeps going.
TEST_P(UringBackendTest, OversizeIsCountedAsTruncated) {
  UringBackendConfig config = makeConfig({"127.0.0.1:0"});
  config.worker.buffer_bytes = kRecvHeaderBytes + 2000;
  UringBackend backend(config);
  ASSERT_TRUE(start(backend).isOk());
  UdpClient client(AF_INET);
  const net::Endpoint server = backend.localEndpoints()[0];
  std::vector<uint8_t> big(3000, 0xAB);
  ASSERT_TRUE(client.sendTo(server, big.data(), big.size()));
  EXPECT_EQ(echoMany(client, server, 20, 4, 1900, std::chrono::seconds(5)), 20u);
  backend.stop();
  EXPECT_EQ(backend.counters().truncated, 1u);
  EXPECT_EQ(backend.counters().received, 20u);
}

// Two workers share one port through SO_REUSEPORT; many sources spread over both, and each
// source's echo comes back from the shared address.
TEST_P(UringBackendTest, ReusePortSpreadsSources) {
  UringBackend backend(makeConfig({"127.0.0.1:0"}, 2));
  ASSERT_TRUE(start(backend).isOk());
  ASSERT_EQ(backend.workerCount(), 2u);
  const net::Endpoint server = backend.localEndpoints()[0];
  constexpr int kSources = 64;
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < kSources; ++i) {
    clients.push_back(std::make_unique<UdpClient>(AF_INET));
    EXPECT_EQ(echoMany(*clients.back(), server, 20, 20, 100, std::chrono::seconds(5)), 20u);
  }
  backend.stop();
  EXPECT_EQ(backend.counters().received, kSources * 20u);
  // 64 sources hashed onto 2 sockets: all on one would have probability 2^-63.
  EXPECT_GT(backend.workerCounters(0).received, 0u);
  EXPECT_GT(backend.workerCounters(1).received, 0u);
  // The kernel keeps a source on one socket, so each worker saw whole sources.
  EXPECT_EQ(backend.workerCounters(0).received % 20, 0u);
}

// stop() wakes a worker blocked in a long wait at once.
TEST_P(UringBackendTest, StopIsPrompt) {
  UringBackendConfig config = makeConfig({"127.0.0.1:0", "[::1]:0"}, 2);
  config.worker.wait_timeout_ms = 10000;
  UringBackend backend(config);
  ASSERT_TRUE(start(backend).isOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto begin = Clock::now();
  backend.stop();
  EXPECT_LT(Clock::now() - begin, std::chrono::milliseconds(500));
}

// An idle worker calls BurstHandler::idle about once per wait period.
TEST_P(UringBackendTest, IdleIsCalled) {
  UringBackendConfig config = makeConfig({"127.0.0.1:0"});
  config.worker.wait_timeout_ms = 5;
  UringBackend backend(config);
  ASSERT_TRUE(start(backend).isOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  backend.stop();
  EXPECT_GE(handlers_[0]->idle_calls.load(), 3u);
  EXPECT_EQ(backend.counters().idle, handlers_[0]->idle_calls.load());
}

// A TxPacket naming a socket that does not exist is a counted send error, not a crash.
class BadIndexHandler : public BurstHandler {
 public:
  void processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t) override {
    for (const RxPacket& packet : packets) {
      TxPacket* out = tx.claim();
      out->destination = packet.source;
      out->local_index = 9;
      tx.commit(1);
    }
  }
};

TEST_P(UringBackendTest, BadLocalIndexIsASendError) {
  UringBackend backend(makeConfig({"127.0.0.1:0"}));
  ASSERT_TRUE(backend.start([](int) { return std::make_unique<BadIndexHandler>(); }).isOk());
  UdpClient client(AF_INET);
  ASSERT_TRUE(client.sendTo(backend.localEndpoints()[0], "x", 1));
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (backend.counters().send_errors == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  backend.stop();
  EXPECT_EQ(backend.counters().send_errors, 1u);
  EXPECT_EQ(backend.counters().sent, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, UringBackendTest, ::testing::ValuesIn(kModes),
                         [](const auto& info) { return std::string(info.param.name); });

// Start-up errors come back as a Status with a clear code and message.
struct StartErrorRow {
  const char* description;
  void (*mutate)(UringBackendConfig&);
  StatusCode code;
};

const StartErrorRow kStartErrors[] = {
    {"no listen address", [](UringBackendConfig& c) { c.worker.listen.clear(); },
     StatusCode::kInvalidArgument},
    {"buffer count not a power of two", [](UringBackendConfig& c) { c.worker.buffer_count = 3; },
     StatusCode::kInvalidArgument},
    {"buffers too small", [](UringBackendConfig& c) { c.worker.buffer_bytes = 100; },
     StatusCode::kInvalidArgument},
    {"no tx slots", [](UringBackendConfig& c) { c.worker.tx_slots = 0; },
     StatusCode::kInvalidArgument},
    {"address not local", [](UringBackendConfig& c) {
       c.worker.listen = {*net::Endpoint::parse("192.0.2.1:0")};
     }, StatusCode::kUnavailable},
};

TEST(UringBackendStart, ConfigErrors) {
  for (const StartErrorRow& row : kStartErrors) {
    UringBackendConfig config;
    config.workers = 1;
    config.worker.listen = {*net::Endpoint::parse("127.0.0.1:0")};
    row.mutate(config);
    UringBackend backend(config);
    const Status status = backend.start([](int) { return std::make_unique<EchoHandler>(); });
    EXPECT_EQ(status.code(), row.code) << row.description << ": " << status.message();
    EXPECT_NE(status.message().find("worker 0"), std::string::npos) << status.message();
  }
}

// Binding an address someone holds without SO_REUSEPORT fails with kAlreadyExists.
TEST(UringBackendStart, AddressInUse) {
  UringBackendConfig config;
  config.workers = 1;
  config.worker.listen = {*net::Endpoint::parse("127.0.0.1:0")};
  config.worker.reuse_port = false;
  UringBackend first(config);
  ASSERT_TRUE(first.start([](int) { return std::make_unique<EchoHandler>(); }).isOk());
  config.worker.listen = first.localEndpoints();
  UringBackend second(config);
  const Status status = second.start([](int) { return std::make_unique<EchoHandler>(); });
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.message();
  EXPECT_NE(status.message().find("bind 127.0.0.1:"), std::string::npos) << status.message();
}

TEST(UringBackendStart, NullHandlerIsRejected) {
  UringBackendConfig config;
  config.workers = 2;
  config.worker.listen = {*net::Endpoint::parse("127.0.0.1:0")};
  UringBackend backend(config);
  const Status status = backend.start([](int index) -> std::unique_ptr<BurstHandler> {
    return index == 0 ? std::make_unique<EchoHandler>() : nullptr;
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

// On this kernel (6.x) Auto picks io_uring; a second start() while running is refused.
TEST(UringBackendStart, AutoPicksUringAndDefaultsToOneWorkerPerCore) {
  UringBackendConfig config;
  config.worker.listen = {*net::Endpoint::parse("127.0.0.1:0")};
  UringBackend backend(config);
  ASSERT_TRUE(backend.start([](int) { return std::make_unique<EchoHandler>(); }).isOk());
  EXPECT_EQ(backend.mode(), IoMode::Uring) << backend.fallbackReason();
  EXPECT_TRUE(backend.fallbackReason().empty());
  EXPECT_EQ(backend.workerCount(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(backend.start([](int) { return std::make_unique<EchoHandler>(); }).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sipshield::io
