#pragma once

// parse_bench's console output plus, after the runs, issue 2's three scanner targets measured
// in the same run: the full scan (BM_ScanAndValidate) at least 15x faster than sofia-sip and
// 30x faster than libosip2, and within 2x of the memchr floor, each subject on the whole
// corpus taken at its fastest repetition (on a shared host a slow spell lengthens some
// repetitions; the fastest is the least disturbed; the median when only aggregates are
// reported). Run with the repetitions interleaved
// (scripts/bench targets) so that a slow spell cannot fall on one subject only.

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace sipshield::bench {

class TargetsReporter : public benchmark::ConsoleReporter {
 public:
  // `set` is the corpus benchmarks' name suffix ("corpus"), `messages` its message count.
  TargetsReporter(OutputOptions options, std::string set, size_t messages)
      : benchmark::ConsoleReporter(options), set_(std::move(set)), messages_(messages) {}

  void ReportRuns(const std::vector<Run>& runs) override;
  // Prints the targets when all four subjects ran, then what ConsoleReporter prints.
  void Finalize() override;

 private:
  std::string set_;
  size_t messages_;
  std::map<std::string, double> fastest_;  // by subject: fastest pass over the set, ns
  std::map<std::string, double> median_;   // by subject: the repetitions' median, ns
};

}  // namespace sipshield::bench
