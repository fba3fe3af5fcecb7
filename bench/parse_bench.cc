// parse_bench: the scanner against the memchr floor and the peer C parsers (libosip2,
// sofia-sip), all in one run so that ratios compare numbers taken under the same load.
//
// Usage: parse_bench [--corpus DIR] [google benchmark flags]
//
// Every *.sip file in DIR (default: the source tree's bench/corpus) is one message. Each
// benchmark iteration runs over every message of its set once; counters report per message:
// items_per_second (messages/s), bytes_per_second, time_per_msg (CPU time per message) and
// rejects (messages of the set the subject did not accept, per pass; must be 0 for our
// scanner). The peers run on exactly the same messages; any message a peer rejects or warns
// about is listed on stderr before the run, never dropped. The console output ends with issue
// 2's targets (bench/parse_targets.h) when the corpus's full scan, floor and peers all ran.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/parse_peers.h"
#include "bench/parse_targets.h"
#include "parser/scan_kernel.h"
#include "parser/sip_message.h"
#include "parser/validate.h"

#ifndef SIPSHIELD_BENCH_CORPUS_DIR
#define SIPSHIELD_BENCH_CORPUS_DIR "bench/corpus"
#endif

namespace sipshield::bench {
namespace {

namespace fs = std::filesystem;
using parser::ByteView;
using parser::ScanIsa;
using parser::ScanResult;
using parser::ScanStatus;

// The INVITE with SDP: the largest message of a call and the one a shield sees most per call.
constexpr std::string_view kInviteFile = "01_invite_sdp.sip";

// MessageSet is a list of whole messages that one benchmark iteration walks once.
struct MessageSet {
  std::string name;
  std::vector<std::string> messages;
  int64_t total_bytes = 0;

