#pragma once

// The sipshieldctl Unix socket, served from the control loop itself: poll() accepts, reads and
// answers without blocking, so command handlers run on the control thread, the only thread
// that touches the backend pool.

#include <cstdint>
#include <string>
#include <vector>

#include "src/control/command_registry.h"
#include "src/status.h"

namespace sipshield::control {

// ControlServerLimits bound what one client can make the daemon hold.
struct ControlServerLimits {
  size_t max_clients = 16;               // further connections get an error line and are closed
  size_t max_request_bytes = 64 * 1024;  // a longer line gets an error and the client is closed
  size_t max_output_bytes = 8 * 1024 * 1024;  // a client that stops reading is dropped
  uint64_t idle_timeout_ms = 60 * 1000;       // silent clients are closed
};

// ControlServer speaks the line protocol: each request is one JSON object on one line,
// {"cmd":"backends"}; each answer is one JSON object on one line, in request order. A client
// may send many requests on one connection.
//
// Thread-safety: not thread-safe; open/poll/close on one thread (the control loop).
class ControlServer {
 public:
  explicit ControlServer(ControlServerLimits limits = {});
  // ~ControlServer closes every connection and removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // open listens on the Unix socket `path`: creates missing parent directories (0750 before
  // umask), replaces a stale socket file left by a crashed daemon, and sets the socket's mode
  // to 0660 so only the owner and its group may control the daemon.
  // Returns kInvalidArgument (empty or too long a path), kAlreadyExists (the path is not a
  // socket, or a live daemon answers on it) or kUnavailable (a directory, socket, bind or
  // chmod call failed; the message has the path and errno text).
  Status open(const std::string& path);

  // poll accepts pending connections, reads what clients sent, answers every complete line
  // through `registry`, and writes what it can; it never blocks. `now_ms` is a monotonic time
  // used for the idle timeout.
  void poll(const CommandRegistry& registry, uint64_t now_ms);

  // close closes every connection and the listener and removes the socket file. Idempotent.
  void close();

  // path returns the socket path ("" when not open).
  [[nodiscard]] const std::string& path() const { return path_; }
  // clientCount returns the number of open client connections.
  [[nodiscard]] size_t clientCount() const { return clients_.size(); }

 private:
  struct Client {
    int fd = -1;
    std::string in;
    std::string out;
    uint64_t last_active_ms = 0;
    bool closing = false;  // close once `out` is written (peer closed or request too long)
    bool peer_closed = false;
  };

  void acceptAll(uint64_t now_ms);
  // serve reads, answers and writes for one client; returns false when it must be dropped.
  bool serve(Client& client, const CommandRegistry& registry, uint64_t now_ms);
  static bool flush(Client& client);

  ControlServerLimits limits_;
  std::string path_;
  int listen_fd_ = -1;
  std::vector<Client> clients_;
};

}  // namespace sipshield::control
