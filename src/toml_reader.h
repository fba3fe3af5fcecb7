#pragma once

// TomlReader is the machinery the configuration loaders share (src/config.cc for the daemon's
// tables, src/shield_config.cc for [shield]): errors shaped "<source>:<line>: <dotted.key>:
// <problem>", unknown-key checks with did-you-mean hints, and typed readers for integers in a
// range, numbers, booleans, strings, string lists and sub-tables. Control plane only: it
// allocates and builds messages.

#include <toml++/impl/forward_declarations.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace sipshield {

// quoteText returns `text` in double quotes for a message: '"' and '\' are escaped with a
// backslash, control bytes and DEL become '?', and text over 60 bytes is cut and ends in
// "...". Thread-safe; allocates.
[[nodiscard]] std::string quoteText(std::string_view text);

// describeValue renders a TOML value for a "got X" message: strings through quoteText,
// integers in decimal, floats as "%g", booleans as true/false, and "an array", "a table" or
// "a date/time" for the rest. Thread-safe; allocates.
[[nodiscard]] std::string describeValue(const toml::node& node);

// joinPath returns the dotted key "path.key", or just `key` when `path` is empty (the root).
// Thread-safe; allocates.
[[nodiscard]] std::string joinPath(std::string_view path, std::string_view key);

// indexPath returns "path[index]", the name of one element of an array. Thread-safe;
// allocates.
[[nodiscard]] std::string indexPath(std::string_view path, size_t index);

// TomlReader reads values out of a parsed TOML document for one source (a file or a string)
// and turns every problem into a kInvalidArgument Status naming the source, the line of the
// offending node and its dotted key. Loaders derive from it and add their own tables.
// A TomlReader holds no document state; its const methods are safe to call from several
// threads, but a loader deriving from it usually is not.
class TomlReader {
 public:
  // Keys lists the keys a table may hold, for checkKeys.
  using Keys = std::initializer_list<std::string_view>;

  // MessageStyle picks one of the two message dialects the loaders had before they shared this
  // class. Both are kept so that no error message changed; new readers should use Detailed.
  enum class MessageStyle {
    // Values as describeValue shows them; a did-you-mean for an unknown key that shares its
    // first 4+ characters with a known one or is within edit distance 2 of one; a wrong-typed
    // table is "must be a table ([name]), got X". Used by the daemon's tables.
    Detailed,
    // Strings as their first 60 bytes in quotes, unescaped, and floats as std::to_string; a
    // did-you-mean only for a shared 4+ character prefix; "must be a table, got X". Used by
    // [shield].
    Basic,
  };

  // SingleString says whether readStrings accepts one string where a list is expected.
  enum class SingleString {
    Reject,  // "must be an array of strings, got \"x\""
    AsList,  // key = "x" reads as key = ["x"]
  };

  // StringAt is one string read from the document, with the node it came from so later checks
  // can point at its line.
  struct StringAt {
    std::string text;
    const toml::node* node = nullptr;
  };

  // TomlReader prepares to read a document from `source` (used only in messages). Relative
  // paths named by the document are resolved against `base_dir` (see resolve). `source` must
  // outlive the reader.
  TomlReader(std::string_view source, std::filesystem::path base_dir, MessageStyle style);

  // source returns the source name given at construction.
  [[nodiscard]] std::string_view source() const { return source_; }

  // baseDir returns the directory relative paths are resolved against ("" = current).
  [[nodiscard]] const std::filesystem::path& baseDir() const { return base_dir_; }

  // resolve returns `file` unchanged when it is absolute or baseDir() is empty, otherwise
  // baseDir() / file.
  [[nodiscard]] std::filesystem::path resolve(const std::filesystem::path& file) const;

