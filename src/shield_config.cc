#include "src/shield_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <initializer_list>

#include "src/toml_reader.h"

namespace sipshield {
namespace {

using filters::ActionKind;
using filters::MethodClass;
using filters::RuleAction;
using filters::RuleHeader;
using filters::TrustClass;

// Reader walks [shield], stopping at the first error with the config loader's message shape:
// "<source>:<line>: <dotted.key>: <problem>".
class Reader : private TomlReader {
 public:
  Reader(std::string_view source, std::filesystem::path base_dir)
      : TomlReader(source, std::move(base_dir), MessageStyle::Basic) {}

  Status run(const toml::table& shield, filters::ShieldRules& rules, filters::StateSizes& sizes);

 private:
  // subTable returns the table [shield.<key>], or null when it is absent or not a table; the
  // latter is recorded in `status`, which run reports after the tables that are fine.
  const toml::table* subTable(const toml::table& shield, std::string_view key,
                              Status& status) const {
    const toml::table* table = nullptr;
    if (Status s = getTable(shield, "shield", key, table); !s.isOk()) {
      status = std::move(s);
    }
    return table;
  }

  // readStrings reads an array of strings, or one string as an array of one.
  Status readStrings(const toml::table& t, std::string_view path, std::string_view key,
                     std::vector<StringAt>& out) const {
    return TomlReader::readStrings(t, path, key, SingleString::AsList, out);
  }

  // rejectUnknownKeys returns "unknown key" (never a hint) at the first key of `t` not in
  // `keys`.
  Status rejectUnknownKeys(const toml::table& t, std::string_view path,
                           const std::vector<std::string_view>& keys) const {
    for (auto&& [key, value] : t) {
      if (std::find(keys.begin(), keys.end(), key.str()) == keys.end()) {
        return errorAt(key.source(), joinPath(path, key.str()), "unknown key");
      }
    }
    return Status::ok();
  }

  Status readPrefixes(const toml::table& t, std::string_view path, std::string_view key,
                      std::vector<filters::Prefix>& out) const {
    std::vector<StringAt> texts;
    if (Status s = readStrings(t, path, key, texts); !s.isOk()) {
      return s;
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      filters::Prefix prefix;
      const std::string why = filters::parsePrefix(texts[i].text, prefix);
      if (!why.empty()) {
        return errorAt(*texts[i].node, indexPath(joinPath(path, key), i),
                       "bad prefix \"" + texts[i].text + "\": " + why);
      }
      out.push_back(prefix);
    }
    return Status::ok();
  }

  // readPrefixFiles reads files of one CIDR prefix per line ('#' starts a comment).
  Status readPrefixFiles(const toml::table& t, std::string_view path, std::string_view key,
                         std::vector<filters::Prefix>& out) const {
    std::vector<StringAt> files;
    if (Status s = readStrings(t, path, key, files); !s.isOk()) {
      return s;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      const std::filesystem::path file = resolve(files[i].text);
      std::ifstream in(file);
      if (!in) {
        return errorAt(*files[i].node, indexPath(joinPath(path, key), i),
                       "cannot open \"" + file.string() + "\"");
      }
      std::string line;
      size_t number = 0;
      while (std::getline(in, line)) {
        ++number;
        const size_t hash = line.find('#');
        std::string_view text(line.data(), hash == std::string::npos ? line.size() : hash);
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
          text.remove_prefix(1);
        }
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
          text.remove_suffix(1);
        }
        if (text.empty()) {
          continue;
        }
        filters::Prefix prefix;
        const std::string why = filters::parsePrefix(text, prefix);
        if (!why.empty()) {
          return errorAt(*files[i].node, indexPath(joinPath(path, key), i),
                         file.string() + ":" + std::to_string(number) + ": bad prefix \"" +
                             std::string(text) + "\": " + why);
        }
        out.push_back(prefix);
      }
    }
    return Status::ok();
  }

