// libFuzzer target: the whole per-packet path (DoS shield, scan, dispatch, Via/Record-Route
// rewrite, stateless replies, response routing) on arbitrary datagrams, through both the copy
// path (io_uring) and the in-place path (DPDK mbufs), from clients and from a backend.
// Any verdict is fine; a crash, a sanitizer report or a datagram written outside the bytes it
// was lent is a bug. The pipeline and its tables live across inputs, as they do in a worker.
//
// The first input byte picks the case: bit 0 in place, bits 1-2 the source (IPv4 client,
// IPv6 client, backend), bit 3 "sign the response": a response's top Via branch is replaced
// by the MAC the balancer would have written (same length only), so responses get past the
// spoof check into routing; bits 4-5 the socket it came in on (IPv4 or IPv6 client side,
// the backend side: a request that changes sockets is double record-routed). The rest is the
// datagram. Seeds (tests/fuzz/corpus/pipeline) are the scan seeds behind mode bytes 00, 01,
// 03, 05 (requests) and 0c, 0d (signed responses).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lb/affinity_table.h"
#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "lb/snapshot_publisher.h"
#include "parser/validate.h"
#include "src/config.h"
#include "src/packet.h"
#include "src/pipeline.h"
#include "src/runtime.h"

namespace {

using namespace sipshield;

constexpr const char* kConfig = R"(
[balancer]
secret = "00112233445566778899aabbccddeeff"
record_route = true
[[backend]]
name = "b4"
address = "198.18.1.31:5060"
[[backend]]
name = "b6"
address = "[2001:db8::31]:5060"
[shield]
trusted = ["198.18.9.0/24"]
[shield.acl]
deny = ["198.18.66.0/24"]
[shield.scanner]
patterns = ["friendly-scanner", { text = "sipvicious", fields = ["from", "to"] }]
action = "ban"
ban_seconds = 60
[shield.flood]
window_ms = 1000
source_threshold = 50
prefix_threshold = 500
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
key = "source"
rate = 5
burst = 10
action = "ban"
ban_after = 5
ban_seconds = 30
[[shield.rate_limit]]
name = "register-ceiling"
methods = ["REGISTER"]
key = "global"
rate = 100
burst = 200
action = "reply"
reply_status = 503
retry_after_s = 5
[shield.tables]
buckets = 1024
bans = 256
verified = 1024
hop_prefixes = 1024
sketch_width = 1024
sketch_depth = 2
nonces = 1024
)";

const net::Endpoint kBackend = *net::Endpoint::parse("198.18.1.31:5060");
const net::Endpoint kClient4 = *net::Endpoint::parse("198.18.0.2:5070");
const net::Endpoint kClient6 = *net::Endpoint::parse("[2001:db8::2]:5070");

struct World {
  std::shared_ptr<const lb::BranchSigner> signer;
  std::unique_ptr<lb::AffinityTable> affinity;
  lb::SnapshotPublisher<RuntimeSnapshot> publisher{1};
  std::unique_ptr<Pipeline> pipeline;
  TxBatch tx{8};

  World() {
    auto config = parseConfig(kConfig, "fuzz.toml");
    if (!config.isOk()) {
      std::abort();
    }
    lb::BackendPool pool;
    auto snapshot = std::make_unique<RuntimeSnapshot>();
    for (const auto& backend : config->backends) {
      (void)pool.addBackend({backend.name, backend.address.toString(), 100});
      snapshot->backend_addresses.push_back(backend.address);
    }
    snapshot->dispatch =
        std::shared_ptr<const lb::DispatchSnapshot>(std::move(pool.buildSnapshot().value()));
    signer = std::make_shared<const lb::BranchSigner>(
        std::move(lb::BranchSigner::create(std::vector<uint8_t>(16, 7), 1).value()));
    snapshot->signer = signer;
    ServerConfig server;
    server.listen = {*net::Endpoint::parse("198.18.0.1:5060"),
                     *net::Endpoint::parse("[2001:db8::1]:5060")};
    // A backend side too, so that requests change sockets and get two Record-Routes.
    server.backend_listen = {*net::Endpoint::parse("198.18.1.1:5060")};
    snapshot->locals = buildLocals(server, socketAddresses(server));
    snapshot->record_route = true;
    snapshot->shield = config->shield.rules;
    snapshot->tag_seed = 0x5eed;
    publisher.publish(std::move(snapshot));
    lb::AffinityConfig affinity_config;
    affinity_config.capacity = 1024;
    affinity = std::move(lb::AffinityTable::create(affinity_config).value());
    pipeline = std::make_unique<Pipeline>(publisher, publisher.registerReader().value(),
                                          affinity.get(), config->shield.sizes);
  }
};

