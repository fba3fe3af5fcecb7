#include "src/control/command_registry.h"

#include <exception>

namespace sipshield::control {

using nlohmann::json;

CommandRegistry::CommandRegistry() {
  add("top", "top sources and prefixes by rate (DoS filters)",
      unavailable("filters not enabled"));
  add("bans", "list, add or remove bans (DoS filters)", unavailable("filters not enabled"));
  add("rules", "per-rule counters and dry-run state (DoS filters)",
      unavailable("filters not enabled"));
}

void CommandRegistry::add(std::string name, std::string help, CommandHandler handler) {
  commands_[std::move(name)] = Entry{std::move(help), std::move(handler)};
}

bool CommandRegistry::remove(std::string_view name) {
  auto it = commands_.find(name);
  if (it == commands_.end()) {
    return false;
  }
  commands_.erase(it);
  return true;
}

bool CommandRegistry::has(std::string_view name) const { return commands_.contains(name); }

std::vector<std::string> CommandRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : commands_) {
    out.push_back(name);
  }
  return out;
}

json CommandRegistry::handle(const json& request) const {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string()) {
    return {{"error", "request must be a JSON object with a \"cmd\" string"}};
  }
  const std::string& name = request["cmd"].get_ref<const std::string&>();
  if (name == "help") {
    json commands = json::object();
    for (const auto& [command, entry] : commands_) {
      commands[command] = entry.help;
    }
    return {{"commands", commands}};
  }
  auto it = commands_.find(name);
  if (it == commands_.end()) {
    return {{"error", "unknown command: " + name}};
  }
  try {
    json response = it->second.handler(request);
    if (!response.is_object()) {
      return {{"error", "internal: command " + name + " gave no object"}};
    }
    return response;
  } catch (const json::exception& e) {
    return {{"error", "bad arguments for " + name + ": " + e.what()}};
  } catch (const std::exception& e) {
    return {{"error", name + " failed: " + e.what()}};
  }
}

std::string CommandRegistry::handleLine(std::string_view line) const {
  json response;
  json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    response = {{"error", "bad JSON: expected one object per line, e.g. {\"cmd\":\"stats\"}"}};
  } else {
    response = handle(request);
  }
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

CommandHandler CommandRegistry::unavailable(std::string reason) {
  return [message = "not available: " + std::move(reason)](const json&) -> json {
    return {{"error", message}};
  };
}

}  // namespace sipshield::control
