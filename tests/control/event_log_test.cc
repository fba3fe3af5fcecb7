#include "src/control/event_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sipshield::control {
namespace {

using nlohmann::json;

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipshield-eventlog-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/events.jsonl";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::vector<json> lines() const {
    std::ifstream in(path_);
    std::vector<json> out;
    std::string line;
    while (std::getline(in, line)) {
      out.push_back(json::parse(line));  // throws (fails the test) on a non-JSON line
    }
    return out;
  }
  std::string dir_;
  std::string path_;
  uint64_t now_ms_ = 1000;
  EventLog::MonotonicClock clock_ = [this] { return now_ms_; };
};

// Each line is one JSON object with ts, event and the fields, in that order.
TEST_F(EventLogTest, WritesJsonLinesToAFile) {
  EventLog log({}, clock_);
  ASSERT_TRUE(log.open(path_).isOk());
  EXPECT_TRUE(log.log("backend_down", std::string_view("pbx-a (probe timeout)")));
  EXPECT_TRUE(log.log("ban_set", json{{"source", "192.0.2.7"}, {"rule", "invite-flood"},
                                      {"event", "ignored"}}));
  EXPECT_TRUE(log.log("quote\"and\nnewline", std::string_view("bad \xff utf8")));
  auto out = lines();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["event"], "backend_down");
  EXPECT_EQ(out[0]["detail"], "pbx-a (probe timeout)");
  EXPECT_EQ(out[1]["event"], "ban_set");
  EXPECT_EQ(out[1]["source"], "192.0.2.7");
  EXPECT_EQ(out[2]["event"], "quote\"and\nnewline");
  ASSERT_TRUE(out[0]["ts"].is_string());
  EXPECT_EQ(out[0]["ts"].get<std::string>().size(), 24u);  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(out[0]["ts"].get<std::string>().back(), 'Z');
  struct stat st{};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077 & ~0040, 0u) << "no write or read for others";
}

// A flood is cut to the burst, the count of dropped lines rides on the next written line, and
// the bucket refills at the configured rate.
TEST_F(EventLogTest, RateLimitsAndReportsSuppressedCounts) {
  EventLog log({/*rate_per_s=*/10, /*burst=*/5}, clock_);
  ASSERT_TRUE(log.open(path_).isOk());
  int written = 0;
  for (int i = 0; i < 100; ++i) {
    written += log.log("ban_set", json{{"i", i}}) ? 1 : 0;
  }
  EXPECT_EQ(written, 5);
  EXPECT_EQ(log.suppressed(), 95u);
  now_ms_ += 100;  // one token at 10/s
  EXPECT_TRUE(log.log("backend_up", std::string_view("pbx-a")));
  EXPECT_FALSE(log.log("backend_up", std::string_view("pbx-b")));
  now_ms_ += 1000;  // refills to the burst, not beyond
  log.flushSuppressed();
  auto out = lines();
  ASSERT_EQ(out.size(), 7u);
  EXPECT_FALSE(out[4].contains("suppressed"));
  EXPECT_EQ(out[5]["event"], "backend_up");
  EXPECT_EQ(out[5]["suppressed"], 95);
  EXPECT_EQ(out[6]["event"], "events_suppressed");
  EXPECT_EQ(out[6]["count"], 1);
  written = 0;
  for (int i = 0; i < 20; ++i) {
    written += log.log("x") ? 1 : 0;
  }
  EXPECT_EQ(written, 4);  // burst 5, one spent on events_suppressed
}

// A file that cannot be opened is an error naming the path; the log keeps its destination.
TEST_F(EventLogTest, OpenFailureNamesThePath) {
  EventLog log({}, clock_);
  Status s = log.open(dir_ + "/missing-dir/events.jsonl");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("missing-dir/events.jsonl"), std::string::npos);
  EXPECT_TRUE(log.open("stderr").isOk());
  EXPECT_TRUE(log.reopen().isOk());
}

}  // namespace
}  // namespace sipshield::control