  // errorAt returns kInvalidArgument "<source>:<line>: <path>: <message>"; the line (and its
  // colon) is left out when `where` has none.
  [[nodiscard]] Status errorAt(const toml::source_region& where, std::string_view path,
                               std::string_view message) const;
  // errorAt returns the same, at the line where `node` starts.
  [[nodiscard]] Status errorAt(const toml::node& node, std::string_view path,
                               std::string_view message) const;
  // errorNoLine returns the same without a line, for problems with no node to point at (a
  // required table is absent).
  [[nodiscard]] Status errorNoLine(std::string_view path, std::string_view message) const;

  // describe renders `node` for a "got X" message in this reader's MessageStyle.
  [[nodiscard]] std::string describe(const toml::node& node) const;

  // checkKeys returns ok when every key of `table` (at dotted `path`) is in `known`, otherwise
  // an error at the first unknown one: "unknown key" or "unknown table", with a did-you-mean
  // hint as the MessageStyle allows.
  [[nodiscard]] Status checkKeys(const toml::table& table, std::string_view path,
                                 Keys known) const;

  // getTable sets `out` to the sub-table `key` of `parent` (at dotted `path`), or to null when
  // the key is absent. Returns ok, or an error (and null) when the key is not a table.
  [[nodiscard]] Status getTable(const toml::table& parent, std::string_view path,
                                std::string_view key, const toml::table*& out) const;

  // readInt stores the integer `key` of `table` in `out` when present. Returns ok (absent keys
  // leave `out` alone) or "must be an integer lo..hi, got X" for anything else.
  template <typename T>
  [[nodiscard]] Status readInt(const toml::table& table, std::string_view path,
                               std::string_view key, int64_t lo, int64_t hi, T& out) const {
    std::optional<int64_t> value;
    if (Status s = readInt64(table, path, key, lo, hi, value); !s.isOk()) {
      return s;
    }
    if (value) {
      out = static_cast<T>(*value);
    }
    return Status::ok();
  }

  // readNumber stores the integer or float `key` of `table` in `out` when present. Returns ok
  // (absent keys leave `out` alone), "must be a number, got X", or "must be lo..hi, got X"
  // with the bounds printed by std::to_string.
  [[nodiscard]] Status readNumber(const toml::table& table, std::string_view path,
                                  std::string_view key, double lo, double hi, double& out) const;

  // readBool stores the boolean `key` of `table` in `out` when present. Returns ok (absent
  // keys leave `out` alone) or "must be true or false, got X".
  [[nodiscard]] Status readBool(const toml::table& table, std::string_view path,
                                std::string_view key, bool& out) const;

  // readString stores the string `key` of `table` in `out` when present; `where`, when given,
  // receives the node (null when absent). Returns ok or "must be a string, got X".
  [[nodiscard]] Status readString(const toml::table& table, std::string_view path,
                                  std::string_view key, std::string& out,
                                  const toml::node** where = nullptr) const;

  // readStrings clears `out` and fills it with the array of strings `key` of `table`, each
  // with its node (empty when the key is absent). Returns ok, "must be an array of strings,
  // got X" (for one string too unless `single` is AsList), or "must be a string, got X" at
  // the first element that is not one.
  [[nodiscard]] Status readStrings(const toml::table& table, std::string_view path,
                                   std::string_view key, SingleString single,
                                   std::vector<StringAt>& out) const;

  // readStringArray is readStrings with SingleString::Reject for plain strings; an absent key
  // leaves `out` alone.
  [[nodiscard]] Status readStringArray(const toml::table& table, std::string_view path,
                                       std::string_view key, std::vector<std::string>& out) const;

 private:
  // readExact is readBool and readString: `key` must hold a T, else "<expected>, got X".
  template <typename T>
  [[nodiscard]] Status readExact(const toml::table& table, std::string_view path,
                                 std::string_view key, std::string_view expected, T& out,
                                 const toml::node** where) const;
  [[nodiscard]] Status readInt64(const toml::table& table, std::string_view path,
                                 std::string_view key, int64_t lo, int64_t hi,
                                 std::optional<int64_t>& out) const;

  std::string_view source_;
  std::filesystem::path base_dir_;
  MessageStyle style_;
};

}  // namespace sipshield
