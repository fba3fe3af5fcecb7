// The DoS shield inside the pipeline: a flooding source is dropped while another passes,
// stateless 503s under overload, rules swapped by a new snapshot without losing state, and
// backends (trusted peers) never limited. Uses the real parser, lb and Pipeline.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/snapshot_publisher.h"
#include "src/config.h"
#include "src/packet.h"
#include "src/pipeline.h"
#include "tests/filters/shield_test_messages.h"
#include "src/runtime.h"

namespace sipshield {
namespace {

using testing::ep;
using testing::invite;

// Shield is a Pipeline with one backend, fed one datagram per burst on a fake clock.
class Shield {
 public:
  Shield() {
    auto signer = lb::BranchSigner::create(std::vector<uint8_t>(32, 'k'), 1);
    signer_ = std::make_shared<const lb::BranchSigner>(std::move(signer).value());
    (void)pool_.addBackend({"b0", "10.0.0.1:5060", 1});
    publisher_ = std::make_unique<lb::SnapshotPublisher<RuntimeSnapshot>>(1);
    reader_ = publisher_->registerReader().value();
    filters::StateSizes sizes;
    sizes.buckets = 4096;
    pipeline_ = std::make_unique<Pipeline>(*publisher_, reader_, nullptr, sizes);
    tx_ = std::make_unique<TxBatch>(8);
  }

  // publish parses `shield_toml` as the [shield] part of a config and publishes a snapshot.
  void publish(const std::string& shield_toml) {
    auto config = parseConfig(
        "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n[[backend]]\nname = \"b0\"\n"
        "address = \"10.0.0.1:5060\"\n" + shield_toml, "test.toml");
    ASSERT_TRUE(config.isOk()) << config.status().toString();
    auto snapshot = std::make_unique<RuntimeSnapshot>();
    snapshot->dispatch = std::shared_ptr<const lb::DispatchSnapshot>(pool_.buildSnapshot().value());
    snapshot->backend_addresses = {ep("10.0.0.1:5060")};
    ServerConfig server;
    server.listen = {ep("192.0.2.10:5060")};
    snapshot->locals = buildLocals(server, server.listen);
    snapshot->signer = signer_;
    snapshot->shield = config->shield.rules;
    publisher_->publish(std::move(snapshot));
    publisher_->reclaim();
  }

  // send runs one datagram; returns the first status line sent back to the source ("" when
  // nothing went back), and sets `forwarded` when it went to the backend.
  std::string send(const std::string& bytes, std::string_view source, bool& forwarded,
                   uint32_t burst_fill = 1) {
    std::vector<RxPacket> packets(burst_fill);
    for (RxPacket& p : packets) {
      p.data = reinterpret_cast<const uint8_t*>(bytes.data());
      p.length = static_cast<uint32_t>(bytes.size());
      p.source = ep(source);
      p.ttl = 60;
    }
    tx_->clear();
    now_ns_ += 1000000;  // 1 ms per burst
    pipeline_->processBurst(std::span<const RxPacket>(packets.data(), 1), *tx_, now_ns_);
    forwarded = false;
    std::string reply;
    for (const TxPacket& p : tx_->ready()) {
      const std::string out(reinterpret_cast<const char*>(p.data), p.length);
      if (p.destination == ep("10.0.0.1:5060")) {
        forwarded = true;
      } else if (reply.empty()) {
        reply = out.substr(0, out.find("\r\n"));
      }
    }
    return reply;
  }
  // sendAll runs one datagram and returns every datagram the pipeline sent, with its
  // destination.
  std::vector<std::pair<net::Endpoint, std::string>> sendAll(std::string bytes,
                                                             std::string_view source) {
    RxPacket p;
    p.data = reinterpret_cast<const uint8_t*>(bytes.data());
    p.length = static_cast<uint32_t>(bytes.size());
    p.source = ep(source);
    p.ttl = 60;
    tx_->clear();
    now_ns_ += 1000000;
    pipeline_->processBurst(std::span<const RxPacket>(&p, 1), *tx_, now_ns_);
    std::vector<std::pair<net::Endpoint, std::string>> out;
    for (const TxPacket& t : tx_->ready()) {
      out.emplace_back(t.destination, std::string(reinterpret_cast<const char*>(t.data), t.length));
    }
    return out;
  }
  // forwardedText sends a request from `source` and returns what reached the backend ("" when
  // nothing did).
  std::string forwardedText(const std::string& bytes, std::string_view source) {
    for (auto& [destination, text] : sendAll(bytes, source)) {
      if (destination == ep("10.0.0.1:5060")) {
        return text;
      }
    }
    return "";
  }
  bool forwards(const std::string& bytes, std::string_view source) {
    bool forwarded = false;
    (void)send(bytes, source, forwarded);
    return forwarded;
  }

