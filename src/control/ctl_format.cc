#include "src/control/ctl_format.h"

#include <algorithm>
#include <cstdio>

namespace sipshield::control {

using nlohmann::json;

namespace {

std::string text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_null()) {
    return "-";
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "yes" : "no";
  }
  return value.dump();
}

std::string field(const json& object, const char* key) {
  return object.is_object() && object.contains(key) ? text(object[key]) : "-";
}

std::string backendsTable(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const json& b : answer.value("backends", json::array())) {
    const json health = b.value("health", json::object());
    std::string ago = "-";
    if (health.contains("last_change_ago_ms") && health["last_change_ago_ms"].is_number()) {
      ago = formatAge(health["last_change_ago_ms"].get<uint64_t>()) + " ago";
    }
    rows.push_back({field(b, "name"), field(b, "address"), field(b, "state"), field(b, "weight"),
                    field(b, "requests"), field(health, "consecutive_successes"),
                    field(health, "consecutive_failures"), field(health, "passive_failures"),
                    ago});
  }
  if (rows.empty()) {
    return "no backends\n";
  }
  return formatTable({"NAME", "ADDRESS", "STATE", "WEIGHT", "REQUESTS", "OK-RUN", "FAIL-RUN",
                      "PASSIVE", "LAST-CHANGE"},
                     rows);
}

std::string statsTable(const json& answer) {
  const json total = answer.value("total", json::object());
  const json workers = answer.value("workers", json::array());
  std::vector<std::string> header = {"COUNTER", "TOTAL"};
  for (size_t w = 0; w < workers.size(); ++w) {
    // Appending (not "W" + to_string) sidesteps a GCC 12 -Wrestrict false positive at -O3.
    std::string label = "W";
    label += std::to_string(w);
    header.push_back(std::move(label));
  }
  std::vector<std::vector<std::string>> rows;
  for (const char* section : {"counters", "io"}) {
    const json totals = total.value(section, json::object());
    for (const auto& [name, value] : totals.items()) {
      std::vector<std::string> row = {std::string(section) == "io" ? "io_" + name : name,
                                      text(value)};
      for (const json& w : workers) {
        row.push_back(field(w.value(section, json::object()), name.c_str()));
      }
      rows.push_back(std::move(row));
    }
  }
  const json bursts = total.value("bursts", json::object());
  if (bursts.value("count", uint64_t{0}) > 0) {
    char mean[32];
    std::snprintf(mean, sizeof(mean), "%.1fus",
                  bursts.value("sum_seconds", 0.0) * 1e6 /
                      static_cast<double>(bursts.value("count", uint64_t{1})));
    std::vector<std::string> row = {"burst_mean", mean};
    for (const json& w : workers) {
      const json wb = w.value("bursts", json::object());
      const uint64_t count = wb.value("count", uint64_t{0});
      char m[32] = "-";
      if (count > 0) {
        std::snprintf(m, sizeof(m), "%.1fus",
                      wb.value("sum_seconds", 0.0) * 1e6 / static_cast<double>(count));
      }
      row.push_back(m);
    }
    rows.push_back(std::move(row));
  }
  const json groups = answer.value("groups", json::object());  // items() must not dangle
  for (const auto& [group, entries] : groups.items()) {
    for (const auto& [key, value] : entries.items()) {
      rows.push_back({group + "." + key, text(value)});
    }
  }
  return formatTable(header, rows);
}

// columnRank orders a generic table's columns: who or what a row is, how it acts, then its
// counters in the order a packet meets them; unknown columns keep their order at the end.
size_t columnRank(std::string_view column) {
  static constexpr std::string_view kOrder[] = {
      "name",   "address", "prefix",  "kind",    "action", "reason",       "rule",
      "dry_run", "enabled", "seen",   "matched", "dropped", "replied",     "banned",
      "dry_run_matched", "worker", "expires_in_s"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (kOrder[i] == column) {
      return i;
    }
  }
  return std::size(kOrder);
}

std::string genericAnswer(const json& answer) {
  std::string out;
  if (answer.value("ok", false)) {
    out += "ok\n";
  }
  for (const auto& [key, value] : answer.items()) {
    if (key == "ok") {
      continue;
    }
    const bool table = value.is_array() && !value.empty() &&
                       std::all_of(value.begin(), value.end(),
                                   [](const json& v) { return v.is_object(); });
    if (!table) {
      out += key + ": " + text(value) + "\n";
      continue;
    }
    std::vector<std::string> columns;
    for (const json& row : value) {
      for (const auto& [column, cell] : row.items()) {
        if (std::find(columns.begin(), columns.end(), column) == columns.end()) {
          columns.push_back(column);
        }
      }
    }
    // JSON objects arrive sorted by key; show identity first, then state, then counters.
    std::stable_sort(columns.begin(), columns.end(), [](const std::string& a,
                                                        const std::string& b) {
      return columnRank(a) < columnRank(b);
    });
    std::vector<std::vector<std::string>> rows;
    for (const json& row : value) {
      std::vector<std::string> cells;
      for (const std::string& column : columns) {
        cells.push_back(field(row, column.c_str()));
      }
      rows.push_back(std::move(cells));
    }
    std::vector<std::string> header;
    for (std::string column : columns) {
      std::transform(column.begin(), column.end(), column.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      header.push_back(column);
    }
    out += key + ":\n" + formatTable(header, rows);
  }
  if (answer.is_array()) {
    out += answer.dump(2) + "\n";
  }
  return out.empty() ? "(empty)\n" : out;
}

}  // namespace

std::string formatAge(uint64_t ms) {
  char out[32];
  const uint64_t s = ms / 1000;
  if (ms < 1000) {
    std::snprintf(out, sizeof(out), "%llums", static_cast<unsigned long long>(ms));
  } else if (s < 60) {
    std::snprintf(out, sizeof(out), "%llus", static_cast<unsigned long long>(s));
  } else if (s < 3600) {
    std::snprintf(out, sizeof(out), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(out, sizeof(out), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  } else {
    std::snprintf(out, sizeof(out), "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
  }
  return out;
}

std::string formatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    if (row.size() > widths.size()) {
      widths.resize(row.size(), 0);
    }
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) {
        line.append(widths[i] - cell.size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

std::string formatAnswer(std::string_view command, const json& answer) {
  if (command == "backends" && answer.is_object() && answer.contains("backends")) {
    return backendsTable(answer);
  }
  if (command == "stats" && answer.is_object() && answer.contains("total")) {
    return statsTable(answer);
  }
  return genericAnswer(answer);
}

}  // namespace sipshield::control
