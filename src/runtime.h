#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filters/operator_bans.h"
#include "filters/shield_rules.h"
#include "lb/branch_mac.h"
#include "lb/dispatch_snapshot.h"
#include "lb/dispatcher.h"
#include "src/config.h"
#include "src/net/endpoint.h"

namespace sipshield {

// How the balancer names itself on one listen socket: the Via it inserts and the
// Record-Route it adds, prebuilt so the fast path only copies bytes.
struct LocalIdentity {
  net::Endpoint address;           // what we advertise (host:port) on this socket's family
  std::string via_prefix;          // "Via: SIP/2.0/UDP 192.0.2.1:5060;branch="
  std::string record_route_line;   // "Record-Route: <sip:192.0.2.1:5060;lr>\r\n"
  std::string host_text;           // "192.0.2.1" or "[2001:db8::1]" as in our URIs
  bool backend_side = false;       // a [server] backend_listen socket: backends only
};

// Toward says which side a message leaves to: the pipeline sends to clients from the listen
// sockets and to backends from the backend_listen ones, when there are any.
enum class Toward : uint8_t { Clients, Backends };

// RuntimeSnapshot is everything a worker reads while handling a burst: immutable, built by the
// control plane from the config and the backend pool, published with an atomic swap
// (lb::SnapshotPublisher). Workers pick it up once per burst.
struct RuntimeSnapshot {
  std::shared_ptr<const lb::DispatchSnapshot> dispatch;
  std::vector<net::Endpoint> backend_addresses;  // by backend index
  std::vector<LocalIdentity> locals;             // by listen index (RxPacket::local_index)
  std::shared_ptr<const lb::BranchSigner> signer;
  lb::KeyKind key_kind = lb::KeyKind::CallId;
  bool record_route = false;
  uint64_t tag_seed = 0;      // seeds the To-tags of our stateless replies
  uint64_t version = 0;
  // The DoS shield (issue 4): its immutable rules (null = shield off) and the operator's bans
  // (null = none). Per-worker state (buckets, sketch, auto-bans, verified set) stays in each
  // Pipeline's FilterChain across snapshots, so a reload swaps rules without losing it.
  std::shared_ptr<const filters::ShieldRules> shield;
  std::shared_ptr<const filters::OperatorBans> operator_bans;

  // backendIndex returns the index of the backend at `source`, or -1: a linear scan for a few
  // backends, one hash probe sequence once indexBackends() ran for many. Per packet.
  [[nodiscard]] int backendIndex(const net::Endpoint& source) const;
  // indexBackends builds the hash index over backend_addresses (call after filling them,
  // before publishing). Not thread-safe; the published snapshot is immutable.
  void indexBackends();

  // Above this many backends a hash index beats comparing every address.
  static constexpr size_t kLinearBackendLimit = 16;
  // Open-addressing table of backend index + 1 (0: empty), a power of two >= 2x backends.
  std::vector<uint16_t> backend_slots;
  // localFor returns the listen index to send to `destination` from: the first socket of its
  // address family on the `toward` side, else the first of its family on the other side;
  // -1 when we listen on no address of that family.
  [[nodiscard]] int localFor(const net::Endpoint& destination, Toward toward) const;
  // isLocal says whether host:port (as parsed from a URI) addresses us.
  [[nodiscard]] bool isLocal(std::string_view host, uint16_t port) const;
};

// buildLocals derives our identities from the bound sockets (server.listen's, then
// server.backend_listen's, in that order) and the `advertise` setting.
std::vector<LocalIdentity> buildLocals(const ServerConfig& server,
                                       const std::vector<net::Endpoint>& bound);

// toKeyKind maps the config's balance key to the dispatcher's.
lb::KeyKind toKeyKind(BalanceKey key);

}  // namespace sipshield
