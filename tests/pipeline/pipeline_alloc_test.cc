// The pipeline allocates nothing per packet after warm-up (DESIGN.md: "No locks, no
// allocation, no syscalls per packet inside the pipeline"). This binary links the counting
// operator new/delete (tests/common/counting_allocator.cc), warms a Pipeline up with every corpus message,
// then runs 10,000 bursts of 32 mixed packets and checks the count did not move.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "pipeline_test_util.h"
#include "tests/common/counting_allocator.h"


namespace sipshield::testing {
namespace {

// The hook is live: an allocation the optimiser cannot drop moves the counter (so the real
// test below can fail).
TEST(AllocationCounter, CountsAllocations) {
  const uint64_t before = allocationCount();
  std::string s(200, 'x');
  asm volatile("" : : "r"(s.data()) : "memory");
  EXPECT_GT(allocationCount(), before);
}

// withOurVia puts our signed Via on its own line on top of a response.
std::string withOurVia(const Harness& h, const std::string& response) {
  Scanned s(response);
  EXPECT_TRUE(s.complete());
  return afterStartLine(response, "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" +
                                      h.branch(s.topBranch(), s.callId()) + "\r\n");
}

TEST(PipelineAllocation, NothingPerPacketAfterWarmUp) {
  HarnessOptions options;
  options.record_route = true;
  Harness h(options);

  // Every kind of traffic the pipeline has a path for, with its source.
  struct Input {
    std::string bytes;
    net::Endpoint source;
  };
  std::vector<Input> inputs;
  const net::Endpoint client = ep("198.51.100.77:41000");
  const net::Endpoint backend = ep("10.0.0.1:5060");
  for (const char* name : {"01_invite_sdp.sip", "05_ack.sip", "06_bye.sip",
                           "08_register_initial.sip", "10_register_digest.sip",
                           "12_options_keepalive.sip", "13_cancel.sip",
                           "14_compact_message.sip", "15_folded_subscribe.sip",
                           "17_scanner_options.sip", "18_notify_mwi.sip"}) {
    inputs.push_back({corpus(name), client});
  }
  for (const char* name : {"02_100_trying.sip", "03_180_ringing.sip",
                           "04_200_ok_invite_sdp.sip", "07_200_ok_bye.sip",
                           "09_401_unauthorized.sip", "11_200_ok_register.sip",
                           "16_486_multivia_line.sip"}) {
    inputs.push_back({withOurVia(h, corpus(name)), backend});   // verified, forwarded
    inputs.push_back({corpus(name), backend});                  // spoofed, dropped
  }
  const std::string invite = corpus("01_invite_sdp.sip");
  inputs.push_back({replaceOnce(invite, "Max-Forwards: 67", "Max-Forwards: 0"), client});  // 483
  inputs.push_back({invite.substr(0, 500), client});                                       // cut
  inputs.push_back({replaceOnce(invite, "CSeq: 20 INVITE", "CSeq: 20 BYE"), client});    // bad
  inputs.push_back({"\r\n\r\n", client});                                                  // ping
  inputs.push_back({"\r\n", client});                                                      // pong
  inputs.push_back({std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), client});
  inputs.push_back({"BYE sip:marta@198.51.100.7:5070 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbk1\r\n"
                    "Max-Forwards: 70\r\n"
                    "Route: <sip:192.0.2.10:5060;lr>, <sip:198.51.100.7:5070;lr>\r\n"
                    "From: <sip:4155550142@sip.harborline.example>;tag=314159-hpbx\r\n"
                    "To: <sip:marta@voice.kestrel.example>;tag=9fxced76sl\r\n"
                    "Call-ID: a84b4c76e66710b2c9f1d7e3@192.168.14.37\r\n"
                    "CSeq: 1 BYE\r\n"
                    "Content-Length: 0\r\n\r\n",
                    backend});  // from a backend, routed by Route
  // A fresh Call-ID every burst (rewritten in place), so affinity inserts and evictions run too.
  const std::string kCallId = "a84b4c76e66710b2c9f1d7e3@192.168.14.37";
  inputs.push_back({replaceOnce(invite, kCallId, "fresh-00000000@alloc.test"), client});
  Input& fresh = inputs.back();
  const size_t fresh_digits = fresh.bytes.find("fresh-") + 6;

