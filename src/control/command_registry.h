#pragma once

// The control socket's commands: a name -> handler table the daemon (and later subsystems such
// as the DoS filters) fill in, and the one place that turns a request line into a response.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sipshield::control {

// CommandHandler answers one request. `request` is the whole request object, e.g.
// {"cmd":"drain","name":"pbx-a"}; the handler reads its arguments from it. It returns the
// response object: {"error":"..."} for a failure, anything else for success. A handler may
// throw nlohmann::json::exception (a missing or mistyped argument); the registry turns that
// into {"error":...}. Handlers run on the control thread.
using CommandHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

// CommandRegistry maps command names to handlers.
// Thread-safety: not thread-safe; filled and used on the control thread only.
class CommandRegistry {
 public:
  // CommandRegistry starts with `top`, `bans` and `rules` registered as unavailable
  // (answering {"error":"not available: filters not enabled"}) until a provider replaces them.
  CommandRegistry();

  // add registers `handler` as `name`, replacing any earlier handler of that name.
  // `help` is a one-line description for the `help` command.
  void add(std::string name, std::string help, CommandHandler handler);

  // remove unregisters `name`; returns false when it was not registered.
  bool remove(std::string_view name);

  // has reports whether `name` is registered.
  [[nodiscard]] bool has(std::string_view name) const;

  // names returns the registered names in order.
  [[nodiscard]] std::vector<std::string> names() const;

  // handle answers one request object: {"error":"request must be a JSON object with a
  // \"cmd\" string"} for anything else, {"error":"unknown command: X"} for an unregistered
  // name, else the handler's answer (an exception from a handler becomes {"error":...}).
  // The built-in `help` command lists every command with its help text.
  [[nodiscard]] nlohmann::json handle(const nlohmann::json& request) const;

  // handleLine parses one request line (JSON text, no newline) and returns the response as
  // one line of JSON text without the newline; a parse error gives {"error":"bad JSON: ..."}.
  [[nodiscard]] std::string handleLine(std::string_view line) const;

  // unavailable returns a handler that always answers {"error":"not available: <reason>"}.
  [[nodiscard]] static CommandHandler unavailable(std::string reason);

 private:
  struct Entry {
    std::string help;
    CommandHandler handler;
  };
  std::map<std::string, Entry, std::less<>> commands_;
};

}  // namespace sipshield::control
