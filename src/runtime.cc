#include "src/runtime.h"

#include <algorithm>
#include <cstring>

namespace sipshield {
namespace {

// hostText renders an address as it appears in a SIP URI or Via sent-by.
std::string hostText(const net::IpAddress& ip) {
  char buffer[64];
  size_t n = ip.format(buffer, true);
  return std::string(buffer, n);
}

LocalIdentity makeIdentity(std::string host, uint16_t port, const net::Endpoint& address) {
  LocalIdentity local;
  local.address = address;
  local.address.port = port;
  local.host_text = std::move(host);
  std::string hostport = local.host_text + ":" + std::to_string(port);
  local.via_prefix = "Via: SIP/2.0/UDP " + hostport + ";branch=";
  local.record_route_line = "Record-Route: <sip:" + hostport + ";lr>\r\n";
  return local;
}

// endpointHash mixes an address and port for the backend index (no secrecy needed: the
// table is sized to the configured backends, not filled by traffic).
uint64_t endpointHash(const net::Endpoint& e) {
  // Only the bytes equality compares (an IPv4 address's tail may hold anything).
  uint64_t words[2] = {0, 0};
  std::memcpy(words, e.ip.bytes, e.ip.size());
  uint64_t h = (words[0] ^ (words[1] * 0x9E3779B97F4A7C15ull)) + e.port;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

}  // namespace

int RuntimeSnapshot::backendIndex(const net::Endpoint& source) const {
  if (backend_slots.empty()) {
    for (size_t i = 0; i < backend_addresses.size(); ++i) {
      if (backend_addresses[i] == source) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  const size_t mask = backend_slots.size() - 1;
  for (size_t slot = endpointHash(source) & mask;; slot = (slot + 1) & mask) {
    const uint16_t entry = backend_slots[slot];
    if (entry == 0) {
      return -1;  // the table is at most half full: every probe sequence ends
    }
    if (backend_addresses[entry - 1] == source) {
      return entry - 1;
    }
  }
}

void RuntimeSnapshot::indexBackends() {
  backend_slots.clear();
  if (backend_addresses.size() <= kLinearBackendLimit || backend_addresses.size() > 0xFFFE) {
    return;
  }
  size_t size = 1;
  while (size < 2 * backend_addresses.size()) {
    size <<= 1;
  }
  backend_slots.assign(size, 0);
  for (size_t i = 0; i < backend_addresses.size(); ++i) {
    size_t slot = endpointHash(backend_addresses[i]) & (size - 1);
    while (backend_slots[slot] != 0) {
      if (backend_addresses[backend_slots[slot] - 1] == backend_addresses[i]) {
        break;  // a duplicate address keeps its first index, as the linear scan did
      }
      slot = (slot + 1) & (size - 1);
    }
    if (backend_slots[slot] == 0) {
      backend_slots[slot] = static_cast<uint16_t>(i + 1);
    }
  }
}

int RuntimeSnapshot::localFor(const net::Endpoint& destination, Toward toward) const {
  const bool backend_side = toward == Toward::Backends;
  int other_side = -1;
  for (size_t i = 0; i < locals.size(); ++i) {
    if (locals[i].address.ip.family != destination.ip.family) {
      continue;
    }
    if (locals[i].backend_side == backend_side) {
      return static_cast<int>(i);
    }
    if (other_side < 0) {
      other_side = static_cast<int>(i);
    }
  }
  return other_side;
}

bool RuntimeSnapshot::isLocal(std::string_view host, uint16_t port) const {
  for (const LocalIdentity& local : locals) {
    uint16_t effective = port == 0 ? 5060 : port;
    // Host names compare case-insensitively (RFC 3261 §19.1.4); IP literals are unaffected.
    if (local.address.port == effective && host.size() == local.host_text.size() &&
        std::equal(host.begin(), host.end(), local.host_text.begin(), [](char a, char b) {
          auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
          return lower(a) == lower(b);
        })) {
      return true;
    }
  }
  return false;
}

std::vector<LocalIdentity> buildLocals(const ServerConfig& server,
                                       const std::vector<net::Endpoint>& bound) {
  std::vector<LocalIdentity> locals;
  std::optional<net::Endpoint> advertised;
  std::string advertised_host;
  uint16_t advertised_port = 0;
  if (!server.advertise.empty()) {
    advertised = net::Endpoint::parse(server.advertise);
    size_t colon = server.advertise.rfind(':');
    advertised_host = server.advertise.substr(0, colon);
    advertised_port = static_cast<uint16_t>(std::stoi(server.advertise.substr(colon + 1)));
  }
  bool advertise_used = false;
  for (size_t i = 0; i < bound.size(); ++i) {
    const net::Endpoint& listen = bound[i];
    const bool backend_side = i >= server.listen.size();
    // The advertised name stands for the first client-side socket of its family (or the first
    // one when it is a host name); other sockets advertise their own address.
    bool matches_family = advertised.has_value() ? advertised->ip.family == listen.ip.family
                                                 : true;
    if (!server.advertise.empty() && !advertise_used && matches_family && !backend_side) {
      locals.push_back(makeIdentity(advertised_host, advertised_port, listen));
      advertise_used = true;
    } else {
      locals.push_back(makeIdentity(hostText(listen.ip), listen.port, listen));
    }
    locals.back().backend_side = backend_side;
  }
  return locals;
}

lb::KeyKind toKeyKind(BalanceKey key) {
  switch (key) {
    case BalanceKey::SourceIp:
      return lb::KeyKind::SourceIp;
    case BalanceKey::FromTagCallId:
      return lb::KeyKind::FromTagCallId;
    case BalanceKey::CallId:
      break;
  }
  return lb::KeyKind::CallId;
}

}  // namespace sipshield
