#include "src/pipeline.h"

#include <cstring>

#include "lb/proxy_rewrite.h"
#include "lb/stateless_reply.h"
#include "parser/uri.h"

namespace sipshield {

using parser::ByteView;
using parser::Method;
using parser::ScanStatus;

namespace {

constexpr std::array<std::string_view, kPipelineCounterCount> kCounterNames = {{
#define SIPSHIELD_PIPELINE_COUNTER_NAME(name, text) text,
    SIPSHIELD_PIPELINE_COUNTERS(SIPSHIELD_PIPELINE_COUNTER_NAME)
#undef SIPSHIELD_PIPELINE_COUNTER_NAME
}};

// stripBrackets turns a URI/Via IPv6 reference into the bare literal.
std::string_view stripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// sameEnds compares the `n` bytes (sizeof(Word) <= n <= 2 * sizeof(Word)) at `a` and `b` as
// two overlapping words each: the first and the last sizeof(Word) bytes.
template <typename Word>
bool sameEnds(const char* a, const char* b, size_t n) {
  Word a0, a1, b0, b1;
  std::memcpy(&a0, a, sizeof(Word));
  std::memcpy(&a1, a + n - sizeof(Word), sizeof(Word));
  std::memcpy(&b0, b, sizeof(Word));
  std::memcpy(&b1, b + n - sizeof(Word), sizeof(Word));
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// sameShortText is a == b without a memcmp call for the lengths of IPv4 texts. The call was
// about 2% of an INVITE's pipeline time when the top Via's sent-by and the source address have
// the same length (as they do whenever no NAT lies between them).
bool sameShortText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) {
    return false;
  }
  if (n >= 8 && n <= 16) {
    return sameEnds<uint64_t>(a.data(), b.data(), n);
  }
  if (n >= 4 && n < 8) {
    return sameEnds<uint32_t>(a.data(), b.data(), n);
  }
  return a == b;
}

// hostPortEndpoint makes an endpoint of an IP-literal host and port (0 → 5060). Host names
// are not resolved: no DNS in the fast path.
bool hostPortEndpoint(std::string_view host, uint16_t port, net::Endpoint& out) {
  if (!net::IpAddress::parseInto(host, out.ip)) {
    return false;
  }
  out.port = port == 0 ? 5060 : port;
  return true;
}

// fillPacketMeta writes every field of `meta` for `packet` in place. Not `meta =
// PacketMeta{...}`: GCC builds such a temporary on the stack with narrow stores and copies it
// with wide loads, which cannot forward from those stores and wait for them (perf: most of
// scanAhead's own time).
void fillPacketMeta(filters::PacketMeta& meta, const RxPacket& packet, bool peer) {
  meta.source.assign(packet.source.ip.isV6(), packet.source.ip.bytes);
  meta.source_port = packet.source.port;
  meta.ttl = packet.ttl;
  meta.length = packet.length;
  meta.peer = peer;
  meta.trust = filters::TrustClass::Unverified;
}

}  // namespace

std::string_view pipelineCounterName(PipelineCounter counter) {
  auto index = static_cast<size_t>(counter);
  return index < kCounterNames.size() ? kCounterNames[index] : std::string_view("unknown");
}

Pipeline::Pipeline(lb::SnapshotPublisher<RuntimeSnapshot>& publisher, uint32_t reader_id,
                   lb::AffinityTable* affinity, const filters::StateSizes& shield_sizes)
    : publisher_(publisher), reader_id_(reader_id), dispatcher_(affinity),
      shield_(shield_sizes) {}

void Pipeline::processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t now_ns) {
  snapshot_ = publisher_.current();
  if (snapshot_ != nullptr) {
    dispatcher_.setSnapshot(snapshot_->dispatch.get());
    // DoS shield: this snapshot's rules (state kept across reloads); burst fill feeds overload.
    shield_.setRules(snapshot_->shield.get(), snapshot_->operator_bans.get());
    const filters::ShieldRules* rules = snapshot_->shield.get();
    via_check_ = rules != nullptr && rules->sanity.enabled && rules->sanity.check_every_via
                     ? parser::ViaCheck::Every
                     : parser::ViaCheck::Used;
    shield_.observeBurst(static_cast<uint32_t>(packets.size()), kMaxBurst);
    const uint64_t now_ms = now_ns / 1000000;
    if (!packets.empty()) {
      scanAhead(packets[0], slots_[0], now_ms);
    }
    for (size_t i = 0; i < packets.size(); ++i) {
      if (i + 1 < packets.size()) {
        scanAhead(packets[i + 1], slots_[(i + 1) & 1], now_ms);
      }
      forward(packets[i], slots_[i & 1], tx, now_ms);
    }
  }
  snapshot_ = nullptr;
  dispatcher_.setSnapshot(nullptr);
  publisher_.quiescent(reader_id_);
}

