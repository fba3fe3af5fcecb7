#pragma once

// Test helpers for the I/O backends: an echo BurstHandler and a loopback UDP client.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "src/net/endpoint.h"
#include "src/packet.h"

namespace sipshield::io::testing {

// EchoHandler sends every packet back to its source from the socket it came in on, and
// records what it saw. Its fields are read by the test thread after the backend stopped, or
// through the atomics while running.
class EchoHandler : public BurstHandler {
 public:
  void processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t now_ns) override {
    last_now_ns.store(now_ns, std::memory_order_relaxed);
    max_burst.store(std::max<uint64_t>(max_burst.load(std::memory_order_relaxed),
                                       packets.size()),
                    std::memory_order_relaxed);
    for (const RxPacket& packet : packets) {
      received.fetch_add(1, std::memory_order_relaxed);
      last_ttl.store(packet.ttl, std::memory_order_relaxed);
      TxPacket* out = tx.claim();
      if (out == nullptr) {
        tx_full.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      std::memcpy(out->data, packet.data, packet.length);
      out->destination = packet.source;
      out->local_index = packet.local_index;
      tx.commit(packet.length);
    }
  }
  void idle(TxBatch& tx, uint64_t now_ns) override {
    (void)tx;
    (void)now_ns;
    idle_calls.fetch_add(1, std::memory_order_relaxed);
  }

  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> tx_full{0};
  std::atomic<uint64_t> idle_calls{0};
  std::atomic<uint64_t> max_burst{0};
  std::atomic<uint64_t> last_now_ns{0};
  std::atomic<uint32_t> last_ttl{0};
};

// UdpClient is a non-blocking loopback UDP socket bound to an ephemeral port.
class UdpClient {
 public:
  explicit UdpClient(int family) {
    fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int bytes = 4 << 20;
    (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes));
    (void)setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes));
  }
  ~UdpClient() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  [[nodiscard]] int fd() const { return fd_; }

  bool sendTo(const net::Endpoint& to, const void* data, size_t length) {
    sockaddr_storage storage;
    const socklen_t name_length = to.toSockaddr(storage);
    return sendto(fd_, data, length, 0, reinterpret_cast<const sockaddr*>(&storage),
                  name_length) == static_cast<ssize_t>(length);
  }

  // receive waits up to `timeout_ms` for one datagram; returns its length or -1.
  ssize_t receive(void* buffer, size_t capacity, int timeout_ms, net::Endpoint* from = nullptr) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) {
      return -1;
    }
    sockaddr_storage storage;
    socklen_t name_length = sizeof(storage);
    const ssize_t n = recvfrom(fd_, buffer, capacity, 0, reinterpret_cast<sockaddr*>(&storage),
                               &name_length);
    if (n >= 0 && from != nullptr) {
      *from = net::Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
    }
    return n;
  }

 private:
  int fd_ = -1;
};

}  // namespace sipshield::io::testing
