#include "src/cli/replay_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <vector>

#include "filters/verdict.h"
#include "lb/backend_pool.h"
#include "lb/snapshot_publisher.h"
#include "src/config.h"
#include "src/control/ctl_format.h"
#include "src/control/event_log.h"
#include "src/net/capture_reader.h"
#include "src/pipeline.h"
#include "src/shield_control.h"
#include "src/snapshot_builder.h"

namespace sipshield::cli {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Packets captured within this many ns of a burst's first packet join its burst.
constexpr uint64_t kBurstSpanNs = 1'000'000;

// listenIndex finds the listen address `destination` was sent to (a wildcard listen address
// takes any address of its family on its port); -1 when none.
int listenIndex(const std::vector<net::Endpoint>& listen, const net::Endpoint& destination) {
  for (size_t i = 0; i < listen.size(); ++i) {
    const net::Endpoint& l = listen[i];
    if (l.port != destination.port || l.ip.family != destination.ip.family) {
      continue;
    }
    const bool wildcard =
        std::all_of(l.ip.bytes, l.ip.bytes + l.ip.size(), [](uint8_t b) { return b == 0; });
    if (wildcard || l.ip == destination.ip) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// BanSeen is one ban a worker set during the replay.
struct BanSeen {
  std::string address;
  std::string rule;
  std::string reason;
  double at_s = 0;      // capture time since the first datagram
  uint64_t seconds = 0;  // ban length
};

// Replayer owns one offline worker: pipeline, snapshot publisher, bursts and the ban log.
class Replayer {
 public:
  explicit Replayer(const Config& config) : config_(config), tx_(2 * kMaxBurst) {
    storage_.resize(size_t{kMaxBurst} * kMaxUdpPayload);
  }

  Status start() {
    lb::HealthPolicy policy;
    policy.fall_threshold = config_.health.failures_to_down;
    policy.rise_threshold = config_.health.successes_to_up;
    pool_ = std::make_unique<lb::BackendPool>(policy, config_.balancer.maglev_table_size);
    for (const BackendConfig& b : config_.backends) {
      auto added = pool_->addBackend({b.name, b.address.toString(), b.weight}, 0);
      if (!added.ok()) {
        return invalidArgument("backend " + b.name + ": " + added.status().message());
      }
      (void)pool_->setDraining(added.value(), b.drain, 0);
    }
    auto signer = makeBranchSigner(config_.balancer);
    if (!signer.isOk()) {
      return signer.status();
    }
    // Offline there are no sockets: the configured listen addresses are what we "bound".
    locals_ = buildLocals(config_.server, socketAddresses(config_.server));
    publisher_ = std::make_unique<lb::SnapshotPublisher<RuntimeSnapshot>>(1);
    auto reader = publisher_->registerReader();
    if (!reader.ok()) {
      return invalidArgument("snapshot reader: " + reader.status().message());
    }
    // The shield's tables as configured ([shield.tables]), as the daemon sizes them.
    pipeline_ = std::make_unique<Pipeline>(*publisher_, reader.value(), nullptr,
                                           config_.shield.sizes);
    pipelines_.push_back(pipeline_.get());
    SnapshotInputs inputs;
    inputs.config = &config_;
    inputs.pool = pool_.get();
    inputs.locals = &locals_;
    inputs.signer = signer.value();
    inputs.tag_seed = replyTagSeed(config_.balancer);
    inputs.version = 1;
    auto snapshot = buildRuntimeSnapshot(inputs);
    if (!snapshot.isOk()) {
      return snapshot.status();
    }
    publisher_->publish(std::move(snapshot.value()));
    return Status::ok();
  }

  // add queues one datagram (copied: the reader reuses its buffer); flushes a full or old burst.
  void add(const net::UdpDatagram& d, int local, uint64_t timestamp_ns) {
    if (first_ns_ == 0) {
      first_ns_ = timestamp_ns;
    }
    if (count_ > 0 && (count_ == kMaxBurst || timestamp_ns < burst_ns_ ||
                       timestamp_ns - burst_ns_ >= kBurstSpanNs)) {
      flush();
    }
    if (count_ == 0) {
      burst_ns_ = timestamp_ns;
    }
    uint8_t* slot = storage_.data() + size_t{count_} * kMaxUdpPayload;
    const uint32_t length = std::min(d.length, kMaxUdpPayload);
    std::memcpy(slot, d.payload, length);
    RxPacket& p = burst_[count_++];
    p.data = slot;
    p.length = length;
    p.source = d.source;
    p.local_index = static_cast<uint8_t>(local);
    p.ttl = d.ttl;
    last_ns_ = timestamp_ns;
  }

  void flush() {
    if (count_ == 0) {
      return;
    }
    pipeline_->processBurst(std::span<const RxPacket>(burst_, count_), tx_, burst_ns_);
    tx_.clear();  // offline: nothing is sent
    count_ = 0;
    filters::BanEvent event;
    const uint64_t now_ms = burst_ns_ / 1'000'000;
    while (pipeline_->shield().popBanEvent(event)) {
      bans_.push_back({filters::formatPrefix(event.prefix), event.rule,
                       std::string(filters::shieldReasonName(event.reason)),
                       static_cast<double>(burst_ns_ - first_ns_) / 1e9,
                       event.expires_ms > now_ms ? (event.expires_ms - now_ms) / 1000 : 0});
    }
    publisher_->reclaim();
  }

  [[nodiscard]] const Pipeline& pipeline() const { return *pipeline_; }
  [[nodiscard]] const std::vector<Pipeline*>& pipelines() const { return pipelines_; }
  [[nodiscard]] const std::vector<BanSeen>& bans() const { return bans_; }
  [[nodiscard]] double spanSeconds() const {
    return static_cast<double>(last_ns_ - first_ns_) / 1e9;
  }

 private:
  const Config& config_;
  std::unique_ptr<lb::BackendPool> pool_;
  std::vector<LocalIdentity> locals_;
  std::unique_ptr<lb::SnapshotPublisher<RuntimeSnapshot>> publisher_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<Pipeline*> pipelines_;
  TxBatch tx_;
  std::vector<uint8_t> storage_;
  RxPacket burst_[kMaxBurst];
  uint32_t count_ = 0;
  uint64_t burst_ns_ = 0;
  uint64_t first_ns_ = 0;
  uint64_t last_ns_ = 0;
  std::vector<BanSeen> bans_;
};

std::string text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "yes" : "no";
  }
  return value.dump();
}

void printText(const ordered_json& report, std::ostream& out) {
  const ordered_json& d = report["datagrams"];
  out << "replayed " << d["replayed"].get<uint64_t>() << " of " << d["read"].get<uint64_t>()
      << " UDP datagrams (" << d["not_for_us"].get<uint64_t>()
      << " not sent to a listen address) over " << report["capture_seconds"].get<double>()
      << " s of capture\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : report["totals"].items()) {
    rows.push_back({key, text(value)});
  }
  out << control::formatTable({"TOTAL", "PACKETS"}, rows) << '\n';
  rows.clear();
  for (const auto& [key, value] : report["dropped_by_reason"].items()) {
    rows.push_back({key, text(value)});
  }
  if (!rows.empty()) {
    out << control::formatTable({"DROPPED BY", "PACKETS"}, rows) << '\n';
  }
  rows.clear();
  for (const auto& rule : report["rules"]) {
    rows.push_back({text(rule["name"]), text(rule["kind"]), text(rule["enabled"]),
                    text(rule["action"]), text(rule["dry_run"]), text(rule["seen"]), text(rule["matched"]),
                    text(rule["dropped"]), text(rule["replied"]), text(rule["banned"]),
                    text(rule["dry_run_matched"])});
  }
  if (rows.empty()) {
    out << "no [shield] rules in the config\n";
  } else {
    out << control::formatTable({"RULE", "KIND", "ON", "ACTION", "DRY-RUN", "SEEN", "MATCHED",
                                 "DROPPED", "REPLIED", "BANNED", "DRY-RUN-MATCHED"},
                                rows)
        << '\n';
  }
  rows.clear();
  for (const auto& ban : report["bans"]) {
    char at[32];
    std::snprintf(at, sizeof(at), "%.3f", ban["at_s"].get<double>());
    rows.push_back({text(ban["address"]), text(ban["rule"]), text(ban["reason"]), at,
                    text(ban["seconds"])});
  }
  if (rows.empty()) {
    out << "no source was banned\n";
  } else {
    out << control::formatTable({"BANNED", "RULE", "REASON", "AT-S", "FOR-S"}, rows);
  }
}

}  // namespace