void Pipeline::idle(TxBatch& /*tx*/, uint64_t /*now_ns*/) { publisher_.quiescent(reader_id_); }

void Pipeline::scanAhead(const RxPacket& packet, ScanSlot& slot, uint64_t now_ms) {
  counters_.add(PipelineCounter::Received);
  slot.dropped = false;
  // Looked up once: the shield trusts backends, and forwarding routes their messages apart.
  slot.from_backend = snapshot_->backendIndex(packet.source);
  // --- DoS shield, before scanning: ACL, bans, flood sketch, hop count, source rates.
  // Drops are counted by reason and rule in shield_. Backends are trusted peers.
  if (snapshot_->shield != nullptr) {
    filters::PacketMeta& meta = slot.meta;
    fillPacketMeta(meta, packet, slot.from_backend >= 0);
    if (!shield_.preParse(meta, now_ms).pass()) {
      slot.dropped = true;
      return;
    }
  }
  // --- end DoS shield
  const ByteView in(packet.data, packet.length);
  // The via-parms the proxy uses must be well-formed; the others are forwarded as they came
  // (RFC 3261 §16.3 step 1), only counted for the shield's Via limit, unless the sanity
  // rule's check_every_via asks for all (via_check_).
  slot.result = parser::scanAndValidate(in, slot.parsed.message, slot.summary, {}, via_check_);
  if (slot.result.ok() && slot.parsed.message.isRequest()) {
    // The key a request from a client is dispatched by; a backend's own requests (record-route
    // mode) never use it, and their wasted prefetch costs nothing.
    const parser::SipSummary& s = slot.summary;
    const lb::KeyFields fields{in.view(s.call_id), in.view(s.from_tag),
                               std::span<const uint8_t>(packet.source.ip.bytes,
                                                        packet.source.ip.size())};
    slot.key = lb::dispatchKey(snapshot_->key_kind, fields);
    dispatcher_.prefetch(slot.key);
  }
}

void Pipeline::forward(const RxPacket& packet, ScanSlot& slot, TxBatch& tx, uint64_t now_ms) {
  if (slot.dropped) {
    return;
  }
  current_ = &slot;
  ByteView in(packet.data, packet.length);
  const parser::ScanResult result = slot.result;
  switch (result.status) {
    case ScanStatus::Complete:
      break;
    case ScanStatus::Keepalive:
      counters_.add(PipelineCounter::Keepalive);
      return;
    case ScanStatus::Incomplete:
      counters_.add(PipelineCounter::DroppedTruncated);
      return;
    case ScanStatus::Invalid:
      counters_.add(PipelineCounter::DroppedMalformed);
      return;
  }
  // Bytes after Content-Length are not part of the message (RFC 3261 §18.3): forward without.
  in.size = result.consumed;
  // --- DoS shield, after scanning: sanity, method-class rates, scanners, overload shedding.
  if (snapshot_->shield != nullptr) {
    const filters::Verdict verdict =
        shield_.postParse(slot.meta, in, slot.parsed.message, slot.summary, now_ms);
    if (!verdict.pass()) {
      if (verdict.action == filters::Action::Reply) {
        reply(packet, in, verdict.status, verdict.reason_phrase, verdict.retry_after_s, tx);
      }
      return;
    }
  }
  // --- end DoS shield
  if (slot.parsed.message.isRequest()) {
    handleRequest(packet, in, tx, now_ms);
  } else {
    handleResponse(packet, in, tx);
  }
}

bool Pipeline::topViaIsOurs(ByteView in) const {
  const parser::ViaEntry& top = current_->summary.top_via;
  return snapshot_->isLocal(in.view(top.host), top.port);
}