  Status readMethods(const toml::table& t, std::string_view path, std::string_view key,
                     uint8_t& out) const {
    std::vector<StringAt> names;
    if (Status s = readStrings(t, path, key, names); !s.isOk()) {
      return s;
    }
    if (names.empty()) {
      return Status::ok();
    }
    uint8_t mask = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      std::string name = names[i].text;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](char c) { return static_cast<char>(std::tolower(c)); });
      if (name == "any") {
        mask = filters::kAllMethodClasses;
      } else if (name == "invite") {
        mask |= filters::bit(MethodClass::Invite);
      } else if (name == "register") {
        mask |= filters::bit(MethodClass::Register);
      } else if (name == "options") {
        mask |= filters::bit(MethodClass::Options);
      } else if (name == "other") {
        mask |= filters::bit(MethodClass::Other);
      } else if (name == "response" || name == "responses") {
        mask |= filters::bit(MethodClass::Response);
      } else {
        return errorAt(*names[i].node, indexPath(joinPath(path, key), i),
                       "must be one of \"INVITE\", \"REGISTER\", \"OPTIONS\", \"other\", "
                       "\"response\", \"any\"; got \"" +
                           names[i].text + "\"");
      }
    }
    out = mask;
    return Status::ok();
  }

  Status readTrust(const toml::table& t, std::string_view path, uint8_t& out) const {
    std::vector<StringAt> names;
    if (Status s = readStrings(t, path, "trust", names); !s.isOk()) {
      return s;
    }
    if (names.empty()) {
      return Status::ok();
    }
    uint8_t mask = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i].text;
      if (name == "any") {
        mask = filters::kAllTrustClasses;
      } else if (name == "trusted") {
        mask |= filters::bit(TrustClass::Trusted);
      } else if (name == "verified") {
        mask |= filters::bit(TrustClass::Verified);
      } else if (name == "unverified") {
        mask |= filters::bit(TrustClass::Unverified);
      } else {
        return errorAt(
            *names[i].node, indexPath(joinPath(path, "trust"), i),
            "must be \"trusted\", \"verified\", \"unverified\" or \"any\", got \"" + name + "\"");
      }
    }
    out = mask;
    return Status::ok();
  }

  // readHeader reads the keys every rule has: action and its parameters, dry_run.
  Status readHeader(const toml::table& t, std::string_view path, RuleHeader& header) const {
    RuleAction& action = header.action;
    if (const toml::node* node = t.get("action")) {
      const auto* s = node->as_string();
      const std::string value = s != nullptr ? s->get() : "";
      if (value == "drop") {
        action.kind = ActionKind::Drop;
      } else if (value == "ban") {
        action.kind = ActionKind::Ban;
      } else if (value == "reply") {
        action.kind = ActionKind::Reply;
      } else if (value == "log") {
        action.kind = ActionKind::Log;
      } else {
        return errorAt(*node, joinPath(path, "action"),
                       "must be \"drop\", \"ban\", \"reply\" or \"log\", got " + describe(*node));
      }
    }
    if (Status s = readInt(t, path, "ban_seconds", 1, 30 * 86400, action.ban_seconds); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(t, path, "ban_prefix_v4", 8, 32, action.ban_prefix_v4); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(t, path, "ban_prefix_v6", 16, 128, action.ban_prefix_v6); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(t, path, "reply_status", 400, 699, action.reply_status); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(t, path, "retry_after_s", 0, 86400, action.retry_after_s); !s.isOk()) {
      return s;
    }
    return readBool(t, path, "dry_run", header.dry_run);
  }

  Status readTables(const toml::table& t, filters::StateSizes& sizes) const;
  Status readAcl(const toml::table& t, filters::AclConfig& acl) const;
  Status readScanner(const toml::table& t, filters::ScannerConfig& scanner) const;
  Status readRateLimit(const toml::table& t, std::string_view path,
                       filters::RateLimitRule& rule) const;
};

constexpr std::string_view kActionKeys[] = {
    "action", "ban_seconds", "ban_prefix_v4", "ban_prefix_v6", "reply_status", "retry_after_s",
    "dry_run"};

std::vector<std::string_view> withActionKeys(std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> out(keys);
  out.insert(out.end(), std::begin(kActionKeys), std::end(kActionKeys));
  return out;
}