// signResponse overwrites the top Via branch of a response with the balancer's MAC for it,
// when the lengths match, so the response reaches routing.
void signResponse(const World& world, std::vector<uint8_t>& bytes) {
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  const parser::ByteView in(bytes.data(), bytes.size());
  if (!parser::scanAndValidate(in, parsed.message, summary, {}, parser::ViaCheck::Used).ok() ||
      parsed.message.isRequest() || summary.via_count < 2) {
    return;
  }
  parser::ViaCursor vias(in, parsed.message);
  parser::ViaEntry top;
  parser::ViaEntry second;
  if (!vias.next(top) || !vias.next(second)) {
    return;
  }
  char branch[64];
  const size_t length = world.signer->makeBranch(in.view(second.branch), in.view(summary.call_id),
                                                 std::span<char>(branch, sizeof(branch)));
  if (length != 0 && length == top.branch.length) {
    std::memcpy(bytes.data() + top.branch.offset, branch, length);
  }
}

// verdictCount sums the pipeline's outcome counters and the shield's stops.
uint64_t verdictCount(const Pipeline& pipeline) {
  uint64_t total = 0;
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    if (static_cast<PipelineCounter>(c) != PipelineCounter::Received) {
      total += pipeline.counters().get(static_cast<PipelineCounter>(c));
    }
  }
  for (size_t r = 0; r < filters::kShieldReasonCount; ++r) {
    total += pipeline.shield().reasonCount(static_cast<filters::ShieldReason>(r));
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  static uint64_t now_ns = 1'000'000'000;
  if (size < 1) {
    return 0;
  }
  const uint8_t mode = data[0];
  const bool in_place = (mode & 1) != 0;
  const int source_kind = (mode >> 1) & 3;
  std::vector<uint8_t> message(data + 1, data + size);
  if ((mode & 8) != 0) {
    signResponse(world, message);
  }

  // The datagram in an exact-size heap buffer with room around it, as an mbuf lends it: ASan
  // reports any write outside [buffer, buffer + room).
  constexpr uint16_t kHeadroom = 128;
  constexpr uint16_t kTailroom = 64;
  std::vector<uint8_t> buffer(kHeadroom + message.size() + kTailroom, 0);
  std::copy(message.begin(), message.end(), buffer.begin() + kHeadroom);
  RxPacket packet;
  packet.data = buffer.data() + kHeadroom;
  packet.length = static_cast<uint32_t>(message.size());
  packet.source = source_kind == 0 ? kClient4 : source_kind == 1 ? kClient6 : kBackend;
  packet.ttl = 60;
  packet.local_index = static_cast<uint8_t>(((mode >> 4) & 3) % 3);  // the socket it came in on
  if (in_place) {
    packet.writable = buffer.data() + kHeadroom;
    packet.headroom = kHeadroom;
    packet.tailroom = kTailroom;
  }
  now_ns += 1'000'000;  // 1 ms per datagram: rate limits refill, bans expire
  world.tx.clear();
  const uint64_t verdicts_before = verdictCount(*world.pipeline);
  world.pipeline->processBurst(std::span<const RxPacket>(&packet, 1), world.tx, now_ns);
  // Every datagram ends in exactly one counted verdict (forwarded, replied, absorbed, or
  // dropped for a reason): nothing vanishes uncounted, nothing is counted twice.
  if (verdictCount(*world.pipeline) != verdicts_before + 1) {
    std::fprintf(stderr, "pipeline_fuzz: %llu verdicts counted for one datagram\n",
                 static_cast<unsigned long long>(verdictCount(*world.pipeline) - verdicts_before));
    std::abort();
  }

  uint32_t sum = 0;
  for (const TxPacket& out : world.tx.ready()) {
    if (out.length == 0 || out.length > TxBatch::kSlotBytes) {
      std::abort();
    }
    if (out.in_place_of != nullptr) {
      if (!in_place || out.data < buffer.data() ||
          out.data + out.length > buffer.data() + buffer.size()) {
        std::abort();
      }
    }
    // Read every byte sent, so ASan checks the whole datagram is inside its buffer.
    for (uint32_t i = 0; i < out.length; ++i) {
      sum += out.data[i];
    }
  }
  // Every datagram sent is a SIP message our own scanner accepts (with room for the header
  // lines the balancer adds to a message that had all the default capacity).
  for (const TxPacket& out : world.tx.ready()) {
    static parser::ParsedMessage<2 * parser::kDefaultHeaderCapacity> parsed;
    const parser::ScanResult verdict = parser::scan(parser::ByteView(out.data, out.length),
                                                    parsed.message);
    if (verdict.status != parser::ScanStatus::Complete) {
      std::fprintf(stderr, "pipeline_fuzz: sent a datagram our scanner rejects (%s at %u):\n%.*s\n",
                   std::string(parser::scanErrorName(verdict.error)).c_str(),
                   verdict.error_offset, static_cast<int>(out.length),
                   reinterpret_cast<const char*>(out.data));
      std::abort();
    }
  }
  return static_cast<int>(sum & 0);
}
