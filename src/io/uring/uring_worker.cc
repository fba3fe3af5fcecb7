#include "src/io/uring/uring_worker.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sipshield::io {

namespace {

// user_data layout: kind in the top byte, an index (socket or tx slot) below.
enum class Op : uint64_t { Recv = 1, Send = 2, Wake = 3 };

constexpr uint64_t userData(Op op, uint32_t index) {
  return (static_cast<uint64_t>(op) << 56) | index;
}

constexpr uint16_t kBufferGroup = 0;

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string errnoText(int error) {
  return std::string(strerror(error));
}

uint32_t roundUpPow2(uint32_t value) {
  uint32_t out = 1;
  while (out < value) {
    out <<= 1;
  }
  return out;
}

// ttlFromCmsg reads IP_TTL / IPV6_HOPLIMIT (enabled by IP_RECVTTL / IPV6_RECVHOPLIMIT).
uint8_t ttlFromCmsg(const cmsghdr* cmsg) {
  const bool v4 = cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_TTL;
  const bool v6 = cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_HOPLIMIT;
  if ((!v4 && !v6) || cmsg->cmsg_len < CMSG_LEN(sizeof(int))) {
    return 0;
  }
  int value = 0;
  std::memcpy(&value, CMSG_DATA(cmsg), sizeof(value));
  return static_cast<uint8_t>(std::clamp(value, 0, 255));
}

// store publishes a counter that only this worker's thread writes: a relaxed store is enough
// for readers on other threads and needs no locked instruction.
void store(std::atomic<uint64_t>& counter, uint64_t value) {
  counter.store(value, std::memory_order_relaxed);
}

}  // namespace

IoCounters& IoCounters::operator+=(const IoCounters& other) {
  received += other.received;
  sent += other.sent;
  send_errors += other.send_errors;
  recv_errors += other.recv_errors;
  rearm += other.rearm;
  truncated += other.truncated;
  bursts += other.bursts;
  idle += other.idle;
  return *this;
}

UringWorker::UringWorker(const UringConfig& config, int index) : config_(config), index_(index) {}