// [shield.tables]: the fixed sizes of the shield's tables. Powers of two (the tables index
// their sets by mask) within StateSizeLimits, so a typo cannot allocate gigabytes per worker.
Status Reader::readTables(const toml::table& t, filters::StateSizes& sizes) const {
  using L = filters::StateSizeLimits;
  constexpr std::string_view kPath = "shield.tables";
  if (Status s = checkKeys(t, kPath,
                           {"buckets", "bans", "verified", "hop_prefixes", "sketch_width",
                            "sketch_depth", "nonces"});
      !s.isOk()) {
    return s;
  }
  struct Entry {
    std::string_view key;
    uint32_t max;
    uint32_t* out;
  };
  const Entry entries[] = {{"buckets", L::kMaxBuckets, &sizes.buckets},
                           {"bans", L::kMaxBans, &sizes.bans},
                           {"verified", L::kMaxVerified, &sizes.verified},
                           {"hop_prefixes", L::kMaxHopPrefixes, &sizes.hop_prefixes},
                           {"sketch_width", L::kMaxSketchWidth, &sizes.sketch_width},
                           {"nonces", L::kMaxNonces, &sizes.nonces}};
  for (const Entry& e : entries) {
    if (Status s = readInt(t, kPath, e.key, L::kMinEntries, e.max, *e.out); !s.isOk()) {
      return s;
    }
    if (!std::has_single_bit(*e.out)) {
      return errorAt(*t.get(e.key), joinPath(kPath, e.key),
                     "must be a power of two (the table indexes by mask), got " +
                         std::to_string(*e.out) + "; nearest: " +
                         std::to_string(std::bit_floor(*e.out)) + " or " +
                         std::to_string(std::bit_ceil(*e.out)));
    }
  }
  return readInt(t, kPath, "sketch_depth", 1, L::kMaxSketchDepth, sizes.sketch_depth);
}

Status Reader::readAcl(const toml::table& t, filters::AclConfig& acl) const {
  constexpr std::string_view kPath = "shield.acl";
  for (auto&& [key, value] : t) {
    const std::string_view k = key.str();
    if (k != "allow" && k != "deny" && k != "allow_files" && k != "deny_files" &&
        k != "default" && k != "dry_run") {
      return errorAt(key.source(), joinPath(kPath, k),
                     "unknown key (known: allow, deny, allow_files, deny_files, default, dry_run)");
    }
  }
  if (Status s = readPrefixes(t, kPath, "allow", acl.allow); !s.isOk()) {
    return s;
  }
  if (Status s = readPrefixes(t, kPath, "deny", acl.deny); !s.isOk()) {
    return s;
  }
  if (Status s = readPrefixFiles(t, kPath, "allow_files", acl.allow); !s.isOk()) {
    return s;
  }
  if (Status s = readPrefixFiles(t, kPath, "deny_files", acl.deny); !s.isOk()) {
    return s;
  }
  if (const toml::node* node = t.get("default")) {
    const auto* s = node->as_string();
    if (s == nullptr || (s->get() != "allow" && s->get() != "deny")) {
      return errorAt(*node, joinPath(kPath, "default"),
                     "must be \"allow\" or \"deny\", got " + describe(*node));
    }
    acl.default_allow = s->get() == "allow";
  }
  return readBool(t, kPath, "dry_run", acl.header.dry_run);
}

