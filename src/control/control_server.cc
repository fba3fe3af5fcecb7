#include "src/control/control_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sipshield::control {
namespace {

std::string errnoText(const std::string& what, const std::string& path) {
  return "control.socket: " + what + " " + path + ": " + std::strerror(errno);
}

bool fillAddress(const std::string& path, sockaddr_un& address) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return false;
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return true;
}

// liveListener reports whether something accepts connections on `path` (another daemon).
bool liveListener(const sockaddr_un& address) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

ControlServer::ControlServer(ControlServerLimits limits) : limits_(limits) {}

ControlServer::~ControlServer() { close(); }

Status ControlServer::open(const std::string& path) {
  if (listen_fd_ >= 0) {
    return Status(StatusCode::kFailedPrecondition, "control socket already open");
  }
  sockaddr_un address;
  if (path.empty() || !fillAddress(path, address)) {
    return invalidArgument("control.socket: path must be 1.." +
                           std::to_string(sizeof(address.sun_path) - 1) + " bytes: " + path);
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return unavailable("control.socket: cannot create directory " + parent.string() + ": " +
                         ec.message());
    }
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status(StatusCode::kAlreadyExists,
                    "control.socket: " + path + " exists and is not a socket");
    }
    if (liveListener(address)) {
      return Status(StatusCode::kAlreadyExists,
                    "control.socket: " + path + " is in use (is another sipshield running?)");
    }
    // A socket file nobody listens on is left over from a daemon that did not exit cleanly.
    if (::unlink(path.c_str()) != 0) {
      return unavailable(errnoText("cannot remove stale socket", path));
    }
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return unavailable(errnoText("socket() for", path));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    Status s = unavailable(errnoText("cannot bind", path));
    ::close(fd);
    return s;
  }
  // Connecting to a Unix socket needs write permission on it: 0660 limits control to the
  // daemon's user and group.
  if (::chmod(path.c_str(), 0660) != 0 || ::listen(fd, 16) != 0) {
    Status s = unavailable(errnoText("cannot set up", path));
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  listen_fd_ = fd;
  path_ = path;
  return Status::ok();
}

void ControlServer::close() {
  for (Client& c : clients_) {
    ::close(c.fd);
  }
  clients_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
  path_.clear();
}

void ControlServer::acceptAll(uint64_t now_ms) {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN (none left) or a transient error; try again next tick
    }
    if (clients_.size() >= limits_.max_clients) {
      static constexpr char kBusy[] = "{\"error\":\"too many control connections\"}\n";
      (void)!::send(fd, kBusy, sizeof(kBusy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    clients_.push_back(Client{fd, {}, {}, now_ms, false, false});
  }
}

bool ControlServer::flush(Client& client) {
  while (!client.out.empty()) {
    ssize_t n = ::send(client.fd, client.out.data(), client.out.size(),
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    client.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

bool ControlServer::serve(Client& client, const CommandRegistry& registry, uint64_t now_ms) {
  char buffer[16 * 1024];
  while (!client.closing && !client.peer_closed) {
    ssize_t n = ::recv(client.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      client.in.append(buffer, static_cast<size_t>(n));
      client.last_active_ms = now_ms;
      if (client.in.size() > limits_.max_request_bytes + 1) {
        break;  // answered below; stop reading a client that sends without newlines
      }
      continue;
    }
    if (n == 0) {
      client.peer_closed = true;  // answer what is buffered, then close
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return false;
    }
    break;
  }
  size_t start = 0;
  while (!client.closing) {
    size_t newline = client.in.find('\n', start);
    if (newline == std::string::npos) {
      break;
    }
    std::string_view line(client.in.data() + start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      continue;
    }
    if (line.size() > limits_.max_request_bytes) {
      client.out += "{\"error\":\"request too long\"}\n";
      client.closing = true;
      break;
    }
    client.out += registry.handleLine(line);
    client.out += '\n';
  }
  client.in.erase(0, start);
  if (!client.closing && client.in.size() > limits_.max_request_bytes) {
    client.out += "{\"error\":\"request too long\"}\n";
    client.closing = true;
  }
  if (!client.closing && client.peer_closed) {
    // A last request without its newline (printf '{"cmd":"stats"}' | nc -U) is still answered.
    if (client.in.find_first_not_of(" \t\r") != std::string::npos) {
      client.out += registry.handleLine(client.in);
      client.out += '\n';
    }
    client.in.clear();
    client.closing = true;
  }
  if (!flush(client) || client.out.size() > limits_.max_output_bytes) {
    return false;
  }
  if (client.closing && client.out.empty()) {
    return false;
  }
  return now_ms - client.last_active_ms <= limits_.idle_timeout_ms || !client.out.empty();
}

void ControlServer::poll(const CommandRegistry& registry, uint64_t now_ms) {
  if (listen_fd_ < 0) {
    return;
  }
  acceptAll(now_ms);
  for (size_t i = 0; i < clients_.size();) {
    if (serve(clients_[i], registry, now_ms)) {
      ++i;
    } else {
      ::close(clients_[i].fd);
      clients_[i] = std::move(clients_.back());
      clients_.pop_back();
    }
  }
}

}  // namespace sipshield::control