UringWorker::~UringWorker() {
  closeUring();
  for (int fd : fds_) {
    close(fd);
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

void UringWorker::closeUring() {
  if (ring_ready_) {
    io_uring_queue_exit(&ring_);  // also drops the buffer ring registration
    ring_ready_ = false;
  }
  if (buf_ring_ != nullptr) {
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
  }
  if (buffers_ != nullptr) {
    munmap(buffers_, buffers_bytes_);
    buffers_ = nullptr;
  }
}

Status UringWorker::open() {
  const std::string who = "worker " + std::to_string(index_) + ": ";
  if (config_.listen.empty() || config_.listen.size() > 256) {
    return Status(StatusCode::kInvalidArgument, who + "need 1 to 256 listen addresses");
  }
  if (config_.buffer_count == 0 || config_.buffer_count > 32768 ||
      (config_.buffer_count & (config_.buffer_count - 1)) != 0) {
    return Status(StatusCode::kInvalidArgument,
                  who + "buffer_count must be a power of two in [1, 32768]");
  }
  if (config_.buffer_bytes < kRecvHeaderBytes + 1500) {
    return Status(StatusCode::kInvalidArgument,
                  who + "buffer_bytes must be at least " + std::to_string(kRecvHeaderBytes + 1500));
  }
  if (config_.tx_slots == 0 || config_.tx_slots > 65536) {
    return Status(StatusCode::kInvalidArgument, who + "tx_slots must be in [1, 65536]");
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    return Status(StatusCode::kResourceExhausted, who + "eventfd: " + errnoText(errno));
  }
  if (Status status = openSockets(); !status.isOk()) {
    return Status(status.code(), who + status.message());
  }

  tx_ = std::make_unique<TxBatch>(config_.tx_slots);
  tx_msgs_.assign(config_.tx_slots, msghdr{});
  tx_mmsgs_.assign(config_.tx_slots, mmsghdr{});
  tx_iovs_.assign(config_.tx_slots, iovec{});
  tx_addrs_.assign(config_.tx_slots, sockaddr_storage{});

  if (config_.mode != IoMode::Mmsg) {
    Status status = openUring();
    if (status.isOk()) {
      mode_ = IoMode::Uring;
      return status;
    }
    closeUring();
    if (config_.mode == IoMode::Uring) {
      return Status(status.code(), who + status.message());
    }
    fallback_reason_ = status.message();
  }
  mode_ = IoMode::Mmsg;
  return openMmsg();
}

Status UringWorker::openSockets() {
  for (const net::Endpoint& endpoint : config_.listen) {
    const int family = endpoint.ip.family;
    if (family != AF_INET && family != AF_INET6) {
      return Status(StatusCode::kInvalidArgument, "listen address has no family");
    }
    const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Status(StatusCode::kResourceExhausted, "socket: " + errnoText(errno));
    }
    fds_.push_back(fd);
    const int one = 1;
    if (config_.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return Status(StatusCode::kUnavailable, "SO_REUSEPORT: " + errnoText(errno));
    }
    const int bytes = config_.socket_buffer_bytes;
    if (bytes > 0) {
      // FORCE needs CAP_NET_ADMIN; without it the plain option is silently capped.
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
      }
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
      }
    }
    if (family == AF_INET) {
      if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) != 0) {
        return Status(StatusCode::kUnavailable, "IP_RECVTTL: " + errnoText(errno));
      }
    } else {
      // v6 sockets carry only IPv6, so a v4 listener on the same port is a separate socket.
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0 ||
          setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0) {
        return Status(StatusCode::kUnavailable, "IPV6 socket options: " + errnoText(errno));
      }
    }
    sockaddr_storage storage;
    const socklen_t length = endpoint.toSockaddr(storage);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
      const int error = errno;
      return Status(error == EADDRINUSE ? StatusCode::kAlreadyExists : StatusCode::kUnavailable,
                    "bind " + endpoint.toString() + ": " + errnoText(error));
    }
    sockaddr_storage actual;
    socklen_t actual_length = sizeof(actual);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actual_length) != 0) {
      return Status(StatusCode::kInternal, "getsockname: " + errnoText(errno));
    }
    bound_.push_back(net::Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&actual)));
  }
  return Status::ok();
}