Status Reader::readScanner(const toml::table& t, filters::ScannerConfig& scanner) const {
  constexpr std::string_view kPath = "shield.scanner";
  bool defaults = true;
  if (Status s = readBool(t, kPath, "enabled", scanner.enabled); !s.isOk()) {
    return s;
  }
  if (Status s = readBool(t, kPath, "defaults", defaults); !s.isOk()) {
    return s;
  }
  if (!defaults) {
    scanner.patterns.clear();
  }
  if (const toml::node* node = t.get("patterns")) {
    const auto* array = node->as_array();
    if (array == nullptr) {
      return errorAt(
          *node, joinPath(kPath, "patterns"),
          "must be an array of strings or {text, fields} tables, got " + describe(*node));
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string path = indexPath(joinPath(kPath, "patterns"), i);
      filters::ScannerPattern pattern;
      pattern.fields = filters::kFieldUserAgent | filters::kFieldFrom | filters::kFieldTo;
      if (const auto* s = element.as_string()) {
        pattern.text = s->get();
      } else if (const auto* table = element.as_table()) {
        if (Status s = checkKeys(*table, path, {"text", "fields"}); !s.isOk()) {
          return s;
        }
        const toml::node* text = table->get("text");
        if (text == nullptr || !text->is_string()) {
          return errorAt(element, joinPath(path, "text"), "is required (a string)");
        }
        pattern.text = text->as_string()->get();
        std::vector<StringAt> fields;
        if (Status s = readStrings(*table, path, "fields", fields); !s.isOk()) {
          return s;
        }
        if (!fields.empty()) {
          pattern.fields = 0;
        }
        for (size_t f = 0; f < fields.size(); ++f) {
          if (fields[f].text == "user-agent") {
            pattern.fields |= filters::kFieldUserAgent;
          } else if (fields[f].text == "from") {
            pattern.fields |= filters::kFieldFrom;
          } else if (fields[f].text == "to") {
            pattern.fields |= filters::kFieldTo;
          } else {
            return errorAt(
                *fields[f].node, indexPath(joinPath(path, "fields"), f),
                "must be \"user-agent\", \"from\" or \"to\", got \"" + fields[f].text + "\"");
          }
        }
      } else {
        return errorAt(element, path, "must be a string or a {text, fields} table");
      }
      if (pattern.text.empty()) {
        return errorAt(element, path, "must not be empty");
      }
      scanner.patterns.push_back(std::move(pattern));
    }
    if (scanner.patterns.size() > filters::ScannerConfig::kMaxPatterns) {
      return errorAt(*node, joinPath(kPath, "patterns"),
                     "at most " + std::to_string(filters::ScannerConfig::kMaxPatterns) +
                         " patterns in all (the defaults count)");
    }
  }
  return readHeader(t, kPath, scanner.header);
}

Status Reader::readRateLimit(const toml::table& t, std::string_view path,
                             filters::RateLimitRule& rule) const {
  const auto keys = withActionKeys({"name", "methods", "trust", "key", "prefix_v4", "prefix_v6",
                                    "rate", "burst", "ban_after", "violation_window_s"});
  if (Status s = rejectUnknownKeys(t, path, keys); !s.isOk()) {
    return s;
  }
  const toml::node* name = t.get("name");
  if (name == nullptr || !name->is_string() || name->as_string()->get().empty()) {
    return errorAt(name != nullptr ? name->source() : t.source(), joinPath(path, "name"),
                   "is required: a unique rule name (a string)");
  }
  rule.header.name = name->as_string()->get();
  if (Status s = readMethods(t, path, "methods", rule.methods); !s.isOk()) {
    return s;
  }
  if (Status s = readTrust(t, path, rule.trust); !s.isOk()) {
    return s;
  }
  if (const toml::node* node = t.get("key")) {
    const auto* s = node->as_string();
    const std::string value = s != nullptr ? s->get() : "";
    if (value == "source") {
      rule.key = filters::RateKey::Source;
    } else if (value == "prefix") {
      rule.key = filters::RateKey::Prefix;
    } else if (value == "global") {
      rule.key = filters::RateKey::Global;
    } else {
      return errorAt(*node, joinPath(path, "key"),
                     "must be \"source\", \"prefix\" or \"global\", got " + describe(*node));
    }
  }
  if (Status s = readInt(t, path, "prefix_v4", 1, 32, rule.prefix_v4); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(t, path, "prefix_v6", 1, 128, rule.prefix_v6); !s.isOk()) {
    return s;
  }
  const toml::node* rate = t.get("rate");
  const toml::node* burst = t.get("burst");
  if (rate == nullptr || burst == nullptr) {
    return errorAt(t.source(), path,
                   "needs rate (packets per second) and burst (packets the bucket holds)");
  }
  if (Status s = readNumber(t, path, "rate", 0.001, 1e9, rule.rate); !s.isOk()) {
    return s;
  }
  if (Status s = readNumber(t, path, "burst", 1, 1e9, rule.burst); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(t, path, "ban_after", 1, 1000000, rule.ban_after); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(t, path, "violation_window_s", 1, 86400, rule.violation_window_s);
      !s.isOk()) {
    return s;
  }
  if (Status s = readHeader(t, path, rule.header); !s.isOk()) {
    return s;
  }
  if (rule.key == filters::RateKey::Global && rule.header.action.kind == ActionKind::Ban) {
    return errorAt(t.get("action")->source(), joinPath(path, "action"),
                   "a global ceiling has no single source to ban; use \"drop\" or \"reply\"");
  }
  return Status::ok();
}

