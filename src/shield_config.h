#pragma once

// The [shield] part of the configuration: the DoS shield's rules (issue 4), parsed from TOML
// into the filters' plain Config structs and finalized into one immutable filters::ShieldRules
// that the control plane puts into every runtime snapshot.

#include <toml++/impl/forward_declarations.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "filters/shield_rules.h"
#include "filters/state_sizes.h"
#include "src/status.h"

namespace sipshield {

// ShieldConfig is the parsed [shield] table.
struct ShieldConfig {
  // present is true when the file has a [shield] table; without one the shield is off.
  bool present = false;
  // rules are the finalized rules (null when !present). Immutable and shared: a reload builds a
  // new object; workers keep their state across the swap (filters::FilterChain::setRules).
  std::shared_ptr<const filters::ShieldRules> rules;
  // sizes are the [shield.tables] sizes of the shield's tables (defaults when absent). They
  // are allocated once when the workers start: a reload that changes them is logged and the
  // running sizes stay until a restart (Daemon::reload).
  filters::StateSizes sizes;
  // text is a canonical one-line-per-setting rendering, for describe and for diffs.
  std::string text;

  // operator== compares the rendered settings, not the shared pointer.
  friend bool operator==(const ShieldConfig& a, const ShieldConfig& b) {
    return a.present == b.present && a.text == b.text;
  }
};

// readShieldConfig reads the optional [shield] table of `root` into `out`. Thread-safe (no
// shared state). `source_name` prefixes error messages; relative ACL list files
// (acl.allow_files / acl.deny_files) are opened relative to `base_dir` (the current directory
// when empty). Returns ok, or kInvalidArgument naming the source, the line, the dotted key
// (e.g. "shield.rate_limit[2].burst") and the problem: unknown keys (with a did-you-mean),
// table sizes in [shield.tables] that are not powers of two or are out of range,
// wrong types, out-of-range numbers, bad CIDR prefixes (with the file and line for list
// files), unknown methods, trust classes or actions, duplicate rule names, or an action a
// stage cannot take.
[[nodiscard]] Status readShieldConfig(const toml::table& root, std::string_view source_name,
                                      const std::filesystem::path& base_dir, ShieldConfig& out);

// describeShield returns a one-sentence summary for the start-up log. Thread-safe.
[[nodiscard]] std::string describeShield(const ShieldConfig& shield);

}  // namespace sipshield