Status UringWorker::openUring() {
  const uint32_t sockets = static_cast<uint32_t>(fds_.size());
  const uint32_t sq_entries = roundUpPow2(config_.tx_slots + sockets + 4);
  io_uring_params params{};
  // The CQ must hold a completion for every buffer plus every send without overflowing.
  params.cq_entries = roundUpPow2(2 * (config_.buffer_count + sq_entries));
  // SINGLE_ISSUER + DEFER_TASKRUN (6.1+) run completion work only when this thread enters
  // the kernel, so there are no IPIs or task-work interruptions mid-burst; older kernels
  // reject the flags with EINVAL and we retry with less.
  const unsigned flag_sets[] = {
      IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_CQSIZE,
  };
  int result = -EINVAL;
  for (unsigned flags : flag_sets) {
    params.flags = flags;
    result = io_uring_queue_init_params(sq_entries, &ring_, &params);
    if (result != -EINVAL) {
      break;
    }
    params = io_uring_params{};
    params.cq_entries = roundUpPow2(2 * (config_.buffer_count + sq_entries));
  }
  if (result < 0) {
    return Status(result == -ENOMEM ? StatusCode::kResourceExhausted : StatusCode::kUnavailable,
                  "io_uring_queue_init: " + errnoText(-result));
  }
  ring_ready_ = true;
  if ((params.features & IORING_FEAT_EXT_ARG) == 0) {
    return Status(StatusCode::kFailedPrecondition, "kernel lacks IORING_FEAT_EXT_ARG (5.11+)");
  }

  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  const bool has_ops = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
                       io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
                       io_uring_opcode_supported(probe, IORING_OP_POLL_ADD);
  if (probe != nullptr) {
    io_uring_free_probe(probe);
  }
  if (!has_ops) {
    return Status(StatusCode::kFailedPrecondition, "kernel lacks IORING_OP_RECVMSG/SENDMSG");
  }

  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves, page-aligned, and
  // register it (IORING_REGISTER_PBUF_RING, kernel 5.19+).
  buf_ring_bytes_ = static_cast<size_t>(config_.buffer_count) * sizeof(io_uring_buf);
  void* ring_memory = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                           MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) {
    buf_ring_ = nullptr;
    return Status(StatusCode::kResourceExhausted, "mmap buffer ring: " + errnoText(errno));
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = config_.buffer_count;
  reg.bgid = kBufferGroup;
  result = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (result < 0) {
    return Status(StatusCode::kFailedPrecondition,
                  "io_uring_register_buf_ring (kernel 5.19+): " + errnoText(-result));
  }
  io_uring_buf_ring_init(buf_ring_);

  buffers_bytes_ = static_cast<size_t>(config_.buffer_count) * config_.buffer_bytes;
  void* buffer_memory = mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE,
                             MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (buffer_memory == MAP_FAILED) {
    buffers_ = nullptr;
    return Status(StatusCode::kResourceExhausted, "mmap receive buffers: " + errnoText(errno));
  }
  buffers_ = static_cast<uint8_t*>(buffer_memory);
  const int mask = io_uring_buf_ring_mask(config_.buffer_count);
  for (uint32_t i = 0; i < config_.buffer_count; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(i) * config_.buffer_bytes,
                          config_.buffer_bytes, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(config_.buffer_count));

  // The kernel copies name/control lengths from this template when the SQE is prepared; the
  // layout of every buffer is then [recvmsg_out][name][control][payload].
  recv_msg_ = msghdr{};
  recv_msg_.msg_namelen = kRecvNameBytes;
  recv_msg_.msg_controllen = kRecvControlBytes;

  armed_.assign(fds_.size(), 0);
  backlog_.assign(config_.buffer_count, Pending{});
  backlog_head_ = 0;
  backlog_count_ = 0;

  // Probe multishot recvmsg now (kernel 6.0+) so Auto can still fall back: arm every socket
  // and see whether any completion comes back at once with EINVAL.
  for (uint32_t i = 0; i < fds_.size(); ++i) {
    armReceive(i);
  }
  armWake();
  result = io_uring_submit(&ring_);
  if (result < 0) {
    return Status(StatusCode::kUnavailable, "io_uring_submit: " + errnoText(-result));
  }
  __kernel_timespec ts{};
  ts.tv_nsec = 1000000;  // 1 ms: an unsupported opcode flag fails inline, long before this
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) == 0 && cqe != nullptr) {
    if (cqe->res == -EINVAL && (cqe->user_data >> 56) == static_cast<uint64_t>(Op::Recv)) {
      return Status(StatusCode::kFailedPrecondition,
                    "multishot recvmsg unsupported (kernel 6.0+ needed)");
    }
  }
  return Status::ok();
}

Status UringWorker::openMmsg() {
  rx_mmsgs_.assign(kMaxBurst, mmsghdr{});
  rx_iovs_.assign(kMaxBurst, iovec{});
  rx_addrs_.assign(kMaxBurst, sockaddr_storage{});
  rx_control_.assign(static_cast<size_t>(kMaxBurst) * kRecvControlBytes, 0);
  const uint32_t payload = config_.buffer_bytes - kRecvHeaderBytes;
  rx_payload_.assign(static_cast<size_t>(kMaxBurst) * payload, 0);
  for (uint32_t i = 0; i < kMaxBurst; ++i) {
    rx_iovs_[i].iov_base = rx_payload_.data() + static_cast<size_t>(i) * payload;
    rx_iovs_[i].iov_len = payload;
  }
  return Status::ok();
}

