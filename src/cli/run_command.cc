#include "src/cli/run_command.h"

#include <nlohmann/json.hpp>

#include <ostream>

#include "src/daemon.h"

namespace sipshield::cli {

int runDaemon(const std::string& config_path, std::ostream& log) {
  auto config = loadConfig(config_path);
  if (!config.isOk()) {
    log << "sipshield: " << config.status().message() << '\n';
    return 2;
  }
  for (const std::string& warning : config->warnings) {
    log << "sipshield: warning: " << warning << '\n';
  }
  Daemon::blockControlSignals();
  Daemon daemon(std::move(config.value()), config_path);
  if (Status s = daemon.start(); !s.isOk()) {
    log << "sipshield: cannot start: " << s.message() << '\n';
    return 1;
  }
  daemon.runUntilSignalled();
  daemon.stop();

  DaemonStats stats = daemon.stats();
  nlohmann::ordered_json report;
  for (size_t c = 0; c < kPipelineCounterCount; ++c) {
    report["counters"][std::string(pipelineCounterName(static_cast<PipelineCounter>(c)))] =
        stats.counters[c];
  }
  std::vector<lb::BackendStatus> backends = daemon.backends();
  for (const lb::BackendStatus& b : backends) {
    report["backends"][b.name] = {
        {"state", lb::backendStateName(b.state)},
        {"requests", b.index < stats.requests_per_backend.size()
                         ? stats.requests_per_backend[b.index]
                         : 0}};
  }
  log << report.dump() << '\n';
  return 0;
}

}  // namespace sipshield::cli
