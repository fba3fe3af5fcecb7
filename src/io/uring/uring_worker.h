#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/net/endpoint.h"
#include "src/packet.h"
#include "src/status.h"

namespace sipshield::io {

// IoMode picks how a worker talks to the kernel.
enum class IoMode : uint8_t {
  Auto,  // io_uring multishot recvmsg with a provided buffer ring; recvmmsg/sendmmsg if missing
  Uring, // io_uring only: open() fails if the kernel or liburing lacks a needed feature
  Mmsg,  // recvmmsg/sendmmsg with poll(): the portable fallback
};

// SendMode picks how the io_uring path transmits a burst (the Mmsg path always uses
// sendmmsg). Measured with tests/io/uring_perf_test.cc on the 2-core VM (one worker, 600-byte
// echo, loopback): Sendmmsg cost ~3.12 us of worker CPU per echoed packet against ~3.24 us for
// one SENDMSG SQE per packet (io_uring's per-request overhead exceeds the one extra syscall),
// so Sendmmsg is the default.
enum class SendMode : uint8_t {
  UringSendmsg,  // one IORING_OP_SENDMSG SQE per packet, submitted together once per burst
  Sendmmsg,      // one sendmmsg(2) per listen socket per burst
};

// UringConfig is a worker's static configuration, fixed at open().
struct UringConfig {
  // Addresses to listen on; each gets one UDP socket, and RxPacket/TxPacket::local_index is
  // the index in this list. At most 256. Port 0 binds an ephemeral port (see
  // UringWorker::localEndpoints()).
  std::vector<net::Endpoint> listen;
  // SO_RCVBUF and SO_SNDBUF in bytes. SO_*BUFFORCE is tried first (root may exceed
  // net.core.rmem_max), then the plain option, which the kernel caps at rmem_max/wmem_max.
  int socket_buffer_bytes = 4 << 20;
  // Provided receive buffers per worker; a power of two in [1, 32768].
  uint32_t buffer_count = 256;
  // Bytes per receive buffer, including io_uring's recvmsg header, source address and
  // control messages (kRecvHeaderBytes); the rest is payload room. The default holds any UDP
  // datagram.
  uint32_t buffer_bytes = 65536 + 256;
  // TxBatch slots handed to the BurstHandler per burst.
  uint32_t tx_slots = 256;
  // How long an idle worker blocks before it calls BurstHandler::idle and re-checks the stop
  // flag. stop() wakes a blocked worker at once, so this only paces idle().
  uint32_t wait_timeout_ms = 20;
  IoMode mode = IoMode::Auto;
  SendMode send_mode = SendMode::Sendmmsg;
  // SO_REUSEPORT lets N workers (and restarts) bind the same address; the kernel then hashes
  // each source 4-tuple to one socket, keeping one source on one worker.
  bool reuse_port = true;
};

// IoCounters is a snapshot of one worker's (or the sum of all workers') counters.
struct IoCounters {
  uint64_t received = 0;     // datagrams handed to processBurst
  uint64_t sent = 0;         // datagrams the kernel accepted
  uint64_t send_errors = 0;  // sends the kernel refused (or a TxPacket with a bad local_index)
  uint64_t recv_errors = 0;  // receive completions with an error other than ENOBUFS
  uint64_t rearm = 0;        // times a multishot recvmsg ended and was armed again
  uint64_t truncated = 0;    // datagrams larger than the payload room, dropped (MSG_TRUNC)
  uint64_t bursts = 0;       // processBurst calls
  uint64_t idle = 0;         // idle calls

  IoCounters& operator+=(const IoCounters& other);
};

// Bytes of every receive buffer used before the payload on the io_uring path:
// io_uring_recvmsg_out, room for a sockaddr_in6, and room for the TTL/hop-limit cmsg. The
// kernel places the cmsgs right after the name, so the name room is rounded up to 8 bytes to
// keep struct cmsghdr aligned.
inline constexpr uint32_t kRecvNameBytes = (sizeof(sockaddr_in6) + 7) & ~7u;
inline constexpr uint32_t kRecvControlBytes = 64;
inline constexpr uint32_t kRecvHeaderBytes =
    sizeof(io_uring_recvmsg_out) + kRecvNameBytes + kRecvControlBytes;

// UringWorker is one run-to-completion I/O loop: its own sockets (SO_REUSEPORT), its own
// io_uring and buffer ring, one BurstHandler. Receives up to kMaxBurst datagrams, calls
// BurstHandler::processBurst once, returns the buffers to the ring and sends the TxBatch with
// one io_uring_submit. Nothing on this loop allocates or locks.
//
// Threading: open() and run() must be called on the same thread (the ring is created with
// IORING_SETUP_SINGLE_ISSUER); stop() and counters() may be called from any thread.
class UringWorker {
 public:
  // UringWorker copies `config`; `index` only labels error messages. Does no I/O.
  UringWorker(const UringConfig& config, int index);
  // ~UringWorker closes the sockets and the ring. run() must have returned.
  ~UringWorker();
  UringWorker(const UringWorker&) = delete;
  UringWorker& operator=(const UringWorker&) = delete;