  Pipeline& pipeline() { return *pipeline_; }
  void advanceMs(uint64_t ms) { now_ns_ += ms * 1000000; }

 private:
  lb::BackendPool pool_{lb::HealthPolicy{}, 1021};
  std::shared_ptr<const lb::BranchSigner> signer_;
  std::unique_ptr<lb::SnapshotPublisher<RuntimeSnapshot>> publisher_;
  uint32_t reader_ = 0;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<TxBatch> tx_;
  uint64_t now_ns_ = 1'000'000'000'000ull;
};

constexpr const char* kPerSourceBan = R"(
[shield]
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
rate = 10
burst = 20
action = "ban"
ban_after = 50
ban_seconds = 60
)";

// A source flooding INVITEs is limited then banned; another source keeps getting through.
TEST(PipelineShield, FloodOneSourceOtherPasses) {
  Shield s;
  s.publish(kPerSourceBan);
  int flood_forwarded = 0;
  int legit_forwarded = 0;
  for (int i = 0; i < 1000; ++i) {
    flood_forwarded += s.forwards(invite(i), "203.0.113.66:5060") ? 1 : 0;
    if (i % 50 == 0) {  // ~20/s: inside the limit
      legit_forwarded += s.forwards(invite(100000 + i), "198.51.100.7:5060") ? 1 : 0;
    }
  }
  // 20 burst + ~10/s over the first ~70 ms before the ban (1 ms per burst, 2 bursts/iter).
  EXPECT_GE(flood_forwarded, 20);
  EXPECT_LE(flood_forwarded, 25);
  EXPECT_EQ(legit_forwarded, 20);
  const filters::FilterChain& chain = s.pipeline().shield();
  EXPECT_GT(chain.reasonCount(filters::ShieldReason::Banned), 900u);
  EXPECT_EQ(chain.reasonCount(filters::ShieldReason::RateLimited), 50u);
  uint64_t counters[filters::kRuleCounterCount] = {};
  ASSERT_TRUE(chain.ruleCounters(filters::hashName("invite-per-source"), counters));
  EXPECT_EQ(counters[static_cast<size_t>(filters::RuleCounter::Banned)], 1u);
}

// The backend is a trusted peer: its traffic is never counted against client limits.
TEST(PipelineShield, BackendNotLimited) {
  Shield s;
  s.publish(R"(
[shield]
[shield.flood]
source_threshold = 5
prefix_threshold = 0
)");
  int dropped_before = 0;
  for (int i = 0; i < 50; ++i) {
    bool forwarded = false;
    // The backend sends requests toward clients (record-route mode): no route here, but the
    // shield must not be what stops them.
    (void)s.send(invite(i), "10.0.0.1:5060", forwarded);
  }
  EXPECT_EQ(s.pipeline().shield().reasonCount(filters::ShieldReason::Flood), 0u);
  for (int i = 0; i < 50; ++i) {
    dropped_before += s.forwards(invite(i), "203.0.113.9:5060") ? 0 : 1;
  }
  EXPECT_EQ(dropped_before, 45);
}

// Scanner User-Agent: dropped, never forwarded; a phone passes.
// [shield.sanity] check_every_via: off (the default, RFC 3261 §16.3) a request whose Via below
// the top one is malformed is forwarded; on, it is dropped as malformed. A reload switches it.
TEST(PipelineShield, CheckEveryViaDropsMalformedLowerVias) {
  const std::string request =
      testing::invite(1).insert(testing::invite(1).find("Max-Forwards"),
                                "Via: SIP/2.0/UDP bad host;branch=z9hG4bK-x\r\n");
  Shield s;
  s.publish("[shield]\n");
  EXPECT_TRUE(s.forwards(request, "203.0.113.5:5060"));
  s.publish("[shield]\n[shield.sanity]\ncheck_every_via = true\n");
  EXPECT_FALSE(s.forwards(request, "203.0.113.5:5060"));
  EXPECT_TRUE(s.forwards(testing::invite(2), "203.0.113.5:5060"));
  EXPECT_EQ(s.pipeline().counters().get(PipelineCounter::DroppedMalformed), 1u);
  // A disabled sanity rule applies none of its policy.
  s.publish("[shield]\n[shield.sanity]\nenabled = false\ncheck_every_via = true\n");
  EXPECT_TRUE(s.forwards(request, "203.0.113.5:5060"));
}

TEST(PipelineShield, ScannerDropped) {
  Shield s;
  s.publish("[shield]\n");
  EXPECT_FALSE(s.forwards(invite(1, "friendly-scanner"), "203.0.113.5:5060"));
  EXPECT_TRUE(s.forwards(invite(2), "203.0.113.5:5060"));
  EXPECT_EQ(s.pipeline().shield().reasonCount(filters::ShieldReason::ScannerFingerprint), 1u);
}

// Overload (full bursts): a new INVITE from an unverified source gets a stateless 503 with
// Retry-After; a trusted peer's INVITE is still forwarded.
TEST(PipelineShield, OverloadReplies503) {
  Shield s;
  s.publish(R"(
[shield]
trusted = ["198.51.100.0/24"]
[shield.overload]
enter_fullness = 0.5
exit_fullness = 0.2
retry_after_s = 9
)");
  s.pipeline().shield().overload().force(1);
  bool forwarded = true;
  const std::string reply = s.send(invite(1), "203.0.113.5:5060", forwarded);
  EXPECT_FALSE(forwarded);
  EXPECT_EQ(reply, "SIP/2.0 503 Service Unavailable");
  EXPECT_TRUE(s.forwards(invite(2), "198.51.100.9:5060"));
  s.pipeline().shield().overload().force(0);
  EXPECT_TRUE(s.forwards(invite(3), "203.0.113.5:5060"));
}

// A reload (new snapshot, changed rule set) keeps the bucket of a rule that kept its name.
TEST(PipelineShield, ReloadKeepsBuckets) {
  Shield s;
  s.publish(kPerSourceBan);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(s.forwards(invite(i), "203.0.113.66:5060"));
  }
  EXPECT_FALSE(s.forwards(invite(20), "203.0.113.66:5060"));
  s.publish(std::string(kPerSourceBan) + "[shield.flood]\nsource_threshold = 100000\n");
  EXPECT_FALSE(s.forwards(invite(21), "203.0.113.66:5060"));  // still empty after reload
  s.publish("");  // shield removed: everything passes
  EXPECT_TRUE(s.forwards(invite(22), "203.0.113.66:5060"));
}