int runReplay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  auto config = loadConfig(options.config_path);
  if (!config.isOk()) {
    err << "sipshield replay: " << config.status().message() << '\n';
    return 2;
  }
  auto reader = net::CaptureReader::open(options.capture_path);
  if (!reader.isOk()) {
    err << "sipshield replay: " << reader.status().message() << '\n';
    return 2;
  }
  Replayer replayer(config.value());
  if (Status s = replayer.start(); !s.isOk()) {
    err << "sipshield replay: " << s.message() << '\n';
    return 2;
  }
  const std::vector<net::Endpoint>& listen = config->server.listen;
  net::UdpDatagram datagram;
  uint64_t timestamp_ns = 0;
  uint64_t read = 0;
  uint64_t replayed = 0;
  while ((*reader)->next(datagram, timestamp_ns)) {
    ++read;
    const int local = options.any_destination ? 0 : listenIndex(listen, datagram.destination);
    if (local < 0) {
      continue;
    }
    replayer.add(datagram, local, timestamp_ns);
    ++replayed;
  }
  replayer.flush();

  const PipelineCounters& counters = replayer.pipeline().counters();
  auto get = [&](PipelineCounter c) { return counters.get(c); };
  const filters::FilterChain& chain = replayer.pipeline().shield();
  // The rules' view is the same code `sipshieldctl rules` answers with.
  control::EventLog unused_log;
  ShieldControl view(
      replayer.pipelines(), [&] { return config->shield.rules.get(); }, [] {}, unused_log,
      [] { return uint64_t{0}; });
  json rules = config->shield.rules ? view.rulesJson()["rules"] : json::array();
  uint64_t shield_replied = 0;
  for (const json& rule : rules) {
    shield_replied += rule["replied"].get<uint64_t>();
  }

  ordered_json report;
  report["capture"] = options.capture_path;
  report["config"] = options.config_path;
  report["datagrams"] = {{"read", read},
                         {"replayed", replayed},
                         {"not_for_us", read - replayed},
                         {"skipped_frames", (*reader)->skippedFrames()},
                         {"fragments", (*reader)->fragments()}};
  report["capture_seconds"] = replayer.spanSeconds();
  const uint64_t received = get(PipelineCounter::Received);
  const uint64_t forwarded_requests = get(PipelineCounter::ForwardedRequests);
  const uint64_t forwarded_responses = get(PipelineCounter::ForwardedResponses);
  const uint64_t replied = shield_replied + get(PipelineCounter::RepliedTooManyHops) +
                           get(PipelineCounter::RepliedNoBackend);
  const uint64_t keepalive = get(PipelineCounter::Keepalive);
  const uint64_t forwarded = forwarded_requests + forwarded_responses;
  const uint64_t settled = forwarded + replied + keepalive;
  report["totals"] = {{"received", received},
                      {"forwarded", forwarded},
                      {"forwarded_requests", forwarded_requests},
                      {"forwarded_responses", forwarded_responses},
                      {"replied", replied},
                      {"keepalive", keepalive},
                      {"dropped", received > settled ? received - settled : 0}};
  // Shield reasons count what a rule stopped: dropped, or answered by a rule whose action is
  // reply (those are also in totals.replied). Pipeline drops follow, by their counter names.
  ordered_json by_reason = ordered_json::object();
  for (size_t r = 1; r < filters::kShieldReasonCount; ++r) {
    const auto reason = static_cast<filters::ShieldReason>(r);
    if (const uint64_t n = chain.reasonCount(reason); n != 0) {
      by_reason[std::string(filters::shieldReasonName(reason))] = n;
    }
  }
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    const auto counter = static_cast<PipelineCounter>(c);
    const std::string_view name = pipelineCounterName(counter);
    if (name.starts_with("dropped_") && get(counter) != 0) {
      by_reason[std::string(name.substr(8))] = get(counter);
    }
  }
  report["dropped_by_reason"] = std::move(by_reason);
  ordered_json rule_rows = ordered_json::array();
  for (const json& rule : rules) {
    ordered_json row;
    for (const char* key : {"name", "kind", "action", "dry_run", "enabled", "seen", "matched",
                            "dropped", "replied", "banned", "dry_run_matched"}) {
      row[key] = rule[key];
    }
    rule_rows.push_back(std::move(row));
  }
  report["rules"] = std::move(rule_rows);
  ordered_json bans = ordered_json::array();
  for (const BanSeen& b : replayer.bans()) {
    bans.push_back({{"address", b.address},
                    {"rule", b.rule},
                    {"reason", b.reason},
                    {"at_s", b.at_s},
                    {"seconds", b.seconds}});
  }
  report["bans"] = std::move(bans);
  report["lost_ban_events"] = chain.lostBanEvents();

  if (options.json) {
    out << report.dump(2) << '\n';
  } else {
    printText(report, out);
  }
  return 0;
}

}  // namespace sipshield::cli
