// sipshield: SIP load balancer and DoS shield. Subcommands: scan (inspect messages and
// captures), run (the daemon).
#include <CLI/CLI.hpp>

#include <iostream>

#include "src/cli/run_command.h"
#include "src/cli/scan_command.h"

int main(int argc, char** argv) {
  CLI::App app{"sipshield: SIP load balancer and DoS shield"};
  app.require_subcommand(1);

  std::vector<std::string> scan_files;
  CLI::App* scan = app.add_subcommand(
      "scan", "Scan SIP messages (raw files or pcap captures); print one JSON line each");
  scan->add_option("files", scan_files, "message files or .pcap/.pcapng captures");

  std::string config_path;
  CLI::App* run = app.add_subcommand("run", "Run the balancer (stops on SIGTERM, reloads on SIGHUP)");
  run->add_option("-c,--config", config_path, "TOML config file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (scan->parsed()) {
    return sipshield::cli::runScan(scan_files, std::cout, std::cerr);
  }
  if (run->parsed()) {
    return sipshield::cli::runDaemon(config_path, std::cerr);
  }
  return 2;
}
