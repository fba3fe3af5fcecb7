#pragma once

// Shared set-up for the pipeline tests: a Pipeline wired to a real BackendPool snapshot, a
// real BranchSigner and (optionally) an affinity table, fed one datagram at a time.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lb/affinity_table.h"
#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/snapshot_publisher.h"
#include "parser/validate.h"
#include "src/packet.h"
#include "src/pipeline.h"
#include "src/runtime.h"

namespace sipshield::testing {

// Paths come from meson as compile definitions so the tests run from any directory.
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}
inline std::string corpus(const std::string& name) {
  std::string bytes = readFile(std::string(SIPSHIELD_CORPUS_DIR) + "/" + name);
  EXPECT_FALSE(bytes.empty()) << "missing corpus file " << name;
  return bytes;
}
inline std::string testMessage(const std::string& name) {
  std::string bytes = readFile(std::string(SIPSHIELD_TEST_DATA_DIR) + "/messages/" + name);
  EXPECT_FALSE(bytes.empty()) << "missing test message " << name;
  return bytes;
}

// replaceOnce replaces the first `from` in `s` by `to`; a missing `from` is a test bug.
inline std::string replaceOnce(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "test input lacks \"" << from << "\"";
  if (at != std::string::npos) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// A BYE a backend (10.0.0.1) sends toward a client in record-route mode; "@ROUTE@" stands for
// its Route lines.
inline constexpr std::string_view kBackendByeTemplate =
    "BYE sip:marta@198.51.100.7:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbk1\r\n"
    "Max-Forwards: 70\r\n"
    "@ROUTE@"
    "From: <sip:4155550142@sip.harborline.example>;tag=314159-hpbx\r\n"
    "To: \"Marta\" <sip:marta@voice.kestrel.example>;tag=9fxced76sl\r\n"
    "Call-ID: a84b4c76e66710b2c9f1d7e3@192.168.14.37\r\n"
    "CSeq: 1 BYE\r\n"
    "Content-Length: 0\r\n\r\n";

// afterStartLine inserts `text` right after the first CRLF.
inline std::string afterStartLine(const std::string& s, std::string_view text) {
  const size_t at = s.find("\r\n");
  EXPECT_NE(at, std::string::npos);
  return s.substr(0, at + 2) + std::string(text) + s.substr(at + 2);
}

inline net::Endpoint ep(std::string_view text) {
  auto parsed = net::Endpoint::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(net::Endpoint{});
}

// Scanned is one message scanned and validated by the parser (the reference for outputs):
// every via-parm checked, unless `vias` says only those the pipeline uses.
struct Scanned {
  std::string bytes;
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  parser::ScanResult result;

  explicit Scanned(std::string b, parser::ViaCheck vias = parser::ViaCheck::Every)
      : bytes(std::move(b)) {
    result = parser::scanAndValidate(parser::ByteView(bytes), parsed.message, summary, {}, vias);
  }
  [[nodiscard]] bool complete() const { return result.status == parser::ScanStatus::Complete; }
  [[nodiscard]] std::string_view view(parser::Span s) const {
    return std::string_view(bytes).substr(s.offset, s.length);
  }
  [[nodiscard]] std::string_view callId() const { return view(summary.call_id); }
  [[nodiscard]] std::string_view topBranch() const { return view(summary.top_via.branch); }
  [[nodiscard]] std::string_view topHost() const { return view(summary.top_via.host); }
  [[nodiscard]] std::string_view body() const {
    return std::string_view(bytes).substr(parsed.message.body_offset,
                                          parsed.message.body_length);
  }
};

// Sent is one datagram the pipeline put into its TxBatch, copied out.
struct Sent {
  std::string bytes;
  net::Endpoint destination;
  uint8_t local_index = 0;
};

struct HarnessOptions {
  std::vector<std::string> backends = {"10.0.0.1:5060", "10.0.0.2:5060"};
  std::vector<std::string> listen = {"192.0.2.10:5060", "[2001:db8::10]:5060"};
  // [server] backend_listen: bound after `listen`, so their local indexes follow its.
  std::vector<std::string> backend_listen;
  std::string advertise;  // empty: every socket advertises its own address
  bool record_route = false;
  bool affinity = true;
  char secret_fill = 'k';
  uint8_t key_id = 3;
  uint32_t tx_slots = 64;
};

inline constexpr uint64_t kStartNs = 1'000'000'000'000ull;  // 1000 s of monotonic time

// Harness owns everything a Pipeline reads: the backend pool (control plane), the publisher,
// the signer, the affinity table and a TxBatch. Not thread-safe, like the pipeline.
class Harness {
 public:
  explicit Harness(HarnessOptions options = {}) : options_(std::move(options)) {
    std::vector<uint8_t> secret(32, static_cast<uint8_t>(options_.secret_fill));
    auto signer = lb::BranchSigner::create(secret, options_.key_id);
    EXPECT_TRUE(signer.ok()) << signer.status().toString();
    signer_ = std::make_shared<const lb::BranchSigner>(std::move(signer).value());
    for (size_t i = 0; i < options_.backends.size(); ++i) {
      lb::BackendConfig config{std::string("b"), options_.backends[i], 1};
      config.name += std::to_string(i);
      auto index = pool_.addBackend(config);
      EXPECT_TRUE(index.ok()) << index.status().toString();
      backend_addresses_.push_back(ep(options_.backends[i]));
    }
    for (const std::string& l : options_.listen) {
      listen_.push_back(ep(l));
    }
    for (const std::string& l : options_.backend_listen) {
      backend_listen_.push_back(ep(l));
    }
    if (options_.affinity) {
      auto table = lb::AffinityTable::create({1u << 12, 3600 * 1000});
      EXPECT_TRUE(table.ok()) << table.status().toString();
      affinity_ = std::move(table).value();
    }
    publisher_ = std::make_unique<lb::SnapshotPublisher<RuntimeSnapshot>>(1);
    auto reader = publisher_->registerReader();
    EXPECT_TRUE(reader.ok());
    publish();
    pipeline_ = std::make_unique<Pipeline>(*publisher_, reader.ok() ? reader.value() : 0,
                                           affinity_.get());
    tx_ = std::make_unique<TxBatch>(options_.tx_slots);
  }

  // publish builds a RuntimeSnapshot from the pool's current state and publishes it.
  void publish() {
    auto dispatch = pool_.buildSnapshot();
    ASSERT_TRUE(dispatch.ok()) << dispatch.status().toString();
    auto snapshot = std::make_unique<RuntimeSnapshot>();
    snapshot->dispatch = std::shared_ptr<const lb::DispatchSnapshot>(std::move(dispatch).value());
    snapshot->backend_addresses = backend_addresses_;
    ServerConfig server;
    server.listen = listen_;
    server.backend_listen = backend_listen_;
    server.advertise = options_.advertise;
    snapshot->locals = buildLocals(server, socketAddresses(server));
    snapshot->signer = signer_;
    snapshot->record_route = options_.record_route;
    snapshot->tag_seed = 0x5eed;
    snapshot->version = ++version_;
    publisher_->publish(std::move(snapshot));
  }

  // send runs one datagram through the pipeline as a burst of one and returns what it sent.
  std::vector<Sent> send(const std::string& bytes, const net::Endpoint& source,
                         uint8_t local_index = 0) {
    RxPacket packet;
    packet.data = reinterpret_cast<const uint8_t*>(bytes.data());
    packet.length = static_cast<uint32_t>(bytes.size());
    packet.source = source;
    packet.local_index = local_index;
    return burst(std::span<const RxPacket>(&packet, 1));
  }

  std::vector<Sent> burst(std::span<const RxPacket> packets) {
    tx_->clear();
    now_ns_ += 1000000;
    pipeline_->processBurst(packets, *tx_, now_ns_);
    std::vector<Sent> out;
    for (const TxPacket& p : tx_->ready()) {
      out.push_back({std::string(reinterpret_cast<const char*>(p.data), p.length),
                     p.destination, p.local_index});
    }
    tx_->clear();
    return out;
  }

  // branch is the branch our signer makes for a client branch and Call-ID.
  [[nodiscard]] std::string branch(std::string_view client_branch,
                                   std::string_view call_id) const {
    char buffer[64];
    const size_t n = signer_->makeBranch(client_branch, call_id, buffer);
    EXPECT_EQ(n, lb::kBranchLength);
    return std::string(buffer, n);
  }

  [[nodiscard]] uint64_t counter(PipelineCounter c) const { return pipeline_->counters().get(c); }
  [[nodiscard]] uint64_t outcomes() const {
    uint64_t sum = 0;
    for (size_t i = 0; i < kPipelineCounterCount; ++i) {
      if (static_cast<PipelineCounter>(i) != PipelineCounter::Received) {
        sum += counter(static_cast<PipelineCounter>(i));
      }
    }
    return sum;
  }
  [[nodiscard]] int backendOf(const net::Endpoint& destination) const {
    for (size_t i = 0; i < backend_addresses_.size(); ++i) {
      if (backend_addresses_[i] == destination) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  lb::BackendPool& pool() { return pool_; }
  Pipeline& pipeline() { return *pipeline_; }
  TxBatch& tx() { return *tx_; }
  [[nodiscard]] const lb::BranchSigner& signer() const { return *signer_; }
  [[nodiscard]] uint64_t nowNs() const { return now_ns_; }

 private:
  HarnessOptions options_;
  lb::BackendPool pool_{lb::HealthPolicy{}, 1021};
  std::vector<net::Endpoint> backend_addresses_;
  std::vector<net::Endpoint> listen_;
  std::vector<net::Endpoint> backend_listen_;
  std::shared_ptr<const lb::BranchSigner> signer_;
  std::unique_ptr<lb::AffinityTable> affinity_;
  std::unique_ptr<lb::SnapshotPublisher<RuntimeSnapshot>> publisher_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<TxBatch> tx_;
  uint64_t version_ = 0;
  uint64_t now_ns_ = kStartNs;
};

}  // namespace sipshield::testing
