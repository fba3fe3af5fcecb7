#include "src/runtime.h"

#include <algorithm>

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

}  // namespace

int RuntimeSnapshot::backendIndex(const net::Endpoint& source) const {
  for (size_t i = 0; i < backend_addresses.size(); ++i) {
    if (backend_addresses[i] == source) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int RuntimeSnapshot::localFor(const net::Endpoint& destination) const {
  for (size_t i = 0; i < locals.size(); ++i) {
    if (locals[i].address.ip.family == destination.ip.family) {
      return static_cast<int>(i);
    }
  }
  return -1;
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
  for (const net::Endpoint& listen : bound) {
    // The advertised name stands for the first socket of its family (or the first socket when
    // it is a host name); other sockets advertise their own address.
    bool matches_family = advertised.has_value() ? advertised->ip.family == listen.ip.family
                                                 : true;
    if (!server.advertise.empty() && !advertise_used && matches_family) {
      locals.push_back(makeIdentity(advertised_host, advertised_port, listen));
      advertise_used = true;
    } else {
      locals.push_back(makeIdentity(hostText(listen.ip), listen.port, listen));
    }
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
