#include "src/control/event_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sipshield::control {
namespace {

uint64_t steadyMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace

std::string utcTimestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char text[40];
  size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(text + n, sizeof(text) - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return text;
}

EventLog::EventLog(EventLogLimits limits, MonotonicClock clock)
    : limits_(limits), clock_(clock ? std::move(clock) : MonotonicClock(steadyMs)),
      tokens_(limits.burst) {
  last_refill_ms_ = clock_();
}

EventLog::~EventLog() {
  flushSuppressed();
  if (fd_ != 2) {
    ::close(fd_);
  }
}

Status EventLog::open(const std::string& destination) {
  std::lock_guard lock(mutex_);
  if (destination.empty() || destination == "stderr") {
    if (fd_ != 2) {
      ::close(fd_);
    }
    fd_ = 2;
    path_.clear();
    return Status::ok();
  }
  int fd = ::open(destination.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return unavailable("log.events: cannot open " + destination + ": " + std::strerror(errno));
  }
  if (fd_ != 2) {
    ::close(fd_);
  }
  fd_ = fd;
  path_ = destination;
  return Status::ok();
}

Status EventLog::reopen() {
  std::string path;
  {
    std::lock_guard lock(mutex_);
    path = path_;
  }
  return path.empty() ? Status::ok() : open(path);
}

bool EventLog::takeToken() {
  const uint64_t now = clock_();
  if (now > last_refill_ms_) {
    tokens_ = std::min(limits_.burst,
                       tokens_ + static_cast<double>(now - last_refill_ms_) * limits_.rate_per_s /
                                     1000.0);
    last_refill_ms_ = now;
  }
  if (tokens_ < 1.0) {
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

bool EventLog::writeLine(const std::string& line) {
  // One write per line: O_APPEND makes it atomic with respect to other appenders.
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(line.size());
}

bool EventLog::log(std::string_view event, const nlohmann::json& fields) {
  std::lock_guard lock(mutex_);
  if (!takeToken()) {
    ++pending_suppressed_;
    ++suppressed_total_;
    return false;
  }
  nlohmann::ordered_json line;
  line["ts"] = utcTimestamp();
  line["event"] = std::string(event);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (key != "ts" && key != "event") {
        line[key] = value;
      }
    }
  }
  if (pending_suppressed_ > 0) {
    line["suppressed"] = pending_suppressed_;
    pending_suppressed_ = 0;
  }
  // Invalid UTF-8 in a detail (e.g. a hostile header echoed in a rule error) is replaced
  // rather than throwing: the log must never take the daemon down.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  bool ok = writeLine(text);
  written_ += ok ? 1 : 0;
  return ok;
}

bool EventLog::log(std::string_view event, std::string_view detail) {
  return log(event, nlohmann::json{{"detail", std::string(detail)}});
}

void EventLog::flushSuppressed() {
  std::lock_guard lock(mutex_);
  if (pending_suppressed_ == 0 || !takeToken()) {
    return;
  }
  nlohmann::ordered_json line;
  line["ts"] = utcTimestamp();
  line["event"] = "events_suppressed";
  line["count"] = pending_suppressed_;
  pending_suppressed_ = 0;
  if (writeLine(line.dump() + "\n")) {
    ++written_;
  }
}

uint64_t EventLog::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

uint64_t EventLog::suppressed() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

}  // namespace sipshield::control
