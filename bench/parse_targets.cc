#include "bench/parse_targets.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <ostream>

namespace sipshield::bench {
namespace {

// The time of one pass over the set in ns, whatever unit the run reports in.
double passNs(const benchmark::BenchmarkReporter::Run& run) {
  return run.GetAdjustedRealTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
}

// atLeast: a >= b but for rounding (the times pass through seconds and back, so an exact
// 15x can come out as 14.999999x).
bool atLeast(double a, double b) { return a >= b * (1 - 1e-9); }

}  // namespace

void TargetsReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    if (run.error_occurred) {
      continue;
    }
    const bool iteration = run.run_type == Run::RT_Iteration;
    if (!iteration && run.aggregate_name != "median") {
      continue;
    }
    const std::string& name = run.run_name.function_name;
    const std::string suffix = "/" + set_;
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string subject = name.substr(0, name.size() - suffix.size());
    const double ns = passNs(run);
    if (!iteration) {
      median_[subject] = ns;
      continue;
    }
    auto [it, inserted] = fastest_.emplace(subject, ns);
    if (!inserted) {
      it->second = std::min(it->second, ns);
    }
  }
  ConsoleReporter::ReportRuns(runs);
}

void TargetsReporter::Finalize() {
  // With --benchmark_report_aggregates_only the repetitions are not reported one by one: then
  // each subject's median.
  const char* const kSubjects[] = {"BM_ScanAndValidate", "BM_MemchrLines", "BM_Sofia",
                                   "BM_Osip"};
  const bool have_fastest = std::all_of(std::begin(kSubjects), std::end(kSubjects),
                                        [&](const char* s) { return fastest_.count(s) != 0; });
  const std::map<std::string, double>& times = have_fastest ? fastest_ : median_;
  const char* const statistic = have_fastest ? "fastest repetition" : "median";
  const auto full = times.find("BM_ScanAndValidate");
  const auto floor = times.find("BM_MemchrLines");
  const auto sofia = times.find("BM_Sofia");
  const auto osip = times.find("BM_Osip");
  if (full != times.end() && floor != times.end() && sofia != times.end() &&
      osip != times.end() && messages_ != 0) {
    const double n = static_cast<double>(messages_);
    const double sofia_x = sofia->second / full->second;
    const double osip_x = osip->second / full->second;
    const double floor_x = full->second / floor->second;
    char text[512];
    std::snprintf(text, sizeof(text),
                  "targets (%s, %s of each, ns per message): full scan %.1f\n"
                  "  sofia-sip %.1f: %.2fx faster (target 15x: %s)\n"
                  "  libosip2  %.1f: %.2fx faster (target 30x: %s)\n"
                  "  memchr floor %.1f: the full scan takes %.2fx (target within 2x: %s)\n",
                  set_.c_str(), statistic, full->second / n, sofia->second / n, sofia_x,
                  atLeast(sofia_x, 15) ? "met" : "not met", osip->second / n, osip_x,
                  atLeast(osip_x, 30) ? "met" : "not met", floor->second / n, floor_x,
                  atLeast(2, floor_x) ? "met" : "not met");
    GetOutputStream() << text;
  }
  ConsoleReporter::Finalize();
}

}  // namespace sipshield::bench
