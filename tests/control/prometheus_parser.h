#pragma once

// A small, strict parser of the Prometheus text exposition format (0.0.4) for the tests: it
// rejects anything a real Prometheus scrape would reject, plus our own conventions (HELP and
// TYPE before every family, families in one block, counters named *_total, cumulative
// histogram buckets ending in +Inf that equals _count).

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sipshield::control::testing {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct ParsedExposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;   // family -> help text
  std::vector<ParsedSample> samples;
  std::string error;  // empty when the text is valid

  // value returns the sample `name` whose labels include all of `labels`, if exactly one does.
  [[nodiscard]] std::optional<double> value(
      const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    for (const ParsedSample& s : samples) {
      if (s.name != name) {
        continue;
      }
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) {
        if (found) {
          return std::nullopt;
        }
        found = s.value;
      }
    }
    return found;
  }
};

inline bool validMetricName(std::string_view n) {
  const unsigned char first = n.empty() ? 0 : static_cast<unsigned char>(n[0]);
  if (n.empty() || !(std::isalpha(first) || first == '_' || first == ':')) {
    return false;
  }
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

inline bool validLabelName(std::string_view n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) {
    return false;
  }
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return !n.starts_with("__");
}

inline std::optional<double> parseValue(const std::string& text) {
  if (text == "+Inf") {
    return INFINITY;
  }
  if (text == "-Inf") {
    return -INFINITY;
  }
  if (text == "NaN") {
    return NAN;
  }
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) {
    return std::nullopt;
  }
  return v;
}

inline std::string familyOf(const std::string& name,
                            const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view n(name);
    if (n.ends_with(suffix)) {
      std::string base(n.substr(0, n.size() - std::string_view(suffix).size()));
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
        return base;
      }
    }
  }
  return name;
}

inline ParsedExposition parseExposition(std::string_view text) {
  ParsedExposition out;
  std::set<std::string> finished;  // families whose block has ended
  std::string current;             // family of the block being read
  std::set<std::string> series;
  size_t line_no = 0;
  auto fail = [&](const std::string& why, std::string_view line) {
    out.error = "line " + std::to_string(line_no) + ": " + why + ": " + std::string(line);
    return out;
  };
  auto enter = [&](const std::string& family) -> bool {
    if (family == current) {
      return true;
    }
    if (finished.contains(family)) {
      return false;
    }
    if (!current.empty()) {
      finished.insert(current);
    }
    current = family;
    return true;
  };
  if (!text.empty() && text.back() != '\n') {
    out.error = "exposition does not end with a newline";
    return out;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) {
      return fail("empty line", line);
    }
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool is_help = line[2] == 'H';
      std::string_view rest = line.substr(7);
      size_t space = rest.find(' ');
      if (space == std::string_view::npos) {
        return fail("HELP/TYPE without text", line);
      }
      std::string name(rest.substr(0, space));
      std::string value(rest.substr(space + 1));
      if (!validMetricName(name)) {
        return fail("bad metric name", line);
      }
      if (!enter(name)) {
        return fail("family appears in two blocks", line);
      }
      auto& table = is_help ? out.help : out.types;
      if (table.contains(name)) {
        return fail("second HELP/TYPE for the family", line);
      }
      if (!is_help) {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.contains(value)) {
          return fail("unknown type", line);
        }
        if (value == "counter" && !name.ends_with("_total")) {
          return fail("counter not named *_total", line);
        }
      }
      table[name] = value;
      continue;
    }
    if (line.starts_with("#")) {
      continue;  // other comments are allowed
    }
    ParsedSample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') {
      ++i;
    }
    sample.name = std::string(line.substr(0, i));
    if (!validMetricName(sample.name)) {
      return fail("bad metric name", line);
    }
    std::string label_key;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t eq = line.find('=', i);
        if (eq == std::string_view::npos) {
          return fail("label without '='", line);
        }
        std::string lname(line.substr(i, eq - i));
        if (!validLabelName(lname) || sample.labels.contains(lname)) {
          return fail("bad or repeated label name", line);
        }
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          return fail("label value not quoted", line);
        }
        ++i;
        std::string lvalue;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) {
              return fail("dangling escape", line);
            }
            char e = line[i++];
            if (e == 'n') {
              lvalue += '\n';
            } else if (e == '\\' || e == '"') {
              lvalue += e;
            } else {
              return fail("bad escape", line);
            }
          } else {
            lvalue += c;
          }
        }
        if (!closed) {
          return fail("unterminated label value", line);
        }
        sample.labels[lname] = lvalue;
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          return fail("expected ',' or '}'", line);
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') {
      return fail("no value", line);
    }
    std::string rest(line.substr(i + 1));
    std::string value_text = rest.substr(0, rest.find(' '));
    if (rest.find(' ') != std::string::npos) {
      std::string ts = rest.substr(rest.find(' ') + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) {
        return fail("bad timestamp", line);
      }
    }
    std::optional<double> v = parseValue(value_text);
    if (!v) {
      return fail("bad value", line);
    }
    sample.value = *v;
    std::string family = familyOf(sample.name, out.types);
    if (!out.types.contains(family) || !out.help.contains(family)) {
      return fail("sample before its HELP and TYPE", line);
    }
    if (!enter(family)) {
      return fail("family appears in two blocks", line);
    }
    const std::string& type = out.types[family];
    if (type == "histogram") {
      if (sample.name == family) {
        return fail("histogram sample without _bucket/_sum/_count", line);
      }
      if (sample.name.ends_with("_bucket") && !sample.labels.contains("le")) {
        return fail("bucket without le", line);
      }
    }
    if ((type == "counter" || sample.name.ends_with("_count") ||
         sample.name.ends_with("_bucket")) && !(sample.value >= 0)) {
      return fail("negative or NaN counter", line);
    }
    std::string key = sample.name + "{";
    for (const auto& [k, lv] : sample.labels) {
      key += k + "=" + lv + ",";
    }
    if (!series.insert(key).second) {
      return fail("duplicate series", line);
    }
    out.samples.push_back(std::move(sample));
  }
  // Histogram checks: per label set (without le), buckets non-decreasing, +Inf == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") {
      continue;
    }
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const ParsedSample& s : out.samples) {
      std::string key;
      for (const auto& [k, v] : s.labels) {
        if (k != "le") {
          key += k + "=" + v + ",";
        }
      }
      if (s.name == family + "_bucket") {
        buckets[key].push_back({*parseValue(s.labels.at("le")), s.value});
      } else if (s.name == family + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, list] : buckets) {
      for (size_t i = 1; i < list.size(); ++i) {
        if (list[i].first <= list[i - 1].first || list[i].second < list[i - 1].second) {
          out.error = family + ": buckets not increasing for " + key;
          return out;
        }
      }
      if (list.empty() || !std::isinf(list.back().first) || !counts.contains(key) ||
          counts[key] != list.back().second) {
        out.error = family + ": no +Inf bucket equal to _count for " + key;
        return out;
      }
    }
  }
  return out;
}

}  // namespace sipshield::control::testing
