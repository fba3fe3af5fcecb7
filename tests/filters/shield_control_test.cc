// The shield's control side (src/shield_control.*) against two real Pipelines on a fake clock:
// `rules` sums counters over workers, `bans` lists automatic bans (from the workers' ban events)
// and operator bans, add/remove reach the workers through the next snapshot, `top` merges the
// workers' published flood top lists, counter groups feed stats/Prometheus, ban events reach the
// event log. Also the TopBoard sequence lock on its own, with a concurrent writer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "filters/top_board.h"
#include "lb/backend_pool.h"
#include "lb/snapshot_publisher.h"
#include "src/config.h"
#include "src/control/command_registry.h"
#include "src/control/event_log.h"
#include "src/packet.h"
#include "src/pipeline.h"
#include "tests/common/counting_allocator.h"
#include "tests/filters/shield_test_messages.h"
#include "src/shield_control.h"
#include "src/snapshot_builder.h"

namespace sipshield {
namespace {

using nlohmann::json;

using testing::ep;
using testing::invite;

constexpr const char* kShield = R"(
[shield]
[shield.flood]
window_ms = 1000
source_threshold = 100000
prefix_threshold = 100000
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
rate = 10
burst = 20
action = "ban"
ban_after = 5
ban_seconds = 60
)";

// Daemonish is two workers, a snapshot publisher and a ShieldControl wired like the daemon's.
class Daemonish {
 public:
  explicit Daemonish(const std::string& shield_toml = kShield) {
    config_ = configWith(shield_toml);
    (void)pool_.addBackend({"b0", "10.0.0.1:5060", 1});
    locals_ = buildLocals(config_.server, config_.server.listen);
    signer_ = makeBranchSigner(config_.balancer).value();
    publisher_ = std::make_unique<lb::SnapshotPublisher<RuntimeSnapshot>>(2);
    filters::StateSizes sizes;
    sizes.buckets = 4096;
    sizes.bans = 1024;
    for (int w = 0; w < 2; ++w) {
      owned_.push_back(std::make_unique<Pipeline>(
          *publisher_, publisher_->registerReader().value(), nullptr, sizes));
      pipelines_.push_back(owned_.back().get());
    }
    log_path_ = ::testing::TempDir() + "shield_control_events_" +
                std::to_string(reinterpret_cast<uintptr_t>(this)) + ".jsonl";
    std::remove(log_path_.c_str());
    EXPECT_TRUE(events_.open(log_path_).isOk());
    control_ = std::make_unique<ShieldControl>(
        pipelines_, [this] { return config_.shield.rules.get(); }, [this] { publish(); },
        events_, [this] { return now_ms_; });
    control_->addCommands(registry_);
    publish();
  }
  ~Daemonish() { std::remove(log_path_.c_str()); }

  void publish() {
    SnapshotInputs in;
    in.config = &config_;
    in.pool = &pool_;
    in.locals = &locals_;
    in.signer = signer_;
    in.operator_bans = control_ ? control_->operatorBans() : nullptr;
    in.version = ++version_;
    publisher_->publish(std::move(buildRuntimeSnapshot(in).value()));
  }

  // send runs `count` INVITEs from `source` through worker `w`, one per burst, 1 ms apart.
  // Returns how many were forwarded to the backend.
  int send(int w, std::string_view source, int count, std::string_view ua = "Kestrel 4.2") {
    int forwarded = 0;
    for (int i = 0; i < count; ++i) {
      const std::string bytes = invite(next_call_++, ua);
      RxPacket p;
      p.data = reinterpret_cast<const uint8_t*>(bytes.data());
      p.length = static_cast<uint32_t>(bytes.size());
      p.source = ep(source);
      p.ttl = 60;
      tx_.clear();
      ++now_ms_;
      pipelines_[w]->processBurst(std::span<const RxPacket>(&p, 1), tx_, now_ms_ * 1000000);
      for (const TxPacket& out : tx_.ready()) {
        forwarded += out.destination == ep("10.0.0.1:5060") ? 1 : 0;
      }
    }
    publisher_->reclaim();
    return forwarded;
  }

  // shareState gives both workers the process's shared shield state, as the daemon does.
  std::shared_ptr<filters::SharedShieldState> shareState() {
    auto shared = control_->sharedState(filters::StateSizes{});
    for (Pipeline* p : pipelines_) {
      p->shield().shareState(shared);
    }
    return shared;
  }

