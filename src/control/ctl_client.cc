#include "src/control/ctl_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipshield::control {
namespace {

// Fd closes the socket however sendCommand returns.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

int64_t nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<nlohmann::json> sendCommand(const std::string& socket_path, const nlohmann::json& request,
                                   int timeout_ms) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(address.sun_path)) {
    return invalidArgument("bad control socket path: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  Fd sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) {
    return unavailable(std::string("socket: ") + std::strerror(errno));
  }
  if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    std::string message = "cannot connect to " + socket_path + ": " + std::strerror(error);
    if (error == EACCES || error == EPERM) {
      return Status(StatusCode::kFailedPrecondition,
                    message + " (run as root or as a member of the socket's group)");
    }
    message += " (is sipshield running?)";
    return error == ENOENT ? notFound(message) : unavailable(message);
  }
  std::string line = request.dump() + "\n";
  for (size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(sock.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return unavailable("sending to " + socket_path + ": " + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  const int64_t deadline = nowMs() + timeout_ms;
  char buffer[16 * 1024];
  while (answer.find('\n') == std::string::npos) {
    const int64_t left = deadline - nowMs();
    pollfd p{sock.fd, POLLIN, 0};
    int ready = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return unavailable("no answer from " + socket_path + " within " +
                         std::to_string(timeout_ms) + " ms");
    }
    ssize_t n = ::recv(sock.fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return unavailable("sipshield closed the control connection without an answer");
    }
    answer.append(buffer, static_cast<size_t>(n));
  }
  answer.resize(answer.find('\n'));
  nlohmann::json parsed = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return internalError("the answer is not JSON: " + answer.substr(0, 200));
  }
  return parsed;
}

}  // namespace sipshield::control