void Pipeline::handleRequest(const RxPacket& packet, ByteView in, TxBatch& tx, uint64_t now_ms) {
  const parser::SipMessage& message = current_->parsed.message;
  const bool is_ack = message.method == Method::Ack;
  if (topViaIsOurs(in)) {
    counters_.add(PipelineCounter::DroppedLoop);  // §16.3 step 4 loop detection, simplified
    return;
  }
  // §16.3 step 3: Max-Forwards 0 gets a 483 (never for ACK, §17).
  if (current_->summary.max_forwards == 0) {
    if (is_ack) {
      counters_.add(PipelineCounter::DroppedMaxForwards);
    } else if (reply(packet, in, 483, "Too Many Hops", 0, tx)) {
      counters_.add(PipelineCounter::RepliedTooManyHops);
    }
    return;
  }

  lb::RequestEdits edits;
  net::Endpoint next;
  int chosen_backend = -1;
  const int from_backend = current_->from_backend;
  if (from_backend >= 0) {
    // A backend sending toward a client (record-route mode, e.g. the callee's BYE).
    if (!routeFromBackend(in, edits, next)) {
      counters_.add(PipelineCounter::DroppedNoRoute);
      return;
    }
  } else {
    parser::Span after_ours;
    popOwnRoutes(in, edits, after_ours);  // the backend comes from the dispatcher, not Route
    // The key was computed (and its affinity bucket prefetched) when the packet was scanned.
    const uint16_t backend = dispatcher_.pick(current_->key, now_ms);
    if (backend == lb::kNoBackend || backend >= snapshot_->backend_addresses.size()) {
      if (is_ack) {
        counters_.add(PipelineCounter::DroppedNoBackend);
      } else if (reply(packet, in, 503, "Service Unavailable", 5, tx)) {
        counters_.add(PipelineCounter::RepliedNoBackend);
      }
      return;
    }
    next = snapshot_->backend_addresses[backend];
    chosen_backend = backend;
  }

  const int local = snapshot_->localFor(next, from_backend >= 0 ? Toward::Clients
                                                                : Toward::Backends);
  if (local < 0) {
    counters_.add(PipelineCounter::DroppedNoRoute);
    return;
  }
  const LocalIdentity& identity = snapshot_->locals[static_cast<size_t>(local)];

  // Our Via: sent-by is us, the branch a MAC of the client's branch and the Call-ID (§16.11).
  const size_t prefix = identity.via_prefix.size();
  if (prefix + lb::kBranchLength + 2 > sizeof(via_line_)) {
    counters_.add(PipelineCounter::DroppedTooLarge);  // unreachable with a checked config
    return;
  }
  std::memcpy(via_line_, identity.via_prefix.data(), prefix);
  size_t branch = snapshot_->signer->makeBranch(
      in.view(current_->summary.top_via.branch), in.view(current_->summary.call_id),
      std::span<char>(via_line_ + prefix, sizeof(via_line_) - prefix - 2));
  via_line_[prefix + branch] = '\r';
  via_line_[prefix + branch + 1] = '\n';
  edits.via_line = std::string_view(via_line_, prefix + branch + 2);
  // Out-of-dialog requests may create a dialog: stay in its route set when asked to.
  if (snapshot_->record_route && current_->summary.to_tag.empty() && !is_ack &&
      message.method != Method::Cancel) {
    edits.record_route_line = recordRouteLines(local, packet.local_index);
  }
  // §18.2.1 received when sent-by is not the source address; RFC 3581 §4 rport when asked.
  size_t source_length = packet.source.ip.format(source_text_, false);
  std::string_view source_ip(source_text_, source_length);
  if (current_->summary.top_via.has_rport ||
      !sameShortText(stripBrackets(in.view(current_->summary.top_via.host)), source_ip)) {
    edits.received = source_ip;
  }
  if (current_->summary.top_via.has_rport) {
    edits.rport = packet.source.port;
  }

  // The edits are applied in the received buffer when the backend lends it (DPDK), else
  // copied into a transmit slot: the same bytes either way.
  if (!lb::prepareRequest(message, current_->summary, edits, editor_)) {
    // More edits than the editor holds: only a message with a dozen repeated Max-Forwards
    // lines gets here (RFC 3261 §7.3.1 forbids repeating it at all).
    counters_.add(PipelineCounter::DroppedMalformed);
    return;
  }
  if (emitEdited(tx, packet, in, next, local)) {
    counters_.add(PipelineCounter::ForwardedRequests);
    bump(backend_requests_, chosen_backend);
  }
}

// RFC 3261 §16.4: pop our Route elements; §16.5/§16.6: the next hop is the next Route, else
// the Request-URI.
bool Pipeline::routeFromBackend(ByteView in, lb::RequestEdits& edits, net::Endpoint& next) {
  parser::Span uri_span;
  if (!popOwnRoutes(in, edits, uri_span)) {
    uri_span = current_->parsed.message.request_uri;
  }
  parser::SipUri uri;
  if (!parser::parseUri(in, uri_span, uri) ||
      !hostPortEndpoint(stripBrackets(in.view(uri.host)), uri.port, next)) {
    return false;
  }
  return !snapshot_->isLocal(in.view(uri.host), uri.port);
}

