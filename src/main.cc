// sipshield: SIP load balancer and DoS shield. Subcommands: scan (inspect messages and
// captures), run (the daemon), replay (try the shield's rules on a capture).
#include <CLI/CLI.hpp>

#include <iostream>

#include "src/cli/replay_command.h"
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

  sipshield::cli::ReplayOptions replay_options;
  CLI::App* replay = app.add_subcommand(
      "replay", "Run a capture through the pipeline offline; report what each rule would do");
  replay->add_option("capture", replay_options.capture_path, "pcap/pcapng capture")->required();
  replay->add_option("-c,--config", replay_options.config_path, "TOML config file")->required();
  replay->add_flag("--json", replay_options.json, "print the report as JSON");
  replay->add_flag("--any-destination", replay_options.any_destination,
                   "replay every datagram, not only those sent to a listen address");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (scan->parsed()) {
    return sipshield::cli::runScan(scan_files, std::cout, std::cerr);
  }
  if (replay->parsed()) {
    return sipshield::cli::runReplay(replay_options, std::cout, std::cerr);
  }
  if (run->parsed()) {
    return sipshield::cli::runDaemon(config_path, std::cerr);
  }
  return 2;
}
