#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sipshield {

// Status and Result<T> are the start-up and control-plane error types (absl-style codes).
// Never used on the fast path: they may allocate.

// StatusCode names why an operation failed, with absl's meanings.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // the caller's input (config, address) is wrong
  kNotFound,            // a named thing (file, backend) does not exist
  kAlreadyExists,       // e.g. the address is already bound by someone else
  kResourceExhausted,   // memory, file descriptors, locked pages
  kFailedPrecondition,  // the system is not in a state that allows it (kernel lacks a feature)
  kUnavailable,         // a transient or environmental condition; retrying may succeed
  kInternal,            // an invariant broke; a bug
  kUnimplemented,       // not supported on this build or platform
};

// statusCodeName returns the code's name without the leading k, e.g. "InvalidArgument".
// Thread-safe (returns a static string).
[[nodiscard]] inline std::string_view statusCodeName(StatusCode code) {
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

// Status is the outcome of an operation: a code and, when not ok, a message for humans.
// A value type; not synchronised.
class [[nodiscard]] Status {
 public:
  // Status() is ok.
  Status() = default;
  // Status(code, message) builds an error (or ok when code is kOk).
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // ok returns an ok Status.
  static Status ok() { return Status(); }

  // isOk is true when the operation succeeded.
  [[nodiscard]] bool isOk() const { return code_ == StatusCode::kOk; }
  // code returns the error code (kOk on success).
  [[nodiscard]] StatusCode code() const { return code_; }
  // message returns the human-readable reason ("" on success).
  [[nodiscard]] const std::string& message() const { return message_; }
  // toString returns "OK" or "<CodeName>: <message>".
  [[nodiscard]] std::string toString() const {
    if (isOk()) {
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

// Shorthands for the common error codes.
[[nodiscard]] inline Status invalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
[[nodiscard]] inline Status notFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
[[nodiscard]] inline Status unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
[[nodiscard]] inline Status internalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

// Result<T> is a T or the Status saying why there is none. Built implicitly from either.
// Accessing value() of an error Result is a bug (std::optional's rules apply).
template <typename T>
class [[nodiscard]] Result {
 public:
  // Result(value) holds a value; the status is ok.
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // Result(status) holds an error; `status` must not be ok (an ok one becomes kInternal).
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.isOk()) {
      status_ = Status(StatusCode::kInternal, "Result built from an ok Status without a value");
    }
  }

  // isOk is true when a value is held.
  [[nodiscard]] bool isOk() const { return value_.has_value(); }
  // status returns ok, or the error.
  [[nodiscard]] const Status& status() const { return status_; }
  // value returns the held value; only valid when isOk().
  [[nodiscard]] T& value() & { return *value_; }
  [[nodiscard]] const T& value() const& { return *value_; }
  [[nodiscard]] T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sipshield
