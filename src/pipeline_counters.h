#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace sipshield {

// What happened to packets, named for the event (STYLE.md "Counters, not logs"). One list makes
// the enum, the metric names and the per-worker counter array.
#define SIPSHIELD_PIPELINE_COUNTERS(X)                                                         \
  X(Received, "received")                   /* datagrams handed to the pipeline */            \
  X(ForwardedRequests, "forwarded_requests")   /* requests sent on to a backend or client */  \
  X(ForwardedResponses, "forwarded_responses") /* responses sent back down their Via path */  \
  X(RepliedTooManyHops, "replied_483")      /* Max-Forwards 0: stateless 483 */               \
  X(RepliedNoBackend, "replied_503")        /* no backend takes calls: stateless 503 */       \
  X(Keepalive, "keepalive")                 /* CRLF keepalives, absorbed */                   \
  X(DroppedMalformed, "dropped_malformed")  /* scanner verdict Invalid */                     \
  X(DroppedTruncated, "dropped_truncated")  /* datagram ended inside the message */           \
  X(DroppedSpoofedResponse, "dropped_spoofed_response") /* top Via not ours / bad MAC */      \
  X(DroppedNoRoute, "dropped_no_route")     /* no IP-literal next hop (no DNS in the path) */ \
  X(DroppedNoBackend, "dropped_no_backend") /* ACK or 503 impossible and no backend */        \
  X(DroppedTooLarge, "dropped_too_large")   /* rewritten message exceeds a datagram */        \
  X(DroppedTxFull, "dropped_tx_full")       /* transmit batch full */                         \
  X(DroppedLoop, "dropped_loop")            /* our own Via on a request: a forwarding loop */ \
  X(DroppedMaxForwards, "dropped_max_forwards") /* ACK with Max-Forwards 0 (no reply to ACK) */

enum class PipelineCounter : uint8_t {
#define SIPSHIELD_PIPELINE_COUNTER_ENUM(name, text) name,
  SIPSHIELD_PIPELINE_COUNTERS(SIPSHIELD_PIPELINE_COUNTER_ENUM)
#undef SIPSHIELD_PIPELINE_COUNTER_ENUM
      Count
};

inline constexpr size_t kPipelineCounterCount = static_cast<size_t>(PipelineCounter::Count);

// pipelineCounterName returns the metric name of `counter`.
[[nodiscard]] std::string_view pipelineCounterName(PipelineCounter counter);

// PipelineCounters belong to one worker: it alone writes them (relaxed load + store, no locked
// instruction); the control plane reads them from another thread.
struct alignas(64) PipelineCounters {
  std::atomic<uint64_t> values[kPipelineCounterCount] = {};

  void add(PipelineCounter counter, uint64_t n = 1) {
    auto& v = values[static_cast<size_t>(counter)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t get(PipelineCounter counter) const {
    return values[static_cast<size_t>(counter)].load(std::memory_order_relaxed);
  }
};

}  // namespace sipshield