filters::Address addrOf(const char* text) {
  filters::Address a;
  EXPECT_TRUE(filters::parseAddress(text, a)) << text;
  return a;
}

// backendAnswer turns a request as the backend received it into the backend's response:
// `status`, the Vias echoed (ours on top), a To-tag, and `extra` header lines.
std::string backendAnswer(const std::string& forwarded, int status, std::string_view extra = "") {
  std::string r = forwarded;
  r.replace(0, r.find("\r\n"), "SIP/2.0 " + std::to_string(status) + " Answer");
  const size_t to = r.find("To: <sip:bob@example.com>");
  if (to != std::string::npos) {
    r.insert(to + std::string_view("To: <sip:bob@example.com>").size(), ";tag=be1");
  }
  r.insert(r.find("Content-Length:"), std::string(extra));
  return r;
}

std::string withAuthorization(std::string request, std::string_view nonce) {
  request.insert(request.find("Content-Length:"),
                 "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"" +
                     std::string(nonce) + "\", uri=\"sip:192.0.2.10\", response=\"00ff\"\r\n");
  return request;
}

// Return routability through the pipeline: the backend's 401 relayed to a client records its
// nonce for the client's address (the next Via's received); the client's answer verifies it;
// the same nonce from another address, or a forged nonce, does not.
TEST(PipelineShield, RelayedChallengeNonceVerifies) {
  Shield s;
  s.publish("[shield]\n");
  const std::string forwarded = s.forwardedText(invite(1), "203.0.113.5:5060");
  ASSERT_FALSE(forwarded.empty());
  const auto relayed = s.sendAll(
      backendAnswer(forwarded, 401, "WWW-Authenticate: Digest realm=\"example.com\", "
                                    "nonce=\"4fa3c9e1\", algorithm=MD5\r\n"),
      "10.0.0.1:5060");
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0].first, ep("203.0.113.5:5060"));  // Via received: the real source
  const filters::FilterChain& chain = s.pipeline().shield();
  auto verified = [&](const char* address) {
    return s.pipeline().shield().verified().contains(addrOf(address), chain.clockMs());
  };
  EXPECT_FALSE(verified("203.0.113.5"));
  // Another address with the right nonce, and the right address with a forged nonce: no.
  EXPECT_TRUE(s.forwards(withAuthorization(invite(2), "4fa3c9e1"), "203.0.113.6:5060"));
  EXPECT_FALSE(verified("203.0.113.6"));
  EXPECT_TRUE(s.forwards(withAuthorization(invite(3), "4fa3c9e2"), "203.0.113.5:5060"));
  EXPECT_FALSE(verified("203.0.113.5"));
  // The challenged client answering: verified.
  EXPECT_TRUE(s.forwards(withAuthorization(invite(4), "4fa3c9e1"), "203.0.113.5:5060"));
  EXPECT_TRUE(verified("203.0.113.5"));
}

