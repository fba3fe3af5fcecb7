#include "src/health_prober.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "parser/validate.h"

namespace sipshield {
namespace {

// Call-IDs of our probes: "sipshield-probe-<index>-<sequence>-<token>@<local>", the token 16
// hex digits drawn per probe; the answer's Call-ID tells which probe it answers, and only
// the probe's own token settles it (an off-path sender cannot guess it).
constexpr std::string_view kCallIdPrefix = "sipshield-probe-";

bool parseProbeCallId(std::string_view call_id, uint16_t& index, uint32_t& sequence,
                      uint64_t& token) {
  if (call_id.substr(0, kCallIdPrefix.size()) != kCallIdPrefix) {
    return false;
  }
  call_id.remove_prefix(kCallIdPrefix.size());
  uint64_t numbers[2] = {0, 0};
  for (uint64_t& n : numbers) {
    size_t digits = 0;
    while (digits < call_id.size() && call_id[digits] >= '0' && call_id[digits] <= '9' &&
           digits < 10) {
      n = n * 10 + static_cast<uint64_t>(call_id[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits >= call_id.size() || call_id[digits] != '-') {
      return false;
    }
    call_id.remove_prefix(digits + 1);
  }
  if (numbers[0] > 0xFFFF || call_id.size() < 17 || call_id[16] != '@') {
    return false;
  }
  token = 0;
  for (size_t i = 0; i < 16; ++i) {
    const char c = call_id[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) {
      return false;
    }
    token = token << 4 | static_cast<uint64_t>(digit);
  }
  index = static_cast<uint16_t>(numbers[0]);
  sequence = static_cast<uint32_t>(numbers[1]);
  return true;
}

std::string hex16(uint64_t value) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = "0123456789abcdef"[value & 15];
    value >>= 4;
  }
  return out;
}

// splitmix64 steps `state` and returns the next value of the sequence (Steele et al.).
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

HealthProber::HealthProber(uint32_t interval_ms, uint32_t timeout_ms)
    : interval_ms_(interval_ms), timeout_ms_(timeout_ms) {
  std::random_device random;
  token_state_ = static_cast<uint64_t>(random()) << 32 | random();
}

HealthProber::~HealthProber() {
  for (Socket& s : sockets_) {
    if (s.fd >= 0) {
      ::close(s.fd);
    }
  }
}

Status HealthProber::open(const std::vector<net::Endpoint>& locals, bool freebind) {
  for (const net::Endpoint& local : locals) {
    bool have_family = false;
    for (const Socket& s : sockets_) {
      have_family = have_family || s.local.ip.family == local.ip.family;
    }
    if (have_family) {
      continue;
    }
    Socket s;
    s.fd = ::socket(local.ip.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      return unavailable(std::string("health prober: socket: ") + std::strerror(errno));
    }
    net::Endpoint bind_to = local;
    bind_to.port = 0;
    if (freebind) {
      // The DPDK exception-path TAP gets the listen address from the operator after start.
      const int on = 1;
      const bool v6 = local.ip.isV6();
      if (::setsockopt(s.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND,
                       &on, sizeof(on)) != 0) {
        int error = errno;
        ::close(s.fd);
        return unavailable("health prober: freebind " + bind_to.toString() + ": " +
                           std::strerror(error));
      }
    }
    sockaddr_storage address{};
    socklen_t length = bind_to.toSockaddr(address);
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      int error = errno;
      ::close(s.fd);
      return unavailable("health prober: bind " + bind_to.toString() + ": " +
                         std::strerror(error));
    }
    length = sizeof(address);
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&address), &length);
    s.local = net::Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&address));
    sockets_.push_back(s);
  }
  return Status::ok();
}

HealthProber::Outstanding& HealthProber::stateFor(uint16_t index) {
  if (index >= probes_.size()) {
    probes_.resize(static_cast<size_t>(index) + 1);
  }
  return probes_[index];
}