bool Pipeline::popOwnRoutes(ByteView in, lb::RequestEdits& edits, parser::Span& after_ours) {
  const parser::SipMessage& message = current_->parsed.message;
  if (!message.has(parser::HeaderId::Route)) {
    edits.route_cut_count = 0;  // most initial requests carry no Route: skip the set-up below
    return false;
  }
  lb::RouteElement routes[lb::kMaxOwnRoutes + 1];
  const size_t listed = lb::leadingRoutes(in, message, routes);
  size_t ours = 0;
  while (ours < listed && ours < lb::kMaxOwnRoutes && uriIsOurs(in, routes[ours].uri)) {
    ++ours;
  }
  edits.route_cut_count = static_cast<uint8_t>(
      lb::routeCuts(in, message, std::span<const lb::RouteElement>(routes, ours),
                    edits.route_cuts));
  if (ours < listed) {
    after_ours = routes[ours].uri;
    return true;
  }
  return false;
}

bool Pipeline::uriIsOurs(ByteView in, parser::Span uri_span) const {
  parser::SipUri uri;
  return parser::parseUri(in, uri_span, uri) && snapshot_->isLocal(in.view(uri.host), uri.port);
}

std::string_view Pipeline::recordRouteLines(int out_local, int in_local) {
  const std::string& out_line = snapshot_->locals[static_cast<size_t>(out_local)].record_route_line;
  if (in_local == out_local || in_local < 0 ||
      static_cast<size_t>(in_local) >= snapshot_->locals.size()) {
    return out_line;
  }
  // RFC 5658 double record-routing: the socket the next hop reaches on top, then the one the
  // previous hop reached, so each side's route set starts at an address it can reach.
  const std::string& in_line = snapshot_->locals[static_cast<size_t>(in_local)].record_route_line;
  if (out_line.size() + in_line.size() > sizeof(record_route_lines_)) {
    return out_line;  // unreachable: config-checked host names keep both lines short
  }
  std::memcpy(record_route_lines_, out_line.data(), out_line.size());
  std::memcpy(record_route_lines_ + out_line.size(), in_line.data(), in_line.size());
  return std::string_view(record_route_lines_, out_line.size() + in_line.size());
}

void Pipeline::handleResponse(const RxPacket& packet, ByteView in, TxBatch& tx) {
  parser::Span cut;
  const parser::ViaEntry& second = current_->summary.second_via;
  // §16.11: a stateless proxy checks the top Via is its own; our MAC proves it.
  if (!lb::topViaRemoval(in, current_->parsed.message, current_->summary, cut) ||
      !lb::branchVerdictOk(snapshot_->signer->verifyBranch(in.view(current_->summary.top_via.branch),
                                                           in.view(second.branch),
                                                           in.view(current_->summary.call_id)))) {
    counters_.add(PipelineCounter::DroppedSpoofedResponse);
    return;
  }
  // §18.2.2 / RFC 3581 §4: received and rport of the next Via say where its sender is.
  std::string_view host = second.received.empty() ? in.view(second.host)
                                                  : in.view(second.received);
  uint16_t port = second.rport > 0 ? static_cast<uint16_t>(second.rport) : second.port;
  net::Endpoint next;
  if (!hostPortEndpoint(stripBrackets(host), port, next)) {
    counters_.add(PipelineCounter::DroppedNoRoute);
    return;
  }
  const int from_backend = current_->from_backend;
  const int local = snapshot_->localFor(next, from_backend >= 0 ? Toward::Clients
                                                                : Toward::Backends);
  if (local < 0) {
    counters_.add(PipelineCounter::DroppedNoRoute);
    return;
  }
  if (current_->parsed.message.status_code == 503) {
    bump(backend_503_, from_backend);
  }
  // --- DoS shield: a backend's 401/407 nonces, remembered for the client they go to (its
  // answer proves return routability), and its 503 share (overload).
  if (snapshot_->shield != nullptr && from_backend >= 0) {
    shield_.observeBackendResponse(in, current_->parsed.message,
                                   filters::Address::fromBytes(next.ip.isV6(), next.ip.bytes),
                                   shield_.clockMs());
  }
  // --- end DoS shield
  const bool sent = lb::prepareResponse(cut, editor_) && emitEdited(tx, packet, in, next, local);
  if (sent) {
    counters_.add(PipelineCounter::ForwardedResponses);
  }
}

bool Pipeline::reply(const RxPacket& packet, ByteView in, uint16_t status,
                     std::string_view reason, uint32_t retry_after_s, TxBatch& tx) {
  // RFC 3581: with rport, answer the source port; else the sent-by port (§18.2.2).
  net::Endpoint destination = packet.source;
  if (!current_->summary.top_via.has_rport) {
    destination.port = current_->summary.top_via.port == 0 ? 5060 : current_->summary.top_via.port;
  }
  const lb::ReplySpec spec{status, reason, retry_after_s, snapshot_->tag_seed};
  return emit(tx, destination, packet.local_index, [&](uint8_t* out) {
    return lb::buildStatelessReply(in, current_->parsed.message, current_->summary, spec, out, kMaxUdpPayload);
  });
}

}  // namespace sipshield
