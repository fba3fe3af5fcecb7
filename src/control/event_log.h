#pragma once

// The JSON-lines event log: control-plane events (backends up/down, drains, reloads, bans set
// and lifted, rule errors), one object per line, to stderr or a file. Never used per packet.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/status.h"

namespace sipshield::control {

// EventLogLimits is the token bucket that keeps a flood of events (e.g. a ban per attacking
// source) from filling the disk: `rate_per_s` lines a second on average, `burst` at once.
struct EventLogLimits {
  double rate_per_s = 100.0;
  double burst = 200.0;
};

// EventLog writes one JSON object per line: {"ts":"2024-05-01T12:00:00.123Z","event":"...",
// ...fields}. Lines over the rate limit are dropped and counted; the next line that gets
// through carries "suppressed":N (lines dropped since the previous written line), and
// flushSuppressed() writes a separate {"event":"events_suppressed","count":N} line so a count
// is not lost when no further event comes.
//
// Thread-safety: every method may be called from any thread (one mutex; events are rare and
// never on the fast path). Each line is written with a single write(2), so lines from this and
// other processes appending to the same file do not interleave.
class EventLog {
 public:
  // MonotonicClock returns milliseconds on a monotonic clock (the rate limiter's time base).
  using MonotonicClock = std::function<uint64_t()>;

  // EventLog writes to stderr until open() succeeds. `clock` (default CLOCK_MONOTONIC) is
  // injectable so tests can drive the token bucket.
  explicit EventLog(EventLogLimits limits = {}, MonotonicClock clock = {});
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // open directs the log to `destination`: "stderr" (or "") for standard error, else a file
  // path opened for appending (created 0640 if missing). Returns kUnavailable, with the path
  // and errno text, when the file cannot be opened; the log then stays where it was.
  Status open(const std::string& destination);

  // reopen closes and reopens the current file (after logrotate moved it). A no-op for stderr.
  // Returns what open() returns.
  Status reopen();

  // log writes {"ts":...,"event":`event`, ...`fields`} if the rate limit allows. `fields`
  // must be a JSON object (or null for none); keys "ts" and "event" in it are ignored.
  // Returns true when the line was written, false when it was suppressed or the write failed.
  bool log(std::string_view event, const nlohmann::json& fields = nullptr);

  // log(event, detail) is log(event, {"detail": detail}), the daemon's usual shape.
  bool log(std::string_view event, std::string_view detail);

  // flushSuppressed writes an "events_suppressed" line when lines were dropped and the limiter
  // has a token again. Call it now and then (the daemon does, every control tick) and at exit.
  void flushSuppressed();

  // written and suppressed count lines written and dropped since construction.
  [[nodiscard]] uint64_t written() const;
  [[nodiscard]] uint64_t suppressed() const;

 private:
  bool takeToken();  // mutex held
  bool writeLine(const std::string& line);  // mutex held

  mutable std::mutex mutex_;
  EventLogLimits limits_;
  MonotonicClock clock_;
  std::string path_;  // "" = stderr
  int fd_ = 2;
  double tokens_;
  uint64_t last_refill_ms_ = 0;
  uint64_t pending_suppressed_ = 0;
  uint64_t written_ = 0;
  uint64_t suppressed_total_ = 0;
};

// utcTimestamp formats the current wall-clock time as "2024-05-01T12:00:00.123Z". Thread-safe.
[[nodiscard]] std::string utcTimestamp();

}  // namespace sipshield::control
