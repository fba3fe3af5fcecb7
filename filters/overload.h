#pragma once

#include <atomic>
#include <cstdint>

#include "filters/packet_meta.h"

namespace sipshield::filters {

// OverloadConfig is the [shield.overload] rule: when the process is overloaded, new requests
// from unverified sources are shed first — a stateless 503 with Retry-After by default, or a
// drop. Responses, in-dialog requests (with a To-tag) and trusted sources always go on;
// verified sources go on unless `shed_verified`. Two signals say "overloaded":
//  - a worker's receive bursts stay full (the socket queue is where legitimate calls die
//    first): enter_fullness / exit_fullness, per worker;
//  - the backends say so: the share of 503s among the responses relayed from backends in a
//    window reaches backend_503_enter (with at least backend_min_responses responses), and it
//    ends when the share falls to backend_503_exit or no worker renews it for two windows.
//    Shared by every worker (a backend's responses reach one worker, its callers others).
struct OverloadConfig {
  RuleHeader header{"overload", {ActionKind::Reply, 300, 32, 128, 503, 5}, false, 0xffff};
  bool enabled = false;
  double enter_fullness = 0.8;  // smoothed burst fullness (0..1) that starts shedding
  double exit_fullness = 0.5;   // ... and that stops it (hysteresis)
  uint8_t shed_methods = bit(MethodClass::Invite);  // bit(MethodClass) of new requests shed
  bool shed_verified = false;
  double backend_503_enter = 0.2;      // share of backend responses that are 503: start ...
  double backend_503_exit = 0.05;      // ... and stop (hysteresis); enter > exit
  uint32_t backend_window_ms = 1000;   // the share is measured per window
  uint32_t backend_min_responses = 20; // fewer responses in a window are no evidence
};

// BackendLoadSignal is the process-wide "backends are overloaded" flag: the time until which
// the workers' 503 detectors last said so. Thread-safety: any thread, lock-free (one atomic
// word, written at most a few times per window per worker, read once per shed decision).
class BackendLoadSignal {
 public:
  // extend keeps the signal on until at least `until_ms`.
  void extend(uint64_t until_ms) {
    uint64_t current = until_ms_.load(std::memory_order_relaxed);
    while (current < until_ms &&
           !until_ms_.compare_exchange_weak(current, until_ms, std::memory_order_relaxed)) {
    }
  }
  // activeAt says whether the signal is on at `now_ms`.
  [[nodiscard]] bool activeAt(uint64_t now_ms) const {
    return until_ms_.load(std::memory_order_relaxed) > now_ms;
  }

 private:
  std::atomic<uint64_t> until_ms_{0};
};

// OverloadDetector is one worker's overload view: its burst fullness (an exponentially
// weighted moving average over ~16 bursts) with hysteresis, and its share of 503s among the
// backend responses it relays, which it publishes to the shared BackendLoadSignal.
// Not thread-safe (one per worker); the signal it points to is shared.
class OverloadDetector {
 public:
  OverloadDetector() = default;
  OverloadDetector(const OverloadDetector&) = delete;
  OverloadDetector& operator=(const OverloadDetector&) = delete;

  // observeBurst feeds one burst of `size` packets out of at most `capacity`.
  void observeBurst(const OverloadConfig& config, uint32_t size, uint32_t capacity) {
    const double fullness = capacity == 0 ? 0.0 : static_cast<double>(size) / capacity;
    smoothed_ += (fullness - smoothed_) / 16.0;
    if (!overloaded_ && smoothed_ >= config.enter_fullness) {
      overloaded_ = true;
    } else if (overloaded_ && smoothed_ <= config.exit_fullness) {
      overloaded_ = false;
    }
  }

  // observeBackendResponse counts one response relayed from a backend at `now_ms` (`is_503`:
  // its status is 503). At the end of each backend_window_ms window the share of 503s decides
  // (with hysteresis) whether this worker sees the backends overloaded; while it does, it
  // keeps the shared signal on for two more windows. Within a window the signal is switched
  // on as soon as the share and count already suffice (not off: that waits for the window).
  void observeBackendResponse(const OverloadConfig& config, bool is_503, uint64_t now_ms) {
    if (window_start_ms_ == 0 || now_ms - window_start_ms_ >= config.backend_window_ms ||
        now_ms < window_start_ms_) {
      closeWindow(config, now_ms);
    }
    ++responses_;
    if (is_503) {
      ++fives_;
      if (!backend_overloaded_ && responses_ >= config.backend_min_responses &&
          static_cast<double>(fives_) >= config.backend_503_enter * responses_) {
        backend_overloaded_ = true;
        signal().extend(now_ms + 2 * uint64_t{config.backend_window_ms});
      }
    }
  }

  // attach makes this detector publish to and read the shared `signal` (which must outlive
  // it) instead of its own. Before the worker runs.
  void attach(BackendLoadSignal* signal) { shared_ = signal; }

  // force overrides the signal (tests, or an operator: sipshieldctl overload on|off|auto).
  void force(int mode) { forced_ = mode; }
  // overloaded says whether new requests from unverified sources are shed at `now_ms`: the
  // forced mode, else this worker's full bursts or the shared backend signal.
  [[nodiscard]] bool overloaded(uint64_t now_ms) const {
    if (forced_ >= 0) {
      return forced_ > 0;
    }
    return overloaded_ || signal().activeAt(now_ms);
  }
  // burstOverloaded / backendOverloaded are the two signals apart (this worker's view).
  [[nodiscard]] bool burstOverloaded() const { return overloaded_; }
  [[nodiscard]] bool backendSignal(uint64_t now_ms) const { return signal().activeAt(now_ms); }
  [[nodiscard]] double smoothed() const { return smoothed_; }

 private:
  BackendLoadSignal& signal() { return shared_ != nullptr ? *shared_ : own_; }
  const BackendLoadSignal& signal() const { return shared_ != nullptr ? *shared_ : own_; }

  void closeWindow(const OverloadConfig& config, uint64_t now_ms) {
    if (responses_ >= config.backend_min_responses) {
      const double share = static_cast<double>(fives_) / responses_;
      if (!backend_overloaded_ && share >= config.backend_503_enter) {
        backend_overloaded_ = true;
      } else if (backend_overloaded_ && share <= config.backend_503_exit) {
        backend_overloaded_ = false;
      }
      if (backend_overloaded_) {
        signal().extend(now_ms + 2 * uint64_t{config.backend_window_ms});
      }
    }
    // Too few responses say nothing either way: the signal lapses unless renewed.
    window_start_ms_ = now_ms;
    responses_ = 0;
    fives_ = 0;
  }

  double smoothed_ = 0;
  bool overloaded_ = false;
  int forced_ = -1;  // -1 auto, 0 off, 1 on
  bool backend_overloaded_ = false;  // this worker's 503 verdict (hysteresis state)
  uint64_t window_start_ms_ = 0;
  uint32_t responses_ = 0;
  uint32_t fives_ = 0;
  BackendLoadSignal own_;
  BackendLoadSignal* shared_ = nullptr;
};

}  // namespace sipshield::filters
