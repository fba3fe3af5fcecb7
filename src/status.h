#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sipshield {

// StatusCode names why a start-up or control-plane operation failed, with absl's meanings.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,    // the caller's input (config, address) is wrong
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // e.g. the address is already bound by someone else
  kResourceExhausted,  // memory, file descriptors, locked pages
  kFailedPrecondition, // the system is not in a state that allows it (e.g. kernel lacks a feature)
  kUnavailable,        // a transient condition; retrying may succeed
  kInternal,           // an invariant broke; a bug
  kUnimplemented,      // not supported on this build or platform
};

// statusCodeName returns the code's name without the leading k, e.g. "InvalidArgument".
// Thread-safe (returns a static string).
[[nodiscard]] std::string_view statusCodeName(StatusCode code);

// Status is the outcome of a start-up or control-plane operation: a code and, when not ok, a
// message for humans. Never used on the fast path (it may allocate). A value type; not
// synchronised.
class [[nodiscard]] Status {
 public:
  // Status() is ok.
  Status() = default;
  // Status(code, message) builds an error (or ok when code is kOk; the message is kept).
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // okStatus returns an ok Status; reads better than Status{} at return sites.
  static Status okStatus() { return Status(); }

  // ok is true when the operation succeeded.
  [[nodiscard]] bool ok() const { return code_ == StatusCode::kOk; }
  // code returns the error code (kOk on success).
  [[nodiscard]] StatusCode code() const { return code_; }
  // message returns the human-readable reason ("" on success).
  [[nodiscard]] const std::string& message() const { return message_; }
  // toString returns "OK" or "<CodeName>: <message>".
  [[nodiscard]] std::string toString() const {
    if (ok()) {
      return "OK";
    }
    std::string out(statusCodeName(code_));
    out += ": ";
    out += message_;
    return out;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::string_view statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kUnimplemented: return "Unimplemented";
  }
  return "Unknown";
}

}  // namespace sipshield
