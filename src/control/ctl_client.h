#pragma once

// The client side of the control socket, used by sipshieldctl and the tests.

#include <string>

#include <nlohmann/json.hpp>

#include "src/status.h"

namespace sipshield::control {

// kDefaultControlSocket is the socket path when neither the config nor -s names one; it
// matches ControlConfig's default.
inline constexpr const char* kDefaultControlSocket = "/run/sipshield/control.sock";

// sendCommand connects to the control socket at `socket_path`, sends `request` as one line
// and returns the one-line answer parsed as JSON (which may be {"error":...}: the caller
// decides what that means). Thread-safe (no shared state); blocks up to `timeout_ms` for the
// answer.
// Returns kNotFound / kUnavailable / kFailedPrecondition with the message
// "cannot connect to PATH: <errno text> (is sipshield running?)" (or a hint about
// permissions) when no daemon answers, kUnavailable on a timeout or a connection closed
// without an answer, kInternal when the answer is not JSON.
[[nodiscard]] Result<nlohmann::json> sendCommand(const std::string& socket_path,
                                                 const nlohmann::json& request,
                                                 int timeout_ms = 10000);

}  // namespace sipshield::control
