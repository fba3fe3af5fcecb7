#pragma once

// A per-worker latency histogram of pipeline bursts, for the Prometheus
// sipshield_burst_duration_seconds histogram. One worker writes, the control plane reads.

#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "src/packet.h"

namespace sipshield::control {

// kBurstBucketBoundsNs are the histogram's upper bucket bounds in nanoseconds (le="..."):
// a burst of 32 small SIP messages takes a few microseconds; tens of milliseconds mean the
// worker stalled (page faults, preemption), which is what an operator wants to see.
inline constexpr std::array<uint64_t, 14> kBurstBucketBoundsNs = {
    1'000,   2'000,   5'000,     10'000,    20'000,    50'000,     100'000,
    200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000, 50'000'000};

// BurstHistogramSnapshot is a plain copy of a histogram for the control plane. `buckets[i]`
// counts observations <= kBurstBucketBoundsNs[i] and > the bound before it (not cumulative);
// `buckets.back()` counts observations above the last bound (+Inf).
struct BurstHistogramSnapshot {
  std::array<uint64_t, kBurstBucketBoundsNs.size() + 1> buckets = {};
  uint64_t count = 0;
  uint64_t sum_ns = 0;

  // operator+= adds `other` bucket by bucket (to sum workers).
  BurstHistogramSnapshot& operator+=(const BurstHistogramSnapshot& other) {
    for (size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += other.buckets[i];
    }
    count += other.count;
    sum_ns += other.sum_ns;
    return *this;
  }
};

// BurstHistogram is a fixed-bucket histogram of durations.
// Thread-safety: record() is for one writer thread (the worker); it uses relaxed load + store,
// no locked instruction. snapshot() may be called from any thread at any time; it may see a
// burst in `count` before its bucket (a torn read between fields), which is harmless for
// monitoring. Nothing allocates.
class alignas(64) BurstHistogram {
 public:
  // record adds one observation of `duration_ns` nanoseconds. Single writer only.
  void record(uint64_t duration_ns) {
    size_t i = 0;
    while (i < kBurstBucketBoundsNs.size() && duration_ns > kBurstBucketBoundsNs[i]) {
      ++i;
    }
    bump(buckets_[i], 1);
    bump(sum_ns_, duration_ns);
    bump(count_, 1);
  }

  // snapshot returns a copy of the counts. Any thread.
  [[nodiscard]] BurstHistogramSnapshot snapshot() const {
    BurstHistogramSnapshot out;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    out.count = count_.load(std::memory_order_relaxed);
    out.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  static void bump(std::atomic<uint64_t>& v, uint64_t n) {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kBurstBucketBoundsNs.size() + 1> buckets_ = {};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// TimedBurstHandler wraps a worker's BurstHandler and records how long each processBurst takes
// into its own BurstHistogram, so the pipeline itself needs no timing code. `Inner` is the
// concrete handler type (a `final` class, so the inner calls are direct, not virtual): the
// cost is one vDSO clock read per burst, never per packet. `now_ns` is the worker's
// CLOCK_MONOTONIC reading taken just before the burst, so it serves as the start time.
// Thread-safety: as BurstHandler (one worker thread); histogram() may be read from any thread.
template <typename Inner>
class TimedBurstHandler final : public BurstHandler {
 public:
  // TimedBurstHandler takes ownership of `inner` (must not be null).
  explicit TimedBurstHandler(std::unique_ptr<Inner> inner) : inner_(std::move(inner)) {}

  void processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t now_ns) override {
    inner_->processBurst(packets, tx, now_ns);
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const uint64_t end_ns =
        static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
    histogram_.record(end_ns > now_ns ? end_ns - now_ns : 0);
  }
  void idle(TxBatch& tx, uint64_t now_ns) override { inner_->idle(tx, now_ns); }

  // histogram returns this worker's burst durations. Any thread may read it.
  [[nodiscard]] const BurstHistogram& histogram() const { return histogram_; }
  // inner returns the wrapped handler.
  [[nodiscard]] Inner& inner() { return *inner_; }

 private:
  std::unique_ptr<Inner> inner_;
  BurstHistogram histogram_;
};

}  // namespace sipshield::control