void HealthProber::send(const ProbeTarget& target, Outstanding& probe, uint64_t now_ms) {
  const Socket* socket = nullptr;
  for (const Socket& s : sockets_) {
    if (s.local.ip.family == target.address.ip.family) {
      socket = &s;
    }
  }
  if (socket == nullptr) {
    return;
  }
  ++probe.sequence;
  probe.token = splitmix64(token_state_);
  probe.target = target.address;
  std::string local = socket->local.toString();
  std::string remote = target.address.toString();
  std::string id = std::to_string(target.index) + "-" + std::to_string(probe.sequence) + "-" +
                   hex16(probe.token);
  std::string message = "OPTIONS sip:" + remote + " SIP/2.0\r\n" +
                        "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-probe-" + id + ";rport\r\n" +
                        "Max-Forwards: 70\r\n" +
                        "From: <sip:sipshield@" + local + ">;tag=probe" + id + "\r\n" +
                        "To: <sip:" + remote + ">\r\n" +
                        "Call-ID: " + std::string(kCallIdPrefix) + id + "@" + local + "\r\n" +
                        "CSeq: " + std::to_string(probe.sequence) + " OPTIONS\r\n" +
                        "Contact: <sip:sipshield@" + local + ">\r\n" +
                        "User-Agent: sipshield-health\r\n" +
                        "Accept: application/sdp\r\n" +
                        "Content-Length: 0\r\n\r\n";
  sockaddr_storage address{};
  socklen_t length = target.address.toSockaddr(address);
  // A failed send (e.g. ECONNREFUSED from an earlier ICMP) simply becomes a timeout.
  (void)::sendto(socket->fd, message.data(), message.size(), 0,
                 reinterpret_cast<sockaddr*>(&address), length);
  probe.sent_ms = now_ms;
  probe.waiting = true;
}

void HealthProber::receive(std::vector<ProbeResult>& results) {
  char buffer[8192];
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  for (Socket& s : sockets_) {
    while (true) {
      sockaddr_storage from{};
      socklen_t from_length = sizeof(from);
      ssize_t n = ::recvfrom(s.fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from),
                             &from_length);
      if (n < 0) {
        break;  // EAGAIN, or a queued ICMP error: either way nothing to read now
      }
      parser::ByteView bytes(buffer, static_cast<size_t>(n));
      if (!parser::scanAndValidate(bytes, parsed.message, summary).ok() ||
          parsed.message.isRequest()) {
        continue;
      }
      uint16_t index = 0;
      uint32_t sequence = 0;
      uint64_t token = 0;
      if (!parseProbeCallId(bytes.view(summary.call_id), index, sequence, token) ||
          index >= probes_.size()) {
        continue;
      }
      Outstanding& probe = probes_[index];
      uint16_t status = parsed.message.status_code;
      // Provisional answers do not settle a probe; only the current probe's answer counts,
      // with its token and from the backend's address (any port: a backend may answer from
      // another socket of its own), so nobody else can keep a dead backend "up".
      if (!probe.waiting || sequence != probe.sequence || token != probe.token ||
          status < 200 ||
          !(net::Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&from)).ip ==
            probe.target.ip)) {
        continue;
      }
      probe.waiting = false;
      results.push_back({index, status < 500, status});
    }
  }
}

void HealthProber::poll(uint64_t now_ms, const std::vector<ProbeTarget>& targets,
                        std::vector<ProbeResult>& results) {
  receive(results);
  for (const ProbeTarget& target : targets) {
    Outstanding& probe = stateFor(target.index);
    if (probe.waiting && now_ms - probe.sent_ms >= timeout_ms_) {
      probe.waiting = false;
      results.push_back({target.index, false, 0});
    }
    if (!probe.waiting && now_ms >= probe.next_ms) {
      send(target, probe, now_ms);
      probe.next_ms = now_ms + interval_ms_;
    }
  }
}

}  // namespace sipshield
