// TargetsReporter (bench/parse_targets.h): which repetition counts, and the three verdicts at
// and around their thresholds.
#include "bench/parse_targets.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace sipshield::bench {
namespace {

using BenchRun = benchmark::BenchmarkReporter::Run;

BenchRun run(const std::string& name, double ns_per_pass, bool aggregate_median = false) {
  BenchRun r;
  r.run_name.function_name = name;
  r.iterations = 1;
  r.real_accumulated_time = ns_per_pass * 1e-9;  // seconds per iteration
  r.cpu_accumulated_time = r.real_accumulated_time;
  r.time_unit = benchmark::kNanosecond;
  if (aggregate_median) {
    r.run_type = BenchRun::RT_Aggregate;
    r.aggregate_name = "median";
  }
  return r;
}

// report feeds `runs` one by one and returns what Finalize printed.
std::string report(const std::vector<BenchRun>& runs, size_t messages = 10) {
  std::ostringstream out;
  std::ostringstream err;
  TargetsReporter reporter(benchmark::ConsoleReporter::OO_None, "corpus", messages);
  reporter.SetOutputStream(&out);
  reporter.SetErrorStream(&err);
  for (const BenchRun& r : runs) {
    reporter.ReportRuns({r});
  }
  out.str("");
  reporter.Finalize();
  return out.str();
}

TEST(ParseTargetsTest, FastestRepetitionOfEachSubject) {
  const std::string text = report({
      run("BM_ScanAndValidate/corpus", 2000), run("BM_ScanAndValidate/corpus", 1000),
      run("BM_MemchrLines/corpus", 600), run("BM_MemchrLines/corpus", 500),
      run("BM_Sofia/corpus", 15000), run("BM_Osip/corpus", 29000),
      run("BM_Osip/corpus", 31000),
      run("BM_ScanAndValidate/invite", 10),  // another set: ignored
  });
  EXPECT_NE(text.find("fastest repetition"), std::string::npos) << text;
  EXPECT_NE(text.find("full scan 100.0"), std::string::npos) << text;  // 1000 ns / 10 messages
  EXPECT_NE(text.find("15.00x faster (target 15x: met)"), std::string::npos) << text;
  EXPECT_NE(text.find("29.00x faster (target 30x: not met)"), std::string::npos) << text;
  EXPECT_NE(text.find("takes 2.00x (target within 2x: met)"), std::string::npos) << text;
}

TEST(ParseTargetsTest, JustOutsideEachTarget) {
  const std::string text = report({
      run("BM_ScanAndValidate/corpus", 1000), run("BM_MemchrLines/corpus", 499),
      run("BM_Sofia/corpus", 14990), run("BM_Osip/corpus", 30000),
  });
  EXPECT_NE(text.find("(target 15x: not met)"), std::string::npos) << text;
  EXPECT_NE(text.find("(target 30x: met)"), std::string::npos) << text;
  EXPECT_NE(text.find("(target within 2x: not met)"), std::string::npos) << text;
}

TEST(ParseTargetsTest, MediansWhenOnlyAggregatesAreReported) {
  const std::string text = report({
      run("BM_ScanAndValidate/corpus", 1000, true), run("BM_MemchrLines/corpus", 400, true),
      run("BM_Sofia/corpus", 16000, true), run("BM_Osip/corpus", 32000, true),
  });
  EXPECT_NE(text.find("median of each"), std::string::npos) << text;
  EXPECT_NE(text.find("16.00x faster (target 15x: met)"), std::string::npos) << text;
  EXPECT_NE(text.find("takes 2.50x"), std::string::npos) << text;
}

TEST(ParseTargetsTest, AnyTimeUnit) {
  BenchRun full = run("BM_ScanAndValidate/corpus", 1000);
  full.time_unit = benchmark::kMicrosecond;  // the same time, reported in us
  const std::string text = report({full, run("BM_MemchrLines/corpus", 500),
                                   run("BM_Sofia/corpus", 20000), run("BM_Osip/corpus", 40000)});
  EXPECT_NE(text.find("full scan 100.0"), std::string::npos) << text;
  EXPECT_NE(text.find("20.00x faster"), std::string::npos) << text;
}

TEST(ParseTargetsTest, NothingWithoutEverySubject) {
  EXPECT_EQ(report({run("BM_ScanAndValidate/corpus", 1000), run("BM_MemchrLines/corpus", 500),
                    run("BM_Sofia/corpus", 15000)}),
            "");
}

}  // namespace
}  // namespace sipshield::bench