void UringWorker::stop() {
  stop_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

IoCounters UringWorker::counters() const {
  IoCounters out;
  out.received = published_.received.load(std::memory_order_relaxed);
  out.sent = published_.sent.load(std::memory_order_relaxed);
  out.send_errors = published_.send_errors.load(std::memory_order_relaxed);
  out.recv_errors = published_.recv_errors.load(std::memory_order_relaxed);
  out.rearm = published_.rearm.load(std::memory_order_relaxed);
  out.truncated = published_.truncated.load(std::memory_order_relaxed);
  out.bursts = published_.bursts.load(std::memory_order_relaxed);
  out.idle = published_.idle.load(std::memory_order_relaxed);
  return out;
}

void UringWorker::publish() {
  store(published_.received, local_.received);
  store(published_.sent, local_.sent);
  store(published_.send_errors, local_.send_errors);
  store(published_.recv_errors, local_.recv_errors);
  store(published_.rearm, local_.rearm);
  store(published_.truncated, local_.truncated);
  store(published_.bursts, local_.bursts);
  store(published_.idle, local_.idle);
}

void UringWorker::run(BurstHandler& handler) {
  if (tx_ == nullptr) {
    return;  // open() failed or was never called
  }
  last_idle_ns_ = monotonicNs();
  if (mode_ == IoMode::Uring) {
    runUring(handler);
  } else {
    runMmsg(handler);
  }
  publish();
}

// Under constant load the wait never times out, so timers would starve: give idle() a turn
// before a burst whenever a wait period has passed without one.
void UringWorker::maybeIdleBeforeBurst(BurstHandler& handler, uint64_t now_ns) {
  if (now_ns - last_idle_ns_ >= static_cast<uint64_t>(config_.wait_timeout_ms) * 1000000ull) {
    last_idle_ns_ = now_ns;
    ++local_.idle;
    handler.idle(*tx_, now_ns);
  }
}

// ---------------------------------------------------------------------------------------------
// io_uring path

io_uring_sqe* UringWorker::getSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    // The SQ is sized for a full TxBatch plus every re-arm, so this only happens if a burst
    // overlaps a pending re-arm storm; flush and retry.
    (void)io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringWorker::armReceive(uint32_t socket_index) {
  io_uring_sqe* sqe = getSqe();
  if (sqe == nullptr) {
    return;  // stays unarmed; armPendingReceives() retries next loop
  }
  io_uring_prep_recvmsg_multishot(sqe, fds_[socket_index], &recv_msg_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, userData(Op::Recv, socket_index));
  armed_[socket_index] = 1;
}

void UringWorker::armPendingReceives() {
  // With every buffer held in the backlog the kernel would fail at once with ENOBUFS; wait
  // until a burst has returned some.
  if (backlog_count_ >= config_.buffer_count) {
    return;
  }
  for (uint32_t i = 0; i < armed_.size(); ++i) {
    if (armed_[i] == 0) {
      ++local_.rearm;
      armReceive(i);
    }
  }
}

void UringWorker::armWake() {
  io_uring_sqe* sqe = getSqe();
  if (sqe == nullptr) {
    return;
  }
  io_uring_prep_poll_add(sqe, wake_fd_, POLLIN);
  io_uring_sqe_set_data64(sqe, userData(Op::Wake, 0));
}

void UringWorker::returnBuffers(const uint16_t* ids, uint32_t count) {
  const int mask = io_uring_buf_ring_mask(config_.buffer_count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(ids[i]) * config_.buffer_bytes,
                          config_.buffer_bytes, ids[i], mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
}

void UringWorker::handleCompletion(const io_uring_cqe& cqe) {
  const auto op = static_cast<Op>(cqe.user_data >> 56);
  const auto index = static_cast<uint32_t>(cqe.user_data & 0xFFFFFFFFu);
  if (op == Op::Send) {
    --inflight_sends_;
    if (cqe.res < 0) {
      ++local_.send_errors;
    } else {
      ++local_.sent;
    }
    return;
  }
  if (op == Op::Wake) {
    return;  // stop() wrote the eventfd; the loop checks the flag
  }
  if (op != Op::Recv) {
    return;
  }
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    armed_[index] = 0;  // multishot ended (ENOBUFS, error or CQ overflow): re-arm later
  }
  if ((cqe.flags & IORING_CQE_F_BUFFER) == 0) {
    if (cqe.res < 0 && cqe.res != -ENOBUFS) {
      ++local_.recv_errors;
    }
    return;
  }
  const auto buffer_id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t* buffer = buffers_ + static_cast<size_t>(buffer_id) * config_.buffer_bytes;
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, cqe.res, &recv_msg_);
  if (cqe.res < 0 || out == nullptr || (out->flags & MSG_TRUNC) != 0 ||
      backlog_count_ >= config_.buffer_count) {
    if (cqe.res < 0 || out == nullptr) {
      ++local_.recv_errors;
    } else {
      ++local_.truncated;  // a cut SIP message is useless; drop it and say so
    }
    returnBuffers(&buffer_id, 1);
    return;
  }
  Pending& pending = backlog_[(backlog_head_ + backlog_count_) & (config_.buffer_count - 1)];
  ++backlog_count_;
  pending.buffer_id = buffer_id;
  RxPacket& packet = pending.packet;
  packet.data = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &recv_msg_));
  packet.length = std::min<uint32_t>(out->payloadlen,
                                     io_uring_recvmsg_payload_length(out, cqe.res, &recv_msg_));
  packet.local_index = static_cast<uint8_t>(index);
  packet.source = out->namelen >= sizeof(sockaddr_in)
                      ? net::Endpoint::fromSockaddr(
                            static_cast<const sockaddr*>(io_uring_recvmsg_name(out)))
                      : net::Endpoint{};
  packet.ttl = 0;
  for (cmsghdr* cmsg = io_uring_recvmsg_cmsg_firsthdr(out, &recv_msg_); cmsg != nullptr;
       cmsg = io_uring_recvmsg_cmsg_nexthdr(out, &recv_msg_, cmsg)) {
    const uint8_t ttl = ttlFromCmsg(cmsg);
    if (ttl != 0) {
      packet.ttl = ttl;
    }
  }
}

