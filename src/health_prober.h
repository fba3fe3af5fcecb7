#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/net/endpoint.h"
#include "src/status.h"

namespace sipshield {

// A backend to probe: its pool index and address.
struct ProbeTarget {
  uint16_t index = 0;
  net::Endpoint address;
};

// The outcome of one probe.
struct ProbeResult {
  uint16_t index = 0;
  bool ok = false;
  uint16_t status = 0;  // the answer's status code; 0 on timeout
};

// HealthProber sends SIP OPTIONS to each backend every interval and reports, per probe, an
// answer (status < 500 counts as alive: the SIP stack is up even if it refuses OPTIONS) or a
// timeout. It uses its own UDP socket per address family on an ephemeral port of the listen
// address, so probe answers never enter the workers' SO_REUSEPORT group. An answer counts
// only from the probed backend's address and with the probe's random Call-ID token.
// Not thread-safe: owned and polled by the control thread; never on the fast path.
class HealthProber {
 public:
  HealthProber(uint32_t interval_ms, uint32_t timeout_ms);
  ~HealthProber();
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  // open binds one non-blocking socket per family of `locals` (port 0). With `freebind` the
  // sockets are bound with IP_FREEBIND / IPV6_FREEBIND, so the bind succeeds before the address
  // exists on any interface: under the DPDK backend the operator puts it on the exception-path
  // TAP only after the daemon created that TAP. Until then probes fail to send and count as
  // timeouts. Without `freebind` (the io_uring path, where the workers already hold the
  // address) a missing address is a bind error. Not thread-safe (see the class comment).
  // Returns ok, or kUnavailable naming the address when socket(), setsockopt() or bind()
  // fails.
  Status open(const std::vector<net::Endpoint>& locals, bool freebind = false);

  // isOpen says whether open() bound at least one socket, i.e. poll() can send probes.
  [[nodiscard]] bool isOpen() const { return !sockets_.empty(); }

  // poll sends the probes that are due at `now_ms`, reads every answer waiting, and appends
  // answers and timeouts to `results`. Call it every few tens of milliseconds.
  void poll(uint64_t now_ms, const std::vector<ProbeTarget>& targets,
            std::vector<ProbeResult>& results);

  // setTiming changes the probe interval and answer timeout (config reload); probes already
  // sent keep their send time and are judged against the new timeout.
  void setTiming(uint32_t interval_ms, uint32_t timeout_ms) {
    interval_ms_ = interval_ms;
    timeout_ms_ = timeout_ms;
  }

 private:
  struct Outstanding {
    uint64_t sent_ms = 0;
    uint32_t sequence = 0;
    bool waiting = false;
    uint64_t next_ms = 0;
    uint64_t token = 0;     // unguessable part of the probe's Call-ID
    net::Endpoint target;   // where it went: only that address's answer counts
  };
  struct Socket {
    int fd = -1;
    net::Endpoint local;
  };

  void send(const ProbeTarget& target, Outstanding& probe, uint64_t now_ms);
  void receive(std::vector<ProbeResult>& results);
  Outstanding& stateFor(uint16_t index);

  uint32_t interval_ms_;
  uint32_t timeout_ms_;
  std::vector<Socket> sockets_;
  std::vector<Outstanding> probes_;  // by backend index
  uint64_t token_state_ = 0;         // splitmix64 state, seeded from the OS
};

}  // namespace sipshield