  // open creates and binds the sockets, then sets up io_uring (multishot recvmsg + buffer
  // ring) or, in Auto mode when that fails, the recvmmsg fallback; mode() and
  // fallbackReason() then say which and why. Call once, on the thread that will call run().
  // Returns ok, or kInvalidArgument (bad config), kAlreadyExists (address in use),
  // kUnavailable / kResourceExhausted (socket or ring creation failed), kFailedPrecondition
  // (IoMode::Uring requested but unsupported).
  Status open();

  // run loops until stop() is called, driving `handler`. Returns at once if open() failed or
  // was not called. `handler` must outlive the call.
  void run(BurstHandler& handler);

  // stop asks run() to return and wakes it if blocked (writes an eventfd the loop polls).
  // Thread-safe, idempotent and async-signal-safe.
  void stop();

  // counters returns this worker's counters. Thread-safe; values are relaxed snapshots
  // published once per loop iteration.
  [[nodiscard]] IoCounters counters() const;

  // mode returns the mode chosen by open(): Uring or Mmsg (Auto before open()).
  [[nodiscard]] IoMode mode() const { return mode_; }
  // fallbackReason says why Auto fell back to Mmsg; empty otherwise.
  [[nodiscard]] const std::string& fallbackReason() const { return fallback_reason_; }
  // localEndpoints returns the bound addresses after open(), with ephemeral ports resolved,
  // in the order of UringConfig::listen.
  [[nodiscard]] const std::vector<net::Endpoint>& localEndpoints() const { return bound_; }

 private:
  struct Published {
    alignas(64) std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> send_errors{0};
    std::atomic<uint64_t> recv_errors{0};
    std::atomic<uint64_t> rearm{0};
    std::atomic<uint64_t> truncated{0};
    std::atomic<uint64_t> bursts{0};
    std::atomic<uint64_t> idle{0};
  };
  struct Pending {
    RxPacket packet;
    uint16_t buffer_id;
  };

  Status openSockets();
  Status openUring();
  Status openMmsg();
  void closeUring();

  void runUring(BurstHandler& handler);
  void runMmsg(BurstHandler& handler);

  // io_uring helpers.
  io_uring_sqe* getSqe();
  void armReceive(uint32_t socket_index);
  void armPendingReceives();
  void armWake();
  void reapCompletions();
  void handleCompletion(const io_uring_cqe& cqe);
  void returnBuffers(const uint16_t* ids, uint32_t count);
  void queueUringSends();
  void runUringBurst(BurstHandler& handler);

  // Shared helpers.
  void sendWithSendmmsg();
  void maybeIdleBeforeBurst(BurstHandler& handler, uint64_t now_ns);
  void publish();

  UringConfig config_;
  int index_;
  IoMode mode_ = IoMode::Auto;
  std::string fallback_reason_;
  std::vector<int> fds_;
  std::vector<net::Endpoint> bound_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};

  std::unique_ptr<TxBatch> tx_;
  RxPacket rx_[kMaxBurst];
  uint16_t rx_buffer_ids_[kMaxBurst];
  uint64_t last_idle_ns_ = 0;

  // io_uring state.
  bool ring_ready_ = false;
  io_uring ring_{};
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  msghdr recv_msg_{};
  std::vector<uint8_t> armed_;
  std::vector<Pending> backlog_;
  uint32_t backlog_head_ = 0;
  uint32_t backlog_count_ = 0;
  uint32_t inflight_sends_ = 0;
  uint64_t wake_buffer_ = 0;

  // Transmit descriptors, one per TxBatch slot (sendmsg SQEs and sendmmsg share them).
  std::vector<msghdr> tx_msgs_;
  std::vector<mmsghdr> tx_mmsgs_;
  std::vector<iovec> tx_iovs_;
  std::vector<sockaddr_storage> tx_addrs_;

  // recvmmsg fallback state.
  std::vector<mmsghdr> rx_mmsgs_;
  std::vector<iovec> rx_iovs_;
  std::vector<sockaddr_storage> rx_addrs_;
  std::vector<uint8_t> rx_control_;
  std::vector<uint8_t> rx_payload_;

  IoCounters local_;
  Published published_;
};

}  // namespace sipshield::io
