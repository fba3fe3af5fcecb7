#include "src/control/ctl_format.h"

#include <gtest/gtest.h>

namespace sipshield::control {
namespace {

using nlohmann::json;

// The backends answer becomes one row per backend under a header.
TEST(CtlFormatTest, BackendsTable) {
  json answer = json::parse(R"({"backends":[
    {"name":"pbx-a","address":"127.0.0.2:5060","state":"up","weight":100,"requests":12,
     "healthy":true,"draining":false,"health":{"consecutive_successes":5,
     "consecutive_failures":0,"passive_failures":0,"last_change_ago_ms":65000}},
    {"name":"pbx-b","address":"127.0.0.3:5060","state":"draining","weight":50,"requests":0,
     "healthy":true,"draining":true,"health":{"consecutive_successes":0,
     "consecutive_failures":2,"passive_failures":1,"last_change_ago_ms":900}}]})");
  EXPECT_EQ(formatAnswer("backends", answer),
            "NAME   ADDRESS         STATE     WEIGHT  REQUESTS  OK-RUN  FAIL-RUN  PASSIVE  "
            "LAST-CHANGE\n"
            "pbx-a  127.0.0.2:5060  up        100     12        5       0         0        "
            "1m05s ago\n"
            "pbx-b  127.0.0.3:5060  draining  50      0         0       2         1        "
            "900ms ago\n");
}

// The stats answer has a TOTAL column and one per worker; groups follow.
TEST(CtlFormatTest, StatsTable) {
  json answer = json::parse(R"({
    "total":{"counters":{"received":3},"io":{"sent":2},"bursts":{"count":0,"sum_seconds":0}},
    "workers":[{"worker":0,"counters":{"received":1},"io":{"sent":2}},
               {"worker":1,"counters":{"received":2},"io":{"sent":0}}],
    "groups":{"filter_dropped":{"invite-flood":9}}})");
  EXPECT_EQ(formatAnswer("stats", answer),
            "COUNTER                      TOTAL  W0  W1\n"
            "received                     3      1   2\n"
            "io_sent                      2      2   0\n"
            "filter_dropped.invite-flood  9\n");
}

// Unknown shapes (a filters provider's top/bans/rules) still come out readable.
TEST(CtlFormatTest, GenericAnswers) {
  struct Row {
    const char* description;
    const char* command;
    const char* answer;
    const char* expected;
  };
  const Row rows[] = {
      {"ok with fields", "drain", R"({"ok":true,"backend":"pbx-a"})", "ok\nbackend: pbx-a\n"},
      {"array of objects", "bans",
       R"({"bans":[{"address":"192.0.2.7","seconds":60},{"address":"2001:db8::/48"}]})",
       "bans:\nADDRESS        SECONDS\n192.0.2.7      60\n2001:db8::/48  -\n"},
      {"identity, then state, then counters (not alphabetical)", "rules",
       R"({"rules":[{"seen":9,"dropped":2,"name":"inv","action":"drop","matched":3,"zz":1}]})",
       "rules:\nNAME  ACTION  SEEN  MATCHED  DROPPED  ZZ\ninv   drop    9     3        2        1\n"},
      {"scalars", "rules", R"({"dry_run":false,"rules":[]})", "dry_run: no\nrules: []\n"},
      {"empty", "top", "{}", "(empty)\n"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(formatAnswer(row.command, json::parse(row.answer)), row.expected)
        << row.description;
  }
}

TEST(CtlFormatTest, Ages) {
  const std::pair<uint64_t, const char*> rows[] = {
      {0, "0ms"},         {999, "999ms"},      {1000, "1s"},        {59999, "59s"},
      {60000, "1m00s"},   {3599000, "59m59s"}, {3600000, "1h00m"},  {86400000, "1d00h"},
      {90061000, "1d01h"}};
  for (const auto& [ms, text] : rows) {
    EXPECT_EQ(formatAge(ms), text) << ms;
  }
}

}  // namespace
}  // namespace sipshield::control
