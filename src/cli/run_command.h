#pragma once

#include <iosfwd>
#include <string>

namespace sipshield::cli {

// runDaemon implements `sipshield run --config FILE`: loads and checks the config (a bad one
// ends with a message naming key and line, exit 2), starts the balancer and serves until
// SIGTERM/SIGINT, reloading on SIGHUP. Prints the final counters as one JSON line on `log`.
// Returns the exit status: 0 after a clean stop, 1 when start-up failed, 2 for a bad config.
int runDaemon(const std::string& config_path, std::ostream& log);

}  // namespace sipshield::cli