void UringWorker::reapCompletions() {
  io_uring_cqe* cqes[64];
  for (;;) {
    const unsigned count = io_uring_peek_batch_cqe(&ring_, cqes, 64);
    for (unsigned i = 0; i < count; ++i) {
      handleCompletion(*cqes[i]);
    }
    io_uring_cq_advance(&ring_, count);
    if (count < 64) {
      return;
    }
  }
}

void UringWorker::queueUringSends() {
  const std::span<TxPacket> ready = tx_->ready();
  for (uint32_t i = 0; i < ready.size(); ++i) {
    const TxPacket& packet = ready[i];
    const socklen_t name_length = packet.destination.toSockaddr(tx_addrs_[i]);
    if (packet.local_index >= fds_.size() || name_length == 0) {
      ++local_.send_errors;
      continue;
    }
    tx_iovs_[i] = iovec{packet.data, packet.length};
    msghdr& msg = tx_msgs_[i];
    msg = msghdr{};
    msg.msg_name = &tx_addrs_[i];
    msg.msg_namelen = name_length;
    msg.msg_iov = &tx_iovs_[i];
    msg.msg_iovlen = 1;
    io_uring_sqe* sqe = getSqe();
    if (sqe == nullptr) {
      ++local_.send_errors;
      continue;
    }
    io_uring_prep_sendmsg(sqe, fds_[packet.local_index], &msg, 0);
    io_uring_sqe_set_data64(sqe, userData(Op::Send, i));
    ++inflight_sends_;
  }
}

