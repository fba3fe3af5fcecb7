#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace sipshield::lb {

// StatusCode mirrors the absl codes lb/ needs. It exists because lb/ only links the Abseil hash
// libraries and config-time errors do not justify pulling in absl::Status.
enum class StatusCode : uint8_t {
  Ok,
  InvalidArgument,
  NotFound,
  AlreadyExists,
  ResourceExhausted,
  FailedPrecondition,
};

// statusCodeName returns a stable lower-case name for `code`, for error messages and logs.
// Thread-safe. Never returns null.
[[nodiscard]] constexpr const char* statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::Ok:
      return "ok";
    case StatusCode::InvalidArgument:
      return "invalid_argument";
    case StatusCode::NotFound:
      return "not_found";
    case StatusCode::AlreadyExists:
      return "already_exists";
    case StatusCode::ResourceExhausted:
      return "resource_exhausted";
    case StatusCode::FailedPrecondition:
      return "failed_precondition";
  }
  return "unknown";
}

// Status is the outcome of a control-plane operation in lb/: Ok, or a code plus a message for
// the operator. It allocates (the message), so it is never used on the per-packet path.
// Thread-compatible value type.
class [[nodiscard]] Status {
 public:
  // Status() is Ok.
  Status() = default;
  // Status(code, message) makes an error; `code` should not be Ok.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // okStatus returns an Ok status; reads better at return sites than `Status()`.
  static Status okStatus() { return Status(); }

  [[nodiscard]] bool ok() const { return code_ == StatusCode::Ok; }
  [[nodiscard]] StatusCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }
  // toString returns "code: message" (or "ok").
  [[nodiscard]] std::string toString() const {
    if (ok()) {
      return "ok";
    }
    return std::string(statusCodeName(code_)) + ": " + message_;
  }

 private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

// Result<T> holds either a T or an error Status (never an Ok status without a value), in the
// spirit of absl::StatusOr. Thread-compatible value type.
template <typename T>
class [[nodiscard]] Result {
 public:
  // Result(value) holds a value.
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit like absl::StatusOr.
  // Result(status) holds an error; `status` must not be ok().
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
  // status returns Ok when a value is held, else the error.
  [[nodiscard]] Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  // value returns the held value; calling it on an error is a programming error.
  [[nodiscard]] T& value() & { return std::get<T>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<T>(v_); }
  [[nodiscard]] T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sipshield::lb
