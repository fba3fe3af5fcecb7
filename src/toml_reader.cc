#include "src/toml_reader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace sipshield {

namespace {

constexpr size_t kMaxShown = 60;  // longer values are cut: a message is one readable line

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// describeBasic is describeValue as [shield] has always printed it: strings unescaped and cut
// without "...", floats with std::to_string's six decimals.
std::string describeBasic(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string out = "\"";
    out.append(s->get(), 0, kMaxShown);
    out += '"';
    return out;
  }
  if (const auto* f = node.as_floating_point()) {
    return std::to_string(f->get());
  }
  return describeValue(node);
}

}  // namespace

std::string quoteText(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxShown) {
    out += "...";
  }
  out += '"';
  return out;
}

std::string describeValue(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    return quoteText(s->get());
  }
  if (const auto* i = node.as_integer()) {
    return std::to_string(i->get());
  }
  if (const auto* f = node.as_floating_point()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", f->get());
    return buf;
  }
  if (const auto* b = node.as_boolean()) {
    return b->get() ? "true" : "false";
  }
  if (node.is_array()) {
    return "an array";
  }
  if (node.is_table()) {
    return "a table";
  }
  return "a date/time";
}

std::string joinPath(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string indexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

TomlReader::TomlReader(std::string_view source, std::filesystem::path base_dir,
                       MessageStyle style)
    : source_(source), base_dir_(std::move(base_dir)), style_(style) {}

std::filesystem::path TomlReader::resolve(const std::filesystem::path& file) const {
  if (file.is_relative() && !base_dir_.empty()) {
    return base_dir_ / file;
  }
  return file;
}

Status TomlReader::errorAt(const toml::source_region& where, std::string_view path,
                           std::string_view message) const {
  std::string text(source_);
  if (where.begin.line > 0) {
    text += ':' + std::to_string(where.begin.line);
  }
  text += ": ";
  text += path;
  text += ": ";
  text += message;
  return invalidArgument(std::move(text));
}

Status TomlReader::errorAt(const toml::node& node, std::string_view path,
                           std::string_view message) const {
  return errorAt(node.source(), path, message);
}

Status TomlReader::errorNoLine(std::string_view path, std::string_view message) const {
  return errorAt(toml::source_region{}, path, message);
}

std::string TomlReader::describe(const toml::node& node) const {
  return style_ == MessageStyle::Detailed ? describeValue(node) : describeBasic(node);
}

Status TomlReader::checkKeys(const toml::table& table, std::string_view path, Keys known) const {
  for (auto&& [key, value] : table) {
    const std::string_view name = key.str();
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    std::string message = value.is_table() ? "unknown table" : "unknown key";
    std::string_view best;
    size_t best_distance = 3;  // suggest only near misses: a typo, not a different word
    for (std::string_view candidate : known) {
      // A suffix left off or added ("interval" for "interval_ms", "listen_on" for "listen")
      // is as likely as a typo.
      const size_t shorter = std::min(name.size(), candidate.size());
      const bool prefix = shorter >= 4 && name.substr(0, shorter) == candidate.substr(0, shorter);
      if (!prefix && style_ == MessageStyle::Basic) {
        continue;
      }
      const size_t distance = prefix ? 1 : editDistance(name, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate;
      }
    }
    if (!best.empty()) {
      message += " (did you mean " + quoteText(best) + "?)";
    }
    return errorAt(key.source(), joinPath(path, name), message);
  }
  return Status::ok();
}

Status TomlReader::getTable(const toml::table& parent, std::string_view path,
                            std::string_view key, const toml::table*& out) const {
  out = nullptr;
  const toml::node* node = parent.get(key);
  if (node == nullptr) {
    return Status::ok();
  }
  out = node->as_table();
  if (out == nullptr) {
    const std::string spelled =
        style_ == MessageStyle::Detailed ? " ([" + std::string(key) + "])" : "";
    return errorAt(*node, joinPath(path, key),
                   "must be a table" + spelled + ", got " + describe(*node));
  }
  return Status::ok();
}

Status TomlReader::readInt64(const toml::table& table, std::string_view path,
                             std::string_view key, int64_t lo, int64_t hi,
                             std::optional<int64_t>& out) const {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return Status::ok();
  }
  const auto* integer = node->as_integer();
  if (integer == nullptr || integer->get() < lo || integer->get() > hi) {
    return errorAt(*node, joinPath(path, key),
                   "must be an integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                       ", got " + describe(*node));
  }
  out = integer->get();
  return Status::ok();
}

Status TomlReader::readNumber(const toml::table& table, std::string_view path,
                              std::string_view key, double lo, double hi, double& out) const {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return Status::ok();
  }
  double value = 0;
  if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else {
    return errorAt(*node, joinPath(path, key), "must be a number, got " + describe(*node));
  }
  if (!(value >= lo && value <= hi)) {
    return errorAt(*node, joinPath(path, key),
                   "must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                       describe(*node));
  }
  out = value;
  return Status::ok();
}

template <typename T>
Status TomlReader::readExact(const toml::table& table, std::string_view path,
                             std::string_view key, std::string_view expected, T& out,
                             const toml::node** where) const {
  const toml::node* node = table.get(key);
  if (where != nullptr) {
    *where = node;
  }
  if (node == nullptr) {
    return Status::ok();
  }
  const auto* value = node->as<T>();
  if (value == nullptr) {
    return errorAt(*node, joinPath(path, key), std::string(expected) + ", got " + describe(*node));
  }
  out = value->get();
  return Status::ok();
}

Status TomlReader::readBool(const toml::table& table, std::string_view path,
                            std::string_view key, bool& out) const {
  return readExact(table, path, key, "must be true or false", out, nullptr);
}

Status TomlReader::readString(const toml::table& table, std::string_view path,
                              std::string_view key, std::string& out,
                              const toml::node** where) const {
  return readExact(table, path, key, "must be a string", out, where);
}

Status TomlReader::readStrings(const toml::table& table, std::string_view path,
                               std::string_view key, SingleString single,
                               std::vector<StringAt>& out) const {
  out.clear();
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return Status::ok();
  }
  if (const auto* text = node->as_string(); text != nullptr && single == SingleString::AsList) {
    out.push_back({text->get(), node});
    return Status::ok();
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    return errorAt(*node, joinPath(path, key),
                   "must be an array of strings, got " + describe(*node));
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* text = element.as_string();
    if (text == nullptr) {
      return errorAt(element, indexPath(joinPath(path, key), i),
                     "must be a string, got " + describe(element));
    }
    out.push_back({text->get(), &element});
  }
  return Status::ok();
}

Status TomlReader::readStringArray(const toml::table& table, std::string_view path,
                                   std::string_view key, std::vector<std::string>& out) const {
  std::vector<StringAt> strings;
  if (Status s = readStrings(table, path, key, SingleString::Reject, strings); !s.isOk()) {
    return s;
  }
  if (table.get(key) != nullptr) {
    out.clear();
    for (StringAt& string : strings) {
      out.push_back(std::move(string.text));
    }
  }
  return Status::ok();
}

}  // namespace sipshield