void UringWorker::runUringBurst(BurstHandler& handler) {
  const uint32_t count = std::min(backlog_count_, kMaxBurst);
  for (uint32_t i = 0; i < count; ++i) {
    const Pending& pending = backlog_[backlog_head_];
    rx_[i] = pending.packet;
    rx_buffer_ids_[i] = pending.buffer_id;
    backlog_head_ = (backlog_head_ + 1) & (config_.buffer_count - 1);
  }
  backlog_count_ -= count;

  const uint64_t now_ns = monotonicNs();
  tx_->clear();  // safe: the caller waits for every send of the previous burst first
  maybeIdleBeforeBurst(handler, now_ns);
  handler.processBurst(std::span<const RxPacket>(rx_, count), *tx_, now_ns);
  returnBuffers(rx_buffer_ids_, count);
  local_.received += count;
  ++local_.bursts;
  if (config_.send_mode == SendMode::Sendmmsg) {
    sendWithSendmmsg();
  } else {
    queueUringSends();
  }
}

void UringWorker::runUring(BurstHandler& handler) {
  while (!stop_.load(std::memory_order_acquire)) {
    reapCompletions();
    // TxBatch slots are reused by the next burst, so a burst starts only when the kernel has
    // finished with the last one's sends (UDP sends normally complete inside the submit).
    if (inflight_sends_ == 0 && backlog_count_ > 0) {
      runUringBurst(handler);
      armPendingReceives();
      // One syscall per burst: submits the sends and re-arms and, with DEFER_TASKRUN, runs
      // the pending receive completions so the next reap finds them.
      (void)io_uring_submit_and_get_events(&ring_);
      publish();
      continue;
    }
    armPendingReceives();
    if (inflight_sends_ > 0) {
      (void)io_uring_submit_and_wait(&ring_, 1);
      continue;
    }
    __kernel_timespec ts{};
    ts.tv_sec = config_.wait_timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(config_.wait_timeout_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    const int result = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (result == -ETIME) {
      const uint64_t now_ns = monotonicNs();
      last_idle_ns_ = now_ns;
      ++local_.idle;
      tx_->clear();
      handler.idle(*tx_, now_ns);
      if (tx_->size() > 0) {
        if (config_.send_mode == SendMode::Sendmmsg) {
          sendWithSendmmsg();
        } else {
          queueUringSends();
          (void)io_uring_submit(&ring_);
        }
      }
      publish();
    }
  }
  // Let in-flight sends finish before the TxBatch and descriptors go away.
  while (inflight_sends_ > 0) {
    if (io_uring_submit_and_wait(&ring_, 1) < 0) {
      break;
    }
    reapCompletions();
  }
}

// ---------------------------------------------------------------------------------------------
// Shared: sendmmsg transmit (fallback path, and SendMode::Sendmmsg on the io_uring path)

void UringWorker::sendWithSendmmsg() {
  const std::span<TxPacket> ready = tx_->ready();
  for (uint32_t socket = 0; socket < fds_.size(); ++socket) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < ready.size(); ++i) {
      const TxPacket& packet = ready[i];
      if (packet.local_index != socket) {
        continue;
      }
      const socklen_t name_length = packet.destination.toSockaddr(tx_addrs_[count]);
      if (name_length == 0) {
        ++local_.send_errors;
        continue;
      }
      tx_iovs_[count] = iovec{packet.data, packet.length};
      msghdr& msg = tx_mmsgs_[count].msg_hdr;
      msg = msghdr{};
      msg.msg_name = &tx_addrs_[count];
      msg.msg_namelen = name_length;
      msg.msg_iov = &tx_iovs_[count];
      msg.msg_iovlen = 1;
      ++count;
    }
    uint32_t done = 0;
    while (done < count) {
      const int result = sendmmsg(fds_[socket], &tx_mmsgs_[done], count - done, 0);
      if (result < 0) {
        if (errno == EINTR) {
          continue;
        }
        ++local_.send_errors;  // the first unsent message failed: skip it, keep the rest
        ++done;
        continue;
      }
      local_.sent += static_cast<uint64_t>(result);
      done += static_cast<uint32_t>(result);
    }
  }
  for (const TxPacket& packet : ready) {
    if (packet.local_index >= fds_.size()) {
      ++local_.send_errors;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// recvmmsg fallback path

void UringWorker::runMmsg(BurstHandler& handler) {
  std::vector<pollfd> pfds(fds_.size() + 1);
  for (size_t i = 0; i < fds_.size(); ++i) {
    pfds[i] = pollfd{fds_[i], POLLIN, 0};
  }
  pfds[fds_.size()] = pollfd{wake_fd_, POLLIN, 0};
  const uint32_t payload = config_.buffer_bytes - kRecvHeaderBytes;
  uint32_t first_socket = 0;

  while (!stop_.load(std::memory_order_acquire)) {
    uint32_t count = 0;
    // Rotate the starting socket so a busy first socket cannot starve the others.
    for (uint32_t k = 0; k < fds_.size() && count < kMaxBurst; ++k) {
      const uint32_t socket = (first_socket + k) % static_cast<uint32_t>(fds_.size());
      for (uint32_t i = count; i < kMaxBurst; ++i) {
        msghdr& msg = rx_mmsgs_[i].msg_hdr;
        msg.msg_name = &rx_addrs_[i];
        msg.msg_namelen = sizeof(sockaddr_storage);
        msg.msg_iov = &rx_iovs_[i];
        msg.msg_iovlen = 1;
        msg.msg_control = rx_control_.data() + static_cast<size_t>(i) * kRecvControlBytes;
        msg.msg_controllen = kRecvControlBytes;
        msg.msg_flags = 0;
      }
      const int result =
          recvmmsg(fds_[socket], &rx_mmsgs_[count], kMaxBurst - count, MSG_DONTWAIT, nullptr);
      if (result < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          ++local_.recv_errors;
        }
        continue;
      }
      for (int i = 0; i < result; ++i) {
        const uint32_t slot = count + static_cast<uint32_t>(i);
        mmsghdr& message = rx_mmsgs_[slot];
        if ((message.msg_hdr.msg_flags & MSG_TRUNC) != 0 || message.msg_len > payload) {
          ++local_.truncated;
          continue;
        }
        RxPacket& packet = rx_[slot];
        packet.data = static_cast<const uint8_t*>(message.msg_hdr.msg_iov->iov_base);
        packet.length = message.msg_len;
        packet.local_index = static_cast<uint8_t>(socket);
        packet.source =
            net::Endpoint::fromSockaddr(static_cast<const sockaddr*>(message.msg_hdr.msg_name));
        packet.ttl = 0;
        for (cmsghdr* cmsg = CMSG_FIRSTHDR(&message.msg_hdr); cmsg != nullptr;
             cmsg = CMSG_NXTHDR(&message.msg_hdr, cmsg)) {
          const uint8_t ttl = ttlFromCmsg(cmsg);
          if (ttl != 0) {
            packet.ttl = ttl;
          }
        }
      }
      count += static_cast<uint32_t>(result);
    }
    first_socket = (first_socket + 1) % static_cast<uint32_t>(fds_.size());

    if (count == 0) {
      const int ready = poll(pfds.data(), pfds.size(), static_cast<int>(config_.wait_timeout_ms));
      if (ready == 0) {
        const uint64_t now_ns = monotonicNs();
        last_idle_ns_ = now_ns;
        ++local_.idle;
        tx_->clear();
        handler.idle(*tx_, now_ns);
        sendWithSendmmsg();
        publish();
      }
      continue;
    }

    // Drop truncated entries (their length exceeded the room) from the burst.
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; ++i) {
      const mmsghdr& message = rx_mmsgs_[i];
      if ((message.msg_hdr.msg_flags & MSG_TRUNC) != 0 || message.msg_len > payload) {
        continue;
      }
      rx_[kept++] = rx_[i];
    }
    const uint64_t now_ns = monotonicNs();
    tx_->clear();
    maybeIdleBeforeBurst(handler, now_ns);
    if (kept > 0) {
      handler.processBurst(std::span<const RxPacket>(rx_, kept), *tx_, now_ns);
      local_.received += kept;
      ++local_.bursts;
    }
    sendWithSendmmsg();
    publish();
  }
}

}  // namespace sipshield::io