  std::vector<RxPacket> packets;
  for (const Input& in : inputs) {
    RxPacket p;
    p.data = reinterpret_cast<const uint8_t*>(in.bytes.data());
    p.length = static_cast<uint32_t>(in.bytes.size());
    p.source = in.source;
    packets.push_back(p);
  }
  // Lay the packets out twice so any 32 consecutive ones can be taken as one burst.
  const size_t kinds = packets.size();
  ASSERT_GE(2 * kinds, size_t{kMaxBurst});
  std::vector<RxPacket> ring = packets;
  ring.insert(ring.end(), packets.begin(), packets.end());
  ring.insert(ring.end(), packets.begin(), packets.end());

  Pipeline& pipeline = h.pipeline();
  TxBatch& tx = h.tx();
  uint64_t now_ns = kStartNs;
  // Warm-up: every message once, alone and in a full burst.
  for (const RxPacket& p : packets) {
    pipeline.processBurst(std::span<const RxPacket>(&p, 1), tx, now_ns);
    tx.clear();
  }
  pipeline.processBurst(std::span<const RxPacket>(ring.data(), kMaxBurst), tx, now_ns);
  tx.clear();
  pipeline.idle(tx, now_ns);

  auto counter = [&](PipelineCounter c) { return pipeline.counters().get(c); };
  const uint64_t forwarded_requests = counter(PipelineCounter::ForwardedRequests);
  const uint64_t forwarded_responses = counter(PipelineCounter::ForwardedResponses);
  const uint64_t received = counter(PipelineCounter::Received);
  uint64_t sent = 0;

  constexpr int kBursts = 10000;
  const uint64_t before = allocationCount();
  for (int burst = 0; burst < kBursts; ++burst) {
    uint32_t v = static_cast<uint32_t>(burst);
    for (int d = 7; d >= 0; --d) {
      fresh.bytes[fresh_digits + static_cast<size_t>(d)] = "0123456789abcdef"[v & 0xF];
      v >>= 4;
    }
    now_ns += 50000;  // 50 us per burst: the affinity clock moves across ticks
    const size_t start = static_cast<size_t>(burst) % kinds;
    pipeline.processBurst(std::span<const RxPacket>(ring.data() + start, kMaxBurst), tx, now_ns);
    sent += tx.size();
    tx.clear();
    if (burst % 100 == 0) {
      pipeline.idle(tx, now_ns);
    }
  }
  const uint64_t after = allocationCount();

  EXPECT_EQ(after - before, 0u) << "allocations in " << kBursts << " bursts of " << kMaxBurst;
  // The loop really went through every path (else the test would prove nothing).
  EXPECT_EQ(counter(PipelineCounter::Received) - received, uint64_t{kBursts} * kMaxBurst);
  EXPECT_GT(counter(PipelineCounter::ForwardedRequests) - forwarded_requests, 10000u);
  EXPECT_GT(counter(PipelineCounter::ForwardedResponses) - forwarded_responses, 10000u);
  for (PipelineCounter c :
       {PipelineCounter::RepliedTooManyHops, PipelineCounter::Keepalive,
        PipelineCounter::DroppedMalformed, PipelineCounter::DroppedTruncated,
        PipelineCounter::DroppedSpoofedResponse}) {
    EXPECT_GT(counter(c), 1000u) << pipelineCounterName(c);
  }
  EXPECT_GT(sent, 0u);
  EXPECT_GT(pipeline.dispatchStats().get(lb::DispatchCounter::AffinityInserted), 5000u);
}

}  // namespace
}  // namespace sipshield::testing
