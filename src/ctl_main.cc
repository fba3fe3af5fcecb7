// sipshieldctl: steer and inspect a running sipshield through its control socket.
// Each subcommand sends one JSON request line and prints the answer as a table (or as JSON
// with --json). Exit status: 0 ok, 1 the daemon refused or could not be reached, 2 usage.
#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>

#include "src/control/ctl_client.h"
#include "src/control/ctl_format.h"

namespace {

using nlohmann::json;

struct Options {
  std::string socket = sipshield::control::kDefaultControlSocket;
  bool raw_json = false;
  int timeout_s = 10;
  std::string backend;
  std::string ban_action;
  std::string ban_address;
  uint32_t ban_seconds = 0;
  uint32_t top_limit = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sipshieldctl: inspect and steer a running sipshield"};
  app.require_subcommand(1, 1);
  Options opt;
  app.add_option("-s,--socket", opt.socket, "control socket ([control] socket in the config)")
      ->capture_default_str();
  app.add_flag("--json", opt.raw_json, "print the daemon's JSON answer instead of a table");
  app.add_option("--timeout", opt.timeout_s, "seconds to wait for an answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));

  app.add_subcommand("backends", "backends: state, weight, requests, health history");
  app.add_subcommand("stats", "counters per worker and in total");
  CLI::App* top = app.add_subcommand("top", "top sources and prefixes by rate (filters)");
  top->add_option("-n,--limit", opt.top_limit, "how many entries (daemon default if unset)");
  CLI::App* bans = app.add_subcommand("bans", "list bans, or: bans add ADDR [--seconds N], "
                                              "bans remove ADDR (filters)");
  bans->add_option("action", opt.ban_action, "add or remove (omit to list)")
      ->check(CLI::IsMember({"add", "remove", "list"}));
  bans->add_option("address", opt.ban_address,
                   "address or prefix, e.g. 192.0.2.7 or 2001:db8::/48");
  bans->add_option("--seconds", opt.ban_seconds, "ban duration for add (daemon default if 0)");
  app.add_subcommand("rules", "per-rule counters and dry-run state (filters)");
  CLI::App* drain = app.add_subcommand("drain", "send no new calls to a backend");
  drain->add_option("name", opt.backend, "backend name")->required();
  CLI::App* undrain = app.add_subcommand("undrain", "let a drained backend take calls again");
  undrain->add_option("name", opt.backend, "backend name")->required();
  app.add_subcommand("reload", "re-read the config file (like SIGHUP) and report errors");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  const std::string command = app.get_subcommands().front()->get_name();
  json request = {{"cmd", command}};
  if (command == "drain" || command == "undrain") {
    request["name"] = opt.backend;
  } else if (command == "top" && opt.top_limit > 0) {
    request["limit"] = opt.top_limit;
  } else if (command == "bans" && !opt.ban_action.empty() && opt.ban_action != "list") {
    if (opt.ban_address.empty()) {
      std::cerr << "sipshieldctl: bans " << opt.ban_action << " needs an ADDRESS\n";
      return 2;
    }
    request["action"] = opt.ban_action;
    request["address"] = opt.ban_address;
    if (opt.ban_seconds > 0) {
      request["seconds"] = opt.ban_seconds;
    }
  }

  try {
    auto answer = sipshield::control::sendCommand(opt.socket, request, opt.timeout_s * 1000);
    if (!answer.isOk()) {
      std::cerr << "sipshieldctl: " << answer.status().message() << '\n';
      return 1;
    }
    const json& value = answer.value();
    if (opt.raw_json) {
      std::cout << value.dump(2) << '\n';
    }
    if (value.is_object() && value.contains("error")) {
      const json& error = value["error"];
      std::cerr << "sipshieldctl: " << (error.is_string() ? error.get<std::string>() : error.dump())
                << '\n';
      return 1;
    }
    if (!opt.raw_json) {
      std::cout << sipshield::control::formatAnswer(command, value);
    }
  } catch (const std::exception& e) {
    // Formatting an unexpected answer shape must not end in a stack trace.
    std::cerr << "sipshieldctl: unexpected answer: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