  // configWith is the test's daemon config with `shield_toml` as its [shield] part.
  static Config configWith(const std::string& shield_toml) {
    auto config = parseConfig(
        "[server]\nlisten = [\"192.0.2.10:5060\"]\n"
        "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n[[backend]]\nname = \"b0\"\n"
        "address = \"10.0.0.1:5060\"\n" + shield_toml, "test.toml");
    EXPECT_TRUE(config.isOk()) << config.status().toString();
    return config.isOk() ? std::move(config.value()) : Config{};
  }

  // reload replaces the [shield] part of the config and publishes it, as Daemon::reload.
  void reload(const std::string& shield_toml) {
    config_ = configWith(shield_toml);
    publish();
  }

  // reclaimAll is the daemon's tick: true when every worker runs the newest snapshot.
  bool reclaimAll() { return publisher_->reclaim() == 0; }

  json ask(const json& request) { return registry_.handle(request); }
  std::string events() {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  Config config_;
  uint64_t now_ms_ = 5'000'000;
  control::EventLog events_;
  control::CommandRegistry registry_;
  std::unique_ptr<ShieldControl> control_;

 private:
  lb::BackendPool pool_{lb::HealthPolicy{}, 1021};
  std::vector<LocalIdentity> locals_;
  std::shared_ptr<const lb::BranchSigner> signer_;
  std::unique_ptr<lb::SnapshotPublisher<RuntimeSnapshot>> publisher_;
  std::vector<std::unique_ptr<Pipeline>> owned_;
  std::vector<Pipeline*> pipelines_;
  TxBatch tx_{8};
  std::string log_path_;
  uint64_t version_ = 0;
  int next_call_ = 0;
};

json findRule(const json& rules, std::string_view name) {
  for (const json& r : rules["rules"]) {
    if (r["name"] == name) {
      return r;
    }
  }
  return nullptr;
}

// Reloads that rename a global ceiling: once both workers run the new rules, the control
// side gives the old names' slots back, so the shared table holds only live names however
// many renames a long uptime brings; before both have, nothing is released.
TEST(ShieldControl, RenamedCeilingsGiveTheirSlotsBack) {
  auto ceilingToml = [](int version) {
    return "[shield]\n[[shield.rate_limit]]\nname = \"ceiling-v" + std::to_string(version) +
           "\"\nmethods = [\"INVITE\"]\nkey = \"global\"\nrate = 1000\nburst = 2000\n";
  };
  Daemonish d(ceilingToml(0));
  auto shared = d.shareState();
  d.send(0, "203.0.113.1:5060", 1);
  d.send(1, "203.0.113.2:5060", 1);
  EXPECT_EQ(shared->ceilings().used(), 1u);
  for (int version = 1; version <= 600; ++version) {
    d.reload(ceilingToml(version));
    d.send(0, "203.0.113.1:5060", 1);  // worker 0 resolves the new name
    if (version == 1) {
      // Worker 1 has not run the new snapshot yet (it may still use the old name's bucket):
      // the daemon's tick does not release anything then.
      EXPECT_FALSE(d.reclaimAll());
      EXPECT_EQ(shared->ceilings().used(), 2u);
    }
    d.send(1, "203.0.113.2:5060", 1);
    ASSERT_TRUE(d.reclaimAll());
    (void)d.control_->releaseStaleCeilings(d.config_.shield.rules.get());
    ASSERT_EQ(shared->ceilings().used(), 1u) << "version " << version;
  }
}

// Without [shield], top, bans and rules say so (as the placeholders did).
TEST(ShieldControl, UnavailableWithoutShield) {
  Daemonish d("");
  for (const char* command : {"top", "bans", "rules"}) {
    EXPECT_EQ(d.ask({{"cmd", command}}),
              json({{"error", "not available: filters not enabled"}}))
        << command;
  }
  std::vector<control::CounterGroup> groups;
  d.control_->appendCounterGroups(groups);
  EXPECT_TRUE(groups.empty());
}

// Per-rule counters are summed over both workers, with the rule's kind and dry-run flag.
TEST(ShieldControl, RulesSumWorkers) {
  Daemonish d;
  EXPECT_EQ(d.send(0, "203.0.113.1:5060", 30), 20);  // burst 20, then 5 violations -> ban
  EXPECT_EQ(d.send(1, "203.0.113.2:5060", 22), 20);  // 2 violations, no ban
  const json rules = d.ask({{"cmd", "rules"}});
  const json limit = findRule(rules, "invite-per-source");
  ASSERT_FALSE(limit.is_null()) << rules.dump();
  EXPECT_EQ(limit["kind"], "rate_limit");
  EXPECT_EQ(limit["action"], "ban");
  EXPECT_EQ(limit["dry_run"], false);
  EXPECT_EQ(limit["enabled"], true);
  EXPECT_EQ(limit["seen"], 25 + 22);  // worker 0's last 5 stop at the ban
  EXPECT_EQ(limit["matched"], 5 + 2);
  EXPECT_EQ(limit["banned"], 1);
  EXPECT_EQ(limit["dry_run_matched"], 0);
  const json bans_rule = findRule(rules, "bans");
  EXPECT_EQ(bans_rule["kind"], "bans");
  EXPECT_EQ(bans_rule["matched"], 5);
  EXPECT_EQ(findRule(rules, "acl")["enabled"], false);  // no ACL lists configured

  std::vector<control::CounterGroup> groups;
  d.control_->appendCounterGroups(groups);
  auto entry = [&](std::string_view group, std::string_view key) -> int64_t {
    for (const control::CounterGroup& g : groups) {
      if (g.name == group) {
        for (const control::CounterEntry& e : g.entries) {
          if (e.key == key) {
            return static_cast<int64_t>(e.value);
          }
        }
      }
    }
    return -1;
  };
  EXPECT_EQ(entry("shield_dropped", "rate_limited"), 7);
  EXPECT_EQ(entry("shield_dropped", "banned"), 5);
  EXPECT_EQ(entry("rule_matched", "invite-per-source"), 7);
  EXPECT_EQ(entry("rule_banned", "invite-per-source"), 1);
  EXPECT_EQ(entry("rule_dry_run", "invite-per-source"), 0);
  EXPECT_EQ(entry("shield_ban_events_lost", "0"), 0);
  d.control_->tick(d.now_ms_);
  groups.clear();
  d.control_->appendCounterGroups(groups);
  EXPECT_EQ(entry("shield_bans_active", "auto"), 1);
  EXPECT_EQ(entry("shield_bans_active", "operator"), 0);
}

// The counter groups are built for every stats snapshot (ten a second with metrics on): from
// the counters directly, a few allocations per group and at most one per entry, not a JSON
// document of every rule per snapshot.
TEST(ShieldControl, CounterGroupsAllocateLittle) {
  Daemonish d;
  EXPECT_EQ(d.send(0, "203.0.113.1:5060", 30), 20);
  std::vector<control::CounterGroup> groups;
  d.control_->appendCounterGroups(groups);  // warm: first-use statics, the event log
  groups.clear();
  groups.shrink_to_fit();
  const uint64_t before = allocationCount();
  d.control_->appendCounterGroups(groups);
  const uint64_t made = allocationCount() - before;
  size_t entries = 0;
  for (const control::CounterGroup& g : groups) {
    entries += g.entries.size();
  }
  ASSERT_GE(groups.size(), 4u);
  // Per group: its name, help and label strings and its entry array; per entry: its key;
  // plus the growth of `groups` itself.
  EXPECT_LE(made, 4 * groups.size() + entries + 8)
      << groups.size() << " groups, " << entries << " entries";
}

// A worker's automatic ban reaches `bans` and the event log at the next tick; removing it
// lifts it in that worker through the next snapshot.
TEST(ShieldControl, AutoBanListedAndLifted) {
  Daemonish d;
  EXPECT_EQ(d.send(1, "203.0.113.7:5060", 30), 20);
  d.control_->tick(d.now_ms_);
  json list = d.ask({{"cmd", "bans"}});
  ASSERT_EQ(list["bans"].size(), 1u) << list.dump();
  const json ban = list["bans"][0];
  EXPECT_EQ(ban["address"], "203.0.113.7");
  EXPECT_EQ(ban["kind"], "auto");
  EXPECT_EQ(ban["rule"], "invite-per-source");
  EXPECT_EQ(ban["reason"], "rate_limited");
  EXPECT_EQ(ban["worker"], 1);
  EXPECT_EQ(ban["expires_in_s"], 60);
  EXPECT_EQ(list["lost_events"], 0);
  EXPECT_NE(d.events().find(R"("event":"ban_set")"), std::string::npos) << d.events();
  EXPECT_NE(d.events().find(R"("address":"203.0.113.7")"), std::string::npos);
  EXPECT_EQ(d.send(1, "203.0.113.7:5060", 1), 0);  // still banned

  const json removed =
      d.ask({{"cmd", "bans"}, {"action", "remove"}, {"address", "203.0.113.7"}});
  EXPECT_EQ(removed["ok"], true) << removed.dump();
  EXPECT_EQ(removed["operator_ban_removed"], false);
  EXPECT_EQ(removed["auto_bans_lifted"], 1);
  d.now_ms_ += 10'000;  // the bucket refills; the ban would still run 50 s more
  EXPECT_EQ(d.send(1, "203.0.113.7:5060", 1), 1);
  EXPECT_TRUE(d.ask({{"cmd", "bans"}})["bans"].empty());
  EXPECT_NE(d.events().find(R"("event":"ban_lifted")"), std::string::npos);
}

// An operator ban drops the source on every worker from the next snapshot; expiry is shown and
// removal lets it back in; a ban that runs out is forgotten with a ban_lifted event.
TEST(ShieldControl, OperatorBanAddRemoveExpire) {
  Daemonish d;
  EXPECT_EQ(d.send(0, "198.51.100.9:5060", 1), 1);
  json added = d.ask({{"cmd", "bans"}, {"action", "add"}, {"address", "198.51.100.0/24"},
                      {"seconds", 30}});
  EXPECT_EQ(added, json({{"ok", true}, {"address", "198.51.100.0/24"}, {"seconds", 30}}));
  EXPECT_EQ(d.send(0, "198.51.100.9:5060", 1), 0);
  EXPECT_EQ(d.send(1, "198.51.100.200:5060", 1), 0);
  EXPECT_EQ(d.send(1, "198.51.101.1:5060", 1), 1);
  json list = d.ask({{"cmd", "bans"}});
  ASSERT_EQ(list["bans"].size(), 1u);
  EXPECT_EQ(list["bans"][0]["kind"], "operator");
  EXPECT_EQ(list["bans"][0]["reason"], "operator");
  EXPECT_EQ(list["bans"][0]["expires_in_s"], 30);
  json removed = d.ask({{"cmd", "bans"}, {"action", "remove"}, {"address", "198.51.100.0/24"}});
  EXPECT_EQ(removed["operator_ban_removed"], true);
  EXPECT_EQ(d.send(0, "198.51.100.9:5060", 1), 1);

  // Until removed (seconds 0), then one that expires.
  (void)d.ask({{"cmd", "bans"}, {"action", "add"}, {"address", "2001:db8::/32"}, {"seconds", 0}});
  (void)d.ask({{"cmd", "bans"}, {"action", "add"}, {"address", "192.0.2.99"}, {"seconds", 2}});
  list = d.ask({{"cmd", "bans"}});
  ASSERT_EQ(list["bans"].size(), 2u) << list.dump();
  EXPECT_TRUE(list["bans"][0]["expires_in_s"].is_null());
  d.now_ms_ += 3000;
  d.control_->tick(d.now_ms_);
  list = d.ask({{"cmd", "bans"}});
  ASSERT_EQ(list["bans"].size(), 1u) << list.dump();
  EXPECT_EQ(list["bans"][0]["address"], "2001:db8::/32");
  EXPECT_NE(d.events().find(R"("cause":"expired")"), std::string::npos) << d.events();
}

// Bad requests get an error naming the problem, not an exception.
TEST(ShieldControl, BadBanRequests) {
  Daemonish d;
  struct Row {
    const char* description;
    json request;
    const char* error_part;
  };
  const Row rows[] = {
      {"no address", {{"cmd", "bans"}, {"action", "add"}}, "missing \"address\""},
      {"not an address", {{"cmd", "bans"}, {"action", "add"}, {"address", "bogus"}},
       "bad address \"bogus\""},
      {"host bits", {{"cmd", "bans"}, {"action", "remove"}, {"address", "10.0.0.1/8"}},
       "bad address"},
      {"unknown action", {{"cmd", "bans"}, {"action", "frob"}}, "unknown bans action"},
      {"seconds not a number",
       {{"cmd", "bans"}, {"action", "add"}, {"address", "10.0.0.1"}, {"seconds", "x"}},
       ""},
  };
  for (const Row& row : rows) {
    const json answer = d.ask(row.request);
    ASSERT_TRUE(answer.contains("error")) << row.description << ": " << answer.dump();
    EXPECT_NE(answer["error"].get<std::string>().find(row.error_part), std::string::npos)
        << row.description << ": " << answer.dump();
  }
}

// `top` merges what each worker published: one source seen by both workers is summed, the
// limit applies per list, and a stale window is left out.
TEST(ShieldControl, TopMergesWorkers) {
  Daemonish d(R"(
[shield]
[shield.flood]
window_ms = 10000
source_threshold = 400
prefix_threshold = 2000
)");
  // Spread over > kTopPublishMs so each worker publishes after most of its packets.
  (void)d.send(0, "203.0.113.50:5060", 300);
  (void)d.send(1, "203.0.113.50:5060", 250);
  (void)d.send(0, "203.0.113.51:5060", 230);
  (void)d.send(1, "198.51.100.3:5060", 150);  // under threshold/2: not in the top list
  const json top = d.ask({{"cmd", "top"}, {"limit", 1}});
  ASSERT_TRUE(top.contains("sources")) << top.dump();
  EXPECT_EQ(top["flood_enabled"], true);
  EXPECT_EQ(top["window_ms"], 10000);
  ASSERT_EQ(top["sources"].size(), 1u) << top.dump();
  EXPECT_EQ(top["sources"][0]["address"], "203.0.113.50");
  EXPECT_EQ(top["sources"][0]["workers"], 2);
  // Published at most every 100 ms: the last few packets may not be in the board yet.
  EXPECT_GE(top["sources"][0]["count"].get<uint64_t>(), 450u);
  EXPECT_LE(top["sources"][0]["count"].get<uint64_t>(), 550u);
  EXPECT_GT(top["sources"][0]["rate_per_s"].get<uint64_t>(), 0u);
  const json all = d.ask({{"cmd", "top"}});
  EXPECT_EQ(all["sources"].size(), 2u) << all.dump();
  EXPECT_TRUE(all["prefixes"].empty()) << all.dump();  // the /24 stayed under 1000 per worker

  d.now_ms_ += 30'000;  // both windows are stale now
  EXPECT_TRUE(d.ask({{"cmd", "top"}})["sources"].empty());
}

// TopBoard: what is read is always one whole publication, even with a writer running.
TEST(TopBoard, ConsistentUnderConcurrentWriter) {
  filters::TopBoard board;
  filters::TopBoardCopy copy;
  EXPECT_FALSE(board.read(copy));  // nothing published yet
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    filters::HeavyHitter top[filters::FloodDetector::kTopSize];
    for (uint32_t generation = 1; !stop.load(std::memory_order_relaxed); ++generation) {
      const uint32_t count = generation % (filters::FloodDetector::kTopSize + 1);
      for (uint32_t i = 0; i < count; ++i) {
        top[i].prefix = filters::prefixOf(filters::Address::v4(generation), 32);
        top[i].count = generation;
      }
      board.publish(top, count, generation, generation);
    }
  });
  // Read for a fixed time once the writer has started (thread start-up may take a while).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!board.read(copy) && std::chrono::steady_clock::now() < give_up) {
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  uint64_t reads = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (!board.read(copy)) {
      continue;
    }
    ++reads;
    const uint64_t generation = copy.window_start_ms;
    ASSERT_EQ(copy.published_ms, generation);
    ASSERT_EQ(copy.count, generation % (filters::FloodDetector::kTopSize + 1));
    for (uint32_t e = 0; e < copy.count; ++e) {
      ASSERT_EQ(copy.entries[e].count, generation);
      ASSERT_EQ(copy.entries[e].prefix.address.v4Value(), static_cast<uint32_t>(generation));
      ASSERT_EQ(copy.entries[e].prefix.length, 32);
    }
  }
  stop.store(true);
  writer.join();
  EXPECT_GT(reads, 0u);
}

}  // namespace
}  // namespace sipshield
