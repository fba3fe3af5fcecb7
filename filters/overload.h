#pragma once

#include <cstdint>

#include "filters/packet_meta.h"

namespace sipshield::filters {

// OverloadConfig is the [shield.overload] rule: when a worker is overloaded (its receive bursts
// stay full: the socket queue is where legitimate calls die first), new requests from
// unverified sources are shed first — a stateless 503 with Retry-After by default, or a drop.
// Responses, in-dialog requests (with a To-tag) and trusted sources always go on; verified
// sources go on unless `shed_verified`.
struct OverloadConfig {
  RuleHeader header{"overload", {ActionKind::Reply, 300, 32, 128, 503, 5}, false, 0xffff};
  bool enabled = false;
  double enter_fullness = 0.8;  // smoothed burst fullness (0..1) that starts shedding
  double exit_fullness = 0.5;   // ... and that stops it (hysteresis)
  uint8_t shed_methods = bit(MethodClass::Invite);  // bit(MethodClass) of new requests shed
  bool shed_verified = false;
};

// OverloadDetector smooths one worker's burst fullness (an exponentially weighted moving
// average over ~16 bursts) into an overloaded flag with hysteresis. Not thread-safe.
class OverloadDetector {
 public:
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
  // force overrides the signal (tests, or an operator: sipshieldctl overload on|off|auto).
  void force(int mode) { forced_ = mode; }
  [[nodiscard]] bool overloaded() const { return forced_ < 0 ? overloaded_ : forced_ > 0; }
  [[nodiscard]] double smoothed() const { return smoothed_; }

 private:
  double smoothed_ = 0;
  bool overloaded_ = false;
  int forced_ = -1;  // -1 auto, 0 off, 1 on
};

}  // namespace sipshield::filters