  void add(std::string message) {
    total_bytes += static_cast<int64_t>(message.size());
    messages.push_back(std::move(message));
  }
};

struct Corpus {
  std::vector<std::string> files;     // file names, sorted
  std::vector<std::string> messages;  // same order as `files`
  std::map<std::string, std::string> expected_call_id;  // from INDEX.tsv when present
};

bool readFile(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// loadCorpus reads every *.sip file of `dir` in name order, and INDEX.tsv (file, kind,
// method_or_status, call_id, bytes) when it exists. Returns false with a message on failure.
bool loadCorpus(const fs::path& dir, Corpus& corpus) {
  std::error_code ec;
  std::vector<fs::path> paths;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".sip") {
      paths.push_back(entry.path());
    }
  }
  if (ec) {
    std::fprintf(stderr, "parse_bench: cannot read %s: %s\n", dir.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    std::string bytes;
    if (!readFile(path, bytes)) {
      std::fprintf(stderr, "parse_bench: cannot read %s\n", path.c_str());
      return false;
    }
    corpus.files.push_back(path.filename().string());
    corpus.messages.push_back(std::move(bytes));
  }
  if (corpus.messages.empty()) {
    std::fprintf(stderr, "parse_bench: no *.sip files in %s\n", dir.c_str());
    return false;
  }
  std::string index;
  if (readFile(dir / "INDEX.tsv", index)) {
    std::istringstream lines(index);
    std::string line;
    while (std::getline(lines, line)) {
      std::vector<std::string> cols;
      std::istringstream fields(line);
      std::string col;
      while (std::getline(fields, col, '\t')) {
        cols.push_back(col);
      }
      if (cols.size() >= 4 && cols[0] != "file") {
        corpus.expected_call_id[cols[0]] = cols[3];
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Verification, outside timing: every subject must really parse what it is timed on.

struct ScanOutcome {
  ScanStatus status = ScanStatus::Invalid;
  uint32_t consumed = 0;
  uint16_t header_count = 0;
  std::string call_id;
  std::string error;
};

ScanOutcome scanOnce(std::string_view message) {
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  const ByteView input(message);
  const ScanResult result = parser::scanAndValidate(input, parsed.message, summary);
  ScanOutcome out;
  out.status = result.status;
  out.consumed = result.consumed;
  out.header_count = parsed.message.header_count;
  if (result.ok()) {
    out.call_id = std::string(input.view(summary.call_id));
  } else {
    out.error = std::string(parser::scanErrorName(result.error)) + " at offset " +
                std::to_string(result.error_offset);
  }
  return out;
}

constexpr ScanIsa kAllIsas[] = {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2};

// verifyCorpus prints one line per problem to stderr and a summary per subject. Returns false
// only when our own scanner rejects a message or its kernels disagree: timing a scanner that
// fails would measure an early exit.
bool verifyCorpus(const Corpus& corpus) {
  bool ours_ok = true;
  int osip_ok = 0;
  int osip_match = 0;
  int sofia_ok = 0;
  int sofia_match = 0;
  const ScanIsa start_isa = parser::activeScanIsa();
  const int n = static_cast<int>(corpus.messages.size());
  for (int i = 0; i < n; ++i) {
    const std::string& file = corpus.files[i];
    const std::string& message = corpus.messages[i];
    const ScanOutcome ours = scanOnce(message);
    if (ours.status != ScanStatus::Complete) {
      std::fprintf(stderr, "ERROR: %s: our scanner rejects it: %s\n", file.c_str(),
                   ours.error.c_str());
      ours_ok = false;
    }
    if (auto it = corpus.expected_call_id.find(file);
        it != corpus.expected_call_id.end() && it->second != ours.call_id) {
      std::fprintf(stderr, "ERROR: %s: our Call-ID '%s' != INDEX.tsv '%s'\n", file.c_str(),
                   ours.call_id.c_str(), it->second.c_str());
      ours_ok = false;
    }
    for (ScanIsa isa : kAllIsas) {
      if (!parser::setScanIsa(isa)) {
        continue;
      }
      const ScanOutcome other = scanOnce(message);
      if (other.status != ours.status || other.consumed != ours.consumed ||
          other.header_count != ours.header_count || other.call_id != ours.call_id) {
        std::fprintf(stderr, "ERROR: %s: kernel %s disagrees with kernel %s\n", file.c_str(),
                     std::string(parser::scanIsaName(isa)).c_str(),
                     std::string(parser::scanIsaName(start_isa)).c_str());
        ours_ok = false;
      }
    }
    (void)parser::setScanIsa(start_isa);

    if (OsipPeer::available()) {
      const PeerCheck osip = OsipPeer::check(message);
      osip_ok += osip.ok ? 1 : 0;
      osip_match += (osip.ok && osip.call_id == ours.call_id) ? 1 : 0;
      if (!osip.ok || !osip.error.empty()) {
        std::fprintf(stderr, "WARNING: %s: libosip2 %s: %s\n", file.c_str(),
                     osip.ok ? "warns" : "rejects it", osip.error.c_str());
      } else if (osip.call_id != ours.call_id) {
        std::fprintf(stderr, "WARNING: %s: libosip2 Call-ID '%s' != ours '%s'\n", file.c_str(),
                     osip.call_id.c_str(), ours.call_id.c_str());
      }
    }
    if (SofiaPeer::available()) {
      const PeerCheck sofia = SofiaPeer::check(message);
      sofia_ok += sofia.ok ? 1 : 0;
      sofia_match += (sofia.ok && sofia.call_id == ours.call_id) ? 1 : 0;
      if (!sofia.ok || !sofia.error.empty()) {
        std::fprintf(stderr, "WARNING: %s: sofia-sip %s: %s\n", file.c_str(),
                     sofia.ok ? "warns" : "rejects it", sofia.error.c_str());
      } else if (sofia.call_id != ours.call_id) {
        std::fprintf(stderr, "WARNING: %s: sofia-sip Call-ID '%s' != ours '%s'\n", file.c_str(),
                     sofia.call_id.c_str(), ours.call_id.c_str());
      }
    }
  }
  std::fprintf(stderr, "verify: %d messages; ours %s", n, ours_ok ? "all Complete" : "FAILED");
  if (OsipPeer::available()) {
    std::fprintf(stderr, "; libosip2 accepted %d/%d, same Call-ID %d/%d", osip_ok, n, osip_match,
                 n);
  } else {
    std::fprintf(stderr, "; libosip2 not built in");
  }
  if (SofiaPeer::available()) {
    std::fprintf(stderr, "; sofia-sip accepted %d/%d, same Call-ID %d/%d", sofia_ok, n,
                 sofia_match, n);
  } else {
    std::fprintf(stderr, "; sofia-sip not built in");
  }
  std::fprintf(stderr, "\n");
  return ours_ok;
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

// reportPerMessage sets the per-message counters once the timed loop is over. `rejects` is the
// number of messages the subject did not accept during one pass over the set.
void reportPerMessage(benchmark::State& state, const MessageSet& set, int64_t rejects) {
  const auto count = static_cast<int64_t>(set.messages.size());
  state.SetItemsProcessed(state.iterations() * count);
  state.SetBytesProcessed(state.iterations() * set.total_bytes);
  // count / CPU time * iterations, inverted: CPU seconds per message. Kept in seconds because
  // the console reporter prints an inverted rate with an "s" unit and SI prefix (62.4ns,
  // 5.15us); JSON output holds plain seconds.
  state.counters["time_per_msg"] = benchmark::Counter(
      static_cast<double>(count),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["rejects"] = benchmark::Counter(static_cast<double>(rejects));
}

// The floor: find every line end with memchr and record each line's offset and length into a
// caller-owned array, as a line index would. Nothing less can frame a text message.
void bmMemchrLines(benchmark::State& state, const MessageSet* set) {
  struct Line {
    uint32_t offset;
    uint32_t length;
  };
  static constexpr size_t kMaxLines = 256;
  Line lines[kMaxLines];
  for (auto _ : state) {
    for (const std::string& message : set->messages) {
      const char* const begin = message.data();
      const char* const end = begin + message.size();
      const char* p = begin;
      size_t count = 0;
      while (p < end && count < kMaxLines) {
        const auto* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
        const char* line_end = nl == nullptr ? end : nl;
        lines[count++] =
            Line{static_cast<uint32_t>(p - begin), static_cast<uint32_t>(line_end - p)};
        p = line_end + 1;
      }
      benchmark::DoNotOptimize(lines);
      benchmark::DoNotOptimize(count);
    }
  }
  reportPerMessage(state, *set, 0);
}

// IsaGuard selects a scan kernel for one benchmark and restores the previous one after.
class IsaGuard {
 public:
  explicit IsaGuard(ScanIsa isa) : previous_(parser::activeScanIsa()) {
    ok_ = parser::setScanIsa(isa);
  }
  ~IsaGuard() { (void)parser::setScanIsa(previous_); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  ScanIsa previous_;
  bool ok_ = false;
};

// Framing and header index only: parser::scan.
void bmScan(benchmark::State& state, const MessageSet* set, ScanIsa isa) {
  IsaGuard guard(isa);
  if (!guard.ok()) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  int64_t rejects = 0;
  for (auto _ : state) {
    rejects = 0;
    for (const std::string& message : set->messages) {
      const ScanResult result = parser::scan(ByteView(message), parsed.message);
      rejects += result.ok() ? 0 : 1;
      benchmark::DoNotOptimize(parsed.message.header_count);
    }
  }
  reportPerMessage(state, *set, rejects);
}

// The full scan (issue 2's target): parser::scanAndValidate with every via-parm checked, or
// (`vias` Used) the check the pipeline runs per packet.
void bmScanAndValidateWith(benchmark::State& state, const MessageSet* set, ScanIsa isa,
                           parser::ViaCheck vias) {
  IsaGuard guard(isa);
  if (!guard.ok()) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  int64_t rejects = 0;
  for (auto _ : state) {
    rejects = 0;
    for (const std::string& message : set->messages) {
      const ScanResult result =
          parser::scanAndValidate(ByteView(message), parsed.message, summary, {}, vias);
      rejects += result.ok() ? 0 : 1;
      benchmark::DoNotOptimize(summary.call_id);
    }
  }
  reportPerMessage(state, *set, rejects);
}

void bmScanAndValidate(benchmark::State& state, const MessageSet* set, ScanIsa isa) {
  bmScanAndValidateWith(state, set, isa, parser::ViaCheck::Every);
}

void bmScanAndValidateUsedVias(benchmark::State& state, const MessageSet* set, ScanIsa isa) {
  bmScanAndValidateWith(state, set, isa, parser::ViaCheck::Used);
}

void bmOsip(benchmark::State& state, const MessageSet* set) {
  if (!OsipPeer::available()) {
    state.SkipWithError("built without libosip2");
    return;
  }
  int64_t rejects = 0;
  for (auto _ : state) {
    rejects = 0;
    for (const std::string& message : set->messages) {
      rejects += OsipPeer::parse(message) ? 0 : 1;
    }
  }
  reportPerMessage(state, *set, rejects);
}

void bmSofia(benchmark::State& state, const MessageSet* set) {
  if (!SofiaPeer::available()) {
    state.SkipWithError("built without sofia-sip-ua");
    return;
  }
  int64_t rejects = 0;
  for (auto _ : state) {
    rejects = 0;
    for (const std::string& message : set->messages) {
      rejects += SofiaPeer::parse(message) ? 0 : 1;
    }
  }
  reportPerMessage(state, *set, rejects);
}

std::string isaSuffix(ScanIsa isa) {
  // Appended rather than "/" + name: g++ 12 raises a false -Wrestrict on the latter.
  std::string suffix = "/";
  suffix += parser::scanIsaName(isa);
  return suffix;
}

void registerAll(const MessageSet& set, bool per_kernel) {
  const std::string tail = "/" + set.name;
  const ScanIsa best = parser::bestScanIsa();
  benchmark::RegisterBenchmark(("BM_MemchrLines" + tail).c_str(), bmMemchrLines, &set);
  benchmark::RegisterBenchmark(("BM_Scan" + tail).c_str(), bmScan, &set, best);
  benchmark::RegisterBenchmark(("BM_ScanAndValidate" + tail).c_str(), bmScanAndValidate, &set,
                               best);
  benchmark::RegisterBenchmark(("BM_ScanAndValidateUsedVias" + tail).c_str(),
                               bmScanAndValidateUsedVias, &set, best);
  if (per_kernel) {
    for (ScanIsa isa : kAllIsas) {
      benchmark::RegisterBenchmark(("BM_Scan" + tail + isaSuffix(isa)).c_str(), bmScan, &set,
                                   isa);
    }
    for (ScanIsa isa : kAllIsas) {
      benchmark::RegisterBenchmark(("BM_ScanAndValidate" + tail + isaSuffix(isa)).c_str(),
                                   bmScanAndValidate, &set, isa);
    }
  }
  benchmark::RegisterBenchmark(("BM_Osip" + tail).c_str(), bmOsip, &set);
  benchmark::RegisterBenchmark(("BM_Sofia" + tail).c_str(), bmSofia, &set);
}

// takeCorpusFlag removes "--corpus DIR" / "--corpus=DIR" from argv (google benchmark rejects
// flags it does not know) and returns DIR, or the default. Sets `ok` false on a missing value.
std::string takeCorpusFlag(int& argc, char** argv, bool& ok) {
  std::string dir = SIPSHIELD_BENCH_CORPUS_DIR;
  ok = true;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--corpus") {
      if (i + 1 >= argc) {
        ok = false;
        break;
      }
      dir = argv[++i];
      continue;
    }
    if (arg.substr(0, 9) == "--corpus=") {
      dir = std::string(arg.substr(9));
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  return dir;
}

}  // namespace
}  // namespace sipshield::bench

int main(int argc, char** argv) {
  using namespace sipshield::bench;
  bool flag_ok = true;
  const std::string dir = takeCorpusFlag(argc, argv, flag_ok);
  if (!flag_ok) {
    std::fprintf(stderr, "usage: parse_bench [--corpus DIR] [google benchmark flags]\n");
    return 2;
  }
  Corpus corpus;
  if (!loadCorpus(dir, corpus)) {
    return 1;
  }
  OsipPeer::init();
  if (!verifyCorpus(corpus)) {
    std::fprintf(stderr, "parse_bench: our scanner failed verification; not timing it\n");
    return 1;
  }

  // The sets must outlive the benchmarks, which hold pointers to them.
  static MessageSet all{"corpus", {}, 0};
  static MessageSet invite{"invite", {}, 0};
  for (size_t i = 0; i < corpus.messages.size(); ++i) {
    all.add(corpus.messages[i]);
    if (corpus.files[i] == kInviteFile) {
      invite.add(corpus.messages[i]);
    }
  }
  registerAll(all, /*per_kernel=*/true);
  if (!invite.messages.empty()) {
    registerAll(invite, /*per_kernel=*/false);
  } else {
    std::fprintf(stderr, "WARNING: %s not in %s; no INVITE-only benchmarks\n",
                 std::string(kInviteFile).c_str(), dir.c_str());
  }

  benchmark::AddCustomContext("corpus", dir);
  benchmark::AddCustomContext("corpus_messages", std::to_string(all.messages.size()));
  benchmark::AddCustomContext("corpus_bytes", std::to_string(all.total_bytes));
  const sipshield::parser::ScanIsa best = sipshield::parser::bestScanIsa();
  benchmark::AddCustomContext("scan_isa_best",
                              std::string(sipshield::parser::scanIsaName(best)));
  // The console output (the default format) ends with the targets' ratios; any other
  // --benchmark_format gets Google Benchmark's own reporter.
  bool console = true;
  bool tabular = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--benchmark_format=", 0) == 0 && arg != "--benchmark_format=console") {
      console = false;
    }
    tabular = tabular || arg == "--benchmark_counters_tabular=true";
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  if (console) {
    const int color = isatty(STDOUT_FILENO) != 0 ? benchmark::ConsoleReporter::OO_Color : 0;
    TargetsReporter reporter(
        static_cast<benchmark::ConsoleReporter::OutputOptions>(
            color | (tabular ? benchmark::ConsoleReporter::OO_Tabular : 0)),
        all.name, all.messages.size());
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