Status Reader::run(const toml::table& shield, filters::ShieldRules& rules,
                   filters::StateSizes& sizes) {
  if (Status s = checkKeys(shield, "shield",
                           {"enabled", "trusted", "trusted_files", "acl", "bans", "verify",
                            "sanity", "scanner", "flood", "hop_count", "overload", "rate_limit",
                            "tables"});
      !s.isOk()) {
    return s;
  }
  if (Status s = readBool(shield, "shield", "enabled", rules.enabled); !s.isOk()) {
    return s;
  }
  if (Status s = readPrefixes(shield, "shield", "trusted", rules.trusted); !s.isOk()) {
    return s;
  }
  if (Status s = readPrefixFiles(shield, "shield", "trusted_files", rules.trusted); !s.isOk()) {
    return s;
  }
  Status status;
  if (const toml::table* t = subTable(shield, "tables", status)) {
    if (Status s = readTables(*t, sizes); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "acl", status)) {
    if (Status s = readAcl(*t, rules.acl); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "bans", status)) {
    if (Status s = checkKeys(*t, "shield.bans", {"dry_run"}); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, "shield.bans", "dry_run", rules.bans.dry_run); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "verify", status)) {
    constexpr std::string_view p = "shield.verify";
    if (Status s = checkKeys(*t, p, {"by_authorization", "by_ack", "ttl_s", "nonce_ttl_s"});
        !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "by_authorization", rules.verify.by_authorization); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "by_ack", rules.verify.by_ack); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "ttl_s", 1, 30 * 86400, rules.verify.ttl_s); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "nonce_ttl_s", 1, 86400, rules.verify.nonce_ttl_s);
        !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "sanity", status)) {
    constexpr std::string_view p = "shield.sanity";
    filters::SanityConfig& c = rules.sanity;
    const auto keys = withActionKeys({"enabled", "max_message_bytes", "methods", "min_max_forwards",
                                      "max_max_forwards", "require_max_forwards", "max_via",
                                      "check_every_via"});
    if (Status s = rejectUnknownKeys(*t, p, keys); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "enabled", c.enabled); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "max_message_bytes", 200, 65535, c.max_message_bytes);
        !s.isOk()) {
      return s;
    }
    std::vector<StringAt> methods;
    if (Status s = readStrings(*t, p, "methods", methods); !s.isOk()) {
      return s;
    }
    if (!methods.empty()) {
      c.allowed_methods = 0;
      for (size_t i = 0; i < methods.size(); ++i) {
        const parser::Method m = parser::classifyMethod(methods[i].text);
        if (m == parser::Method::Other && methods[i].text != "other") {
          return errorAt(*methods[i].node, indexPath(joinPath(p, "methods"), i),
                         "unknown method \"" + methods[i].text +
                             "\" (methods are upper case, e.g. \"INVITE\"; \"other\" allows "
                             "every extension method)");
        }
        c.allowed_methods |= filters::methodBit(m);
      }
    }
    if (Status s = readInt(*t, p, "min_max_forwards", 0, 255, c.min_max_forwards); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "max_max_forwards", 0, 255, c.max_max_forwards); !s.isOk()) {
      return s;
    }
    if (c.min_max_forwards > c.max_max_forwards) {
      return errorAt(*t, p, "min_max_forwards must be <= max_max_forwards");
    }
    if (Status s = readBool(*t, p, "require_max_forwards", c.require_max_forwards); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "max_via", 1, 1000, c.max_via); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "check_every_via", c.check_every_via); !s.isOk()) {
      return s;
    }
    if (Status s = readHeader(*t, p, c.header); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "scanner", status)) {
    const auto keys = withActionKeys({"enabled", "defaults", "patterns"});
    if (Status s = rejectUnknownKeys(*t, "shield.scanner", keys); !s.isOk()) {
      return s;
    }
    if (Status s = readScanner(*t, rules.scanner); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "flood", status)) {
    constexpr std::string_view p = "shield.flood";
    filters::FloodConfig& c = rules.flood;
    c.enabled = true;  // a [shield.flood] table turns it on unless enabled = false
    const auto keys = withActionKeys(
        {"enabled", "window_ms", "source_threshold", "prefix_threshold", "prefix_v4", "prefix_v6"});
    if (Status s = rejectUnknownKeys(*t, p, keys); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "enabled", c.enabled); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "window_ms", 10, 600000, c.window_ms); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "source_threshold", 1, 100000000, c.source_threshold);
        !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "prefix_threshold", 0, 100000000, c.prefix_threshold);
        !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "prefix_v4", 8, 32, c.prefix_v4); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "prefix_v6", 16, 128, c.prefix_v6); !s.isOk()) {
      return s;
    }
    if (Status s = readHeader(*t, p, c.header); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "hop_count", status)) {
    constexpr std::string_view p = "shield.hop_count";
    filters::HopCountConfig& c = rules.hop_count;
    c.enabled = true;
    const auto keys =
        withActionKeys({"enabled", "prefix_v4", "prefix_v6", "tolerance", "min_samples"});
    if (Status s = rejectUnknownKeys(*t, p, keys); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "enabled", c.enabled); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "prefix_v4", 8, 32, c.prefix_v4); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "prefix_v6", 16, 128, c.prefix_v6); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "tolerance", 0, 64, c.tolerance); !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "min_samples", 1, 1000, c.min_samples); !s.isOk()) {
      return s;
    }
    if (Status s = readHeader(*t, p, c.header); !s.isOk()) {
      return s;
    }
  }
  if (const toml::table* t = subTable(shield, "overload", status)) {
    constexpr std::string_view p = "shield.overload";
    filters::OverloadConfig& c = rules.overload;
    c.enabled = true;
    const auto keys = withActionKeys(
        {"enabled", "enter_fullness", "exit_fullness", "shed_methods", "shed_verified",
         "backend_503_enter", "backend_503_exit", "backend_window_ms", "backend_min_responses"});
    if (Status s = rejectUnknownKeys(*t, p, keys); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "enabled", c.enabled); !s.isOk()) {
      return s;
    }
    if (Status s = readNumber(*t, p, "enter_fullness", 0.05, 1.0, c.enter_fullness); !s.isOk()) {
      return s;
    }
    if (Status s = readNumber(*t, p, "exit_fullness", 0.0, 1.0, c.exit_fullness); !s.isOk()) {
      return s;
    }
    if (c.exit_fullness >= c.enter_fullness) {
      return errorAt(*t, p, "exit_fullness must be below enter_fullness (hysteresis)");
    }
    if (Status s = readNumber(*t, p, "backend_503_enter", 0.01, 1.0, c.backend_503_enter);
        !s.isOk()) {
      return s;
    }
    if (Status s = readNumber(*t, p, "backend_503_exit", 0.0, 1.0, c.backend_503_exit);
        !s.isOk()) {
      return s;
    }
    if (c.backend_503_exit >= c.backend_503_enter) {
      return errorAt(*t, p, "backend_503_exit must be below backend_503_enter (hysteresis)");
    }
    if (Status s = readInt(*t, p, "backend_window_ms", 100, 600000, c.backend_window_ms);
        !s.isOk()) {
      return s;
    }
    if (Status s = readInt(*t, p, "backend_min_responses", 1, 1000000, c.backend_min_responses);
        !s.isOk()) {
      return s;
    }
    if (Status s = readMethods(*t, p, "shed_methods", c.shed_methods); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(*t, p, "shed_verified", c.shed_verified); !s.isOk()) {
      return s;
    }
    if (Status s = readHeader(*t, p, c.header); !s.isOk()) {
      return s;
    }
  }
  if (!status.isOk()) {
    return status;
  }
  if (const toml::node* node = shield.get("rate_limit")) {
    const auto* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      return errorAt(*node, "shield.rate_limit",
                     "must be an array of tables ([[shield.rate_limit]]), got " + describe(*node));
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string path = indexPath("shield.rate_limit", i);
      filters::RateLimitRule rule;
      const toml::table& t = *array->get(i)->as_table();
      if (Status s = readRateLimit(t, path, rule); !s.isOk()) {
        return s;
      }
      for (const filters::RateLimitRule& other : rules.rate_limits) {
        if (other.header.name == rule.header.name) {
          return errorAt(*t.get("name"), joinPath(path, "name"),
                         "rule name \"" + rule.header.name + "\" is used twice");
        }
      }
      for (std::string_view builtin :
           {"acl", "bans", "flood", "hop_count", "sanity", "scanner", "overload"}) {
        if (rule.header.name == builtin) {
          return errorAt(*t.get("name"), joinPath(path, "name"),
                         "\"" + rule.header.name + "\" is the name of a built-in rule");
        }
      }
      rules.rate_limits.push_back(std::move(rule));
    }
  }
  for (const RuleHeader* header : {&rules.acl.header, &rules.flood.header,
                                   &rules.hop_count.header}) {
    if (header->action.kind == ActionKind::Reply) {
      const std::string key = "shield." + header->name + ".action";
      return errorAt(shield.source(), key,
                     "\"reply\" is not possible here: this stage runs before the message is "
                     "parsed; use \"drop\" or \"ban\"");
    }
  }
  if (std::string why = rules.finalize(); !why.empty()) {
    return errorAt(shield.source(), "shield", why);
  }
  return Status::ok();
}

