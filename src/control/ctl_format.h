#pragma once

// Human-readable tables for sipshieldctl's answers.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sipshield::control {

// formatTable lays out `rows` under `header` in left-aligned columns separated by two spaces,
// one line each, ending in a newline. Short rows are padded. Thread-safe (pure).
[[nodiscard]] std::string formatTable(const std::vector<std::string>& header,
                                      const std::vector<std::vector<std::string>>& rows);

// formatAnswer renders a successful answer to `command` for a terminal:
//   backends: NAME ADDRESS STATE WEIGHT REQUESTS OK-IN-ROW FAILS-IN-ROW PASSIVE LAST-CHANGE
//   stats:    one row per counter (pipeline, then io_*, then groups), columns TOTAL, W0, W1...
//   drain/undrain/reload and any {"ok":true,...}: "ok" plus the other fields;
//   anything else (top, bans, rules from a filters provider): each array of objects becomes a
//   table with the union of their keys as columns, other fields "key: value" lines.
// An answer that has "error" is not formatted here (the caller prints it). Thread-safe (pure).
[[nodiscard]] std::string formatAnswer(std::string_view command, const nlohmann::json& answer);

// formatAge prints a duration in ms compactly: "850ms", "12s", "5m03s", "2h10m", "3d04h".
[[nodiscard]] std::string formatAge(uint64_t ms);

}  // namespace sipshield::control