// Overload from the backends' 503s: once they answer 503 to enough calls, a new INVITE from
// an unverified source gets the shield's own 503 and never reaches them, while an in-dialog
// request and a backend's response still pass.
TEST(PipelineShield, Backend503sShedNewInvites) {
  Shield s;
  s.publish("[shield]\n[shield.overload]\nbackend_min_responses = 10\n");
  std::vector<std::string> forwarded;
  for (int i = 0; i < 12; ++i) {
    forwarded.push_back(s.forwardedText(invite(100 + i), "203.0.113.7:5060"));
    ASSERT_FALSE(forwarded.back().empty()) << i;
  }
  for (int i = 0; i < 10; ++i) {
    const auto relayed = s.sendAll(backendAnswer(forwarded[static_cast<size_t>(i)], 503),
                                   "10.0.0.1:5060");
    ASSERT_EQ(relayed.size(), 1u) << i;  // the 503s themselves are relayed to the caller
  }
  bool sent = true;
  EXPECT_EQ(s.send(invite(200), "203.0.113.8:5060", sent), "SIP/2.0 503 Service Unavailable");
  EXPECT_FALSE(sent);
  EXPECT_EQ(s.pipeline().shield().reasonCount(filters::ShieldReason::OverloadShed), 1u);
  // In dialog (To-tag): forwarded.
  std::string in_dialog = invite(201);
  in_dialog.insert(in_dialog.find("To: <sip:bob@example.com>") + 25, ";tag=dlg");
  EXPECT_TRUE(s.forwards(in_dialog, "203.0.113.8:5060"));
  // A backend's 200 for an earlier call: relayed to its caller.
  const auto relayed = s.sendAll(backendAnswer(forwarded[10], 200), "10.0.0.1:5060");
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0].first, ep("203.0.113.7:5060"));
  // Two windows (2 s) later without more 503s the signal has lapsed.
  s.advanceMs(2100);
  EXPECT_TRUE(s.forwards(invite(202), "203.0.113.8:5060"));
}

}  // namespace
}  // namespace sipshield
