// Overload fed by the backends' 503s (issue 4 "Overload priority"): the detector's windowed
// 503 share with hysteresis, its shared signal, and the chain shedding new INVITEs from
// unverified sources while it is on. Fake clock.

#include "filters/overload.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "filters/shared_state.h"
#include "tests/filters/filters_test_util.h"

namespace sipshield::filters {
namespace {

using testing::ChainHarness;
using testing::Msg;
using testing::request;
using testing::response;

OverloadConfig config() {
  OverloadConfig c;
  c.enabled = true;
  c.backend_503_enter = 0.2;
  c.backend_503_exit = 0.05;
  c.backend_window_ms = 1000;
  c.backend_min_responses = 20;
  return c;
}

// feed spreads `total` responses, `fives` of them 503s (interleaved), evenly over one window
// starting at `start_ms`.
void feed(OverloadDetector& d, const OverloadConfig& c, uint64_t start_ms, int total, int fives) {
  for (int i = 0; i < total; ++i) {
    const bool is_503 = fives > 0 && (i * fives) / total != ((i + 1) * fives) / total;
    d.observeBackendResponse(c, is_503, start_ms + static_cast<uint64_t>(i) * 999 / total);
  }
}

// Window by window: the state after each window (checked at the start of the next one, once
// the window closed). Enter at >= 20% of >= 20 responses, leave at <= 5% (hysteresis), too
// few responses say nothing and the signal lapses two windows after it was last renewed.
TEST(OverloadDetector, BackendShareWindowsTable) {
  struct Window {
    int total;
    int fives;
    bool overloaded_after;  // at the start of the next window, after it closed
  };
  struct Row {
    const char* desc;
    std::vector<Window> windows;
  };
  const Row rows[] = {
      {"calm", {{100, 0, false}, {100, 5, false}}},
      {"enter at 20%", {{100, 20, true}}},
      {"just below enter", {{100, 19, false}}},
      {"too few responses", {{19, 19, false}}},
      {"hysteresis: 10% keeps it on", {{100, 50, true}, {100, 10, true}, {100, 10, true}}},
      {"leave at 5%", {{100, 50, true}, {100, 5, true}, {100, 0, false}}},
      {"silence: lapses after two windows", {{100, 50, true}, {0, 0, true}, {0, 0, false}}},
      {"10% never enters", {{100, 10, false}, {100, 10, false}}},
  };
  for (const Row& r : rows) {
    const OverloadConfig c = config();
    OverloadDetector d;
    uint64_t t = 10'000;
    for (size_t w = 0; w < r.windows.size(); ++w) {
      feed(d, c, t, r.windows[w].total, r.windows[w].fives);
      t += 1000;
      // The window closes with the next response (a 200 here, counted in the next window).
      d.observeBackendResponse(c, false, t);
      EXPECT_EQ(d.overloaded(t + 1), r.windows[w].overloaded_after) << r.desc << " window " << w;
      EXPECT_EQ(d.backendSignal(t + 1), r.windows[w].overloaded_after) << r.desc;
      EXPECT_FALSE(d.burstOverloaded()) << r.desc;
    }
  }
}

// Within a window the signal comes on as soon as 20 responses hold 20% 503s, not a window
// later; force() overrides it both ways.
TEST(OverloadDetector, EntersEarlyAndForceOverrides) {
  const OverloadConfig c = config();
  OverloadDetector d;
  for (int i = 0; i < 16; ++i) {
    d.observeBackendResponse(c, false, 5000 + i);
  }
  for (int i = 0; i < 3; ++i) {
    d.observeBackendResponse(c, true, 5020 + i);
  }
  EXPECT_FALSE(d.overloaded(5030));  // 19 responses: not enough yet
  d.observeBackendResponse(c, true, 5031);
  EXPECT_TRUE(d.overloaded(5031));   // 4 of 20
  d.force(0);
  EXPECT_FALSE(d.overloaded(5031));
  d.force(-1);
  EXPECT_TRUE(d.overloaded(5031));
  EXPECT_FALSE(d.overloaded(5000 + 2000 + 1000));  // lapsed: two windows after 5031
}

// Two workers' detectors share one signal: the worker that sees the 503s turns shedding on
// for the worker that sees the INVITEs.
TEST(OverloadDetector, SharedSignalAcrossWorkers) {
  const OverloadConfig c = config();
  BackendLoadSignal shared;
  OverloadDetector seer;
  OverloadDetector other;
  seer.attach(&shared);
  other.attach(&shared);
  feed(seer, c, 1000, 40, 40);
  EXPECT_TRUE(other.overloaded(2000));
  EXPECT_FALSE(other.burstOverloaded());
}

std::string backendResponse(int status, int n) {
  return "SIP/2.0 " + std::to_string(status) +
         " X\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-r" + std::to_string(n) +
         "\r\nFrom: <sip:alice@example.com>;tag=abc\r\nTo: <sip:bob@example.com>;tag=xyz\r\n"
         "Call-ID: call-" + std::to_string(n) + "@test\r\nCSeq: 1 INVITE\r\n"
         "Content-Length: 0\r\n\r\n";
}

// The chain: backends answering 503 make it shed new INVITEs from unverified sources with a
// 503; in-dialog requests and responses still pass; calm responses end it (hysteresis).
TEST(OverloadChain, Backend503sShedNewInvites) {
  ChainHarness h;
  h.rules->overload.enabled = true;
  h.install();
  Msg invite(request("INVITE"));
  Msg reinvite(request("INVITE", "", "dlg-1"));
  Msg ok(response());
  EXPECT_TRUE(h.full("192.0.2.1", invite).pass());
  for (int i = 0; i < 30; ++i) {
    Msg r(backendResponse(i % 2 == 0 ? 503 : 200, i));
    h.chain->observeBackendResponse(r.in(), r.parsed.message, testing::addr("192.0.2.99"),
                                    h.now);
    h.now += 10;
  }
  const Verdict shed = h.full("192.0.2.1", invite);
  EXPECT_EQ(shed.action, Action::Reply);
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(shed.reason, ShieldReason::OverloadShed);
  EXPECT_TRUE(h.full("192.0.2.1", reinvite).pass());
  EXPECT_TRUE(h.full("192.0.2.1", ok).pass());
  // The backends recover: a window of 200s ends it, and the signal lapses.
  for (int w = 0; w < 4; ++w) {
    for (int i = 0; i < 30; ++i) {
      Msg r(backendResponse(200, i));
      h.chain->observeBackendResponse(r.in(), r.parsed.message, testing::addr("192.0.2.99"),
                                      h.now);
      h.now += 34;
    }
  }
  EXPECT_TRUE(h.full("192.0.2.1", invite).pass());
}

// Without [shield.overload] (disabled) backend 503s shed nothing.
TEST(OverloadChain, DisabledIgnores503s) {
  ChainHarness h;
  h.install();
  for (int i = 0; i < 50; ++i) {
    Msg r(backendResponse(503, i));
    h.chain->observeBackendResponse(r.in(), r.parsed.message, testing::addr("192.0.2.99"),
                                    h.now);
  }
  Msg invite(request("INVITE"));
  EXPECT_TRUE(h.full("192.0.2.1", invite).pass());
}

}  // namespace
}  // namespace sipshield::filters