std::string render(const filters::ShieldRules& r) {
  std::string out;
  auto header = [&](const RuleHeader& h) {
    out += h.name + ": action " + std::string(filters::actionKindName(h.action.kind)) +
           " ban " + std::to_string(h.action.ban_seconds) + "s /" +
           std::to_string(h.action.ban_prefix_v4) + " /" + std::to_string(h.action.ban_prefix_v6) +
           " reply " + std::to_string(h.action.reply_status) + " retry " +
           std::to_string(h.action.retry_after_s) + (h.dry_run ? " dry_run" : "") + "\n";
  };
  out += std::string("enabled ") + (r.enabled ? "true" : "false") + "\ntrusted";
  for (const auto& p : r.trusted) {
    out += ' ';
    out += filters::formatPrefix(p);
  }
  out += "\nacl allow " + std::to_string(r.acl.allow.size()) + " deny " +
         std::to_string(r.acl.deny.size()) + " default " +
         (r.acl.default_allow ? "allow" : "deny") + "\n";
  for (const auto& p : r.acl.allow) {
    out += "  allow ";
    out += filters::formatPrefix(p);
    out += '\n';
  }
  for (const auto& p : r.acl.deny) {
    out += "  deny ";
    out += filters::formatPrefix(p);
    out += '\n';
  }
  for (const RuleHeader* h : r.rules) {
    header(*h);
  }
  for (const auto& rl : r.rate_limits) {
    out += "rate_limit " + rl.header.name + " methods " + std::to_string(rl.methods) + " trust " +
           std::to_string(rl.trust) + " key " + std::string(filters::rateKeyName(rl.key)) + " /" +
           std::to_string(rl.prefix_v4) + " /" + std::to_string(rl.prefix_v6) + " rate " +
           std::to_string(rl.rate) + " burst " + std::to_string(rl.burst) + " ban_after " +
           std::to_string(rl.ban_after) + " window " + std::to_string(rl.violation_window_s) +
           "\n";
  }
  out += "sanity " + std::to_string(r.sanity.enabled) + " " +
         std::to_string(r.sanity.max_message_bytes) + " " +
         std::to_string(r.sanity.allowed_methods) + " " +
         std::to_string(r.sanity.min_max_forwards) + ".." +
         std::to_string(r.sanity.max_max_forwards) + " " +
         std::to_string(r.sanity.require_max_forwards) + " " + std::to_string(r.sanity.max_via) +
         " " + std::to_string(r.sanity.check_every_via) + "\nscanner " +
         std::to_string(r.scanner.enabled);
  for (const auto& p : r.scanner.patterns) {
    out += ' ';
    out += p.text;
    out += '/';
    out += std::to_string(p.fields);
  }
  out += "\nflood " + std::to_string(r.flood.enabled) + " " + std::to_string(r.flood.window_ms) +
         " " + std::to_string(r.flood.source_threshold) + " " +
         std::to_string(r.flood.prefix_threshold) + " /" + std::to_string(r.flood.prefix_v4) +
         " /" + std::to_string(r.flood.prefix_v6) + "\nhop_count " +
         std::to_string(r.hop_count.enabled) + " /" + std::to_string(r.hop_count.prefix_v4) +
         " /" + std::to_string(r.hop_count.prefix_v6) + " " +
         std::to_string(r.hop_count.tolerance) + " " + std::to_string(r.hop_count.min_samples) +
         "\noverload " + std::to_string(r.overload.enabled) + " " +
         std::to_string(r.overload.enter_fullness) + " " +
         std::to_string(r.overload.exit_fullness) + " " +
         std::to_string(r.overload.shed_methods) + " " +
         std::to_string(r.overload.shed_verified) + " backend_503 " +
         std::to_string(r.overload.backend_503_enter) + " " +
         std::to_string(r.overload.backend_503_exit) + " " +
         std::to_string(r.overload.backend_window_ms) + " " +
         std::to_string(r.overload.backend_min_responses) + "\nverify " +
         std::to_string(r.verify.by_authorization) + " " + std::to_string(r.verify.by_ack) + " " +
         std::to_string(r.verify.ttl_s) + " " + std::to_string(r.verify.nonce_ttl_s) + "\n";
  return out;
}

}  // namespace

Status readShieldConfig(const toml::table& root, std::string_view source_name,
                        const std::filesystem::path& base_dir, ShieldConfig& out) {
  out = ShieldConfig{};
  const toml::node* node = root.get("shield");
  if (node == nullptr) {
    return Status::ok();
  }
  const toml::table* table = node->as_table();
  Reader reader(source_name, base_dir);
  if (table == nullptr) {
    std::string text(source_name);
    text += ":" + std::to_string(node->source().begin.line) + ": shield: must be a table";
    return invalidArgument(std::move(text));
  }
  auto rules = std::make_shared<filters::ShieldRules>();
  filters::StateSizes sizes;
  if (Status s = reader.run(*table, *rules, sizes); !s.isOk()) {
    return s;
  }
  out.present = true;
  out.sizes = sizes;
  out.text = render(*rules) + "tables " + filters::describeStateSizes(sizes) + "\n";
  out.rules = std::move(rules);
  return Status::ok();
}

std::string describeShield(const ShieldConfig& shield) {
  if (!shield.present || shield.rules == nullptr) {
    return "shield off";
  }
  const filters::ShieldRules& r = *shield.rules;
  if (!r.enabled) {
    return "shield disabled";
  }
  std::string out = "shield: " + std::to_string(r.rules.size()) + " rules (" +
                    std::to_string(r.rate_limits.size()) + " rate limits), acl " +
                    std::to_string(r.acl.allow.size()) + " allow / " +
                    std::to_string(r.acl.deny.size()) + " deny, " +
                    std::to_string(r.trusted.size()) + " trusted prefixes, stages";
  constexpr std::string_view kNames[] = {"acl",    "bans",   "flood",   "hop_count",
                                         "rate_limit", "sanity", "scanner", "overload"};
  out += " before parsing:";
  for (filters::FilterId id : r.pre_order) {
    out += " ";
    out += kNames[static_cast<int>(id)];
  }
  out += "; after:";
  for (filters::FilterId id : r.post_order) {
    out += " ";
    out += kNames[static_cast<int>(id)];
  }
  return out;
}

}  // namespace sipshield
