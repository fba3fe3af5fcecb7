#include "src/shield_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "src/config.h"

namespace sipshield {
namespace {

constexpr std::string_view kBase = R"(
[balancer]
secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "a"
address = "127.0.0.1:5070"
)";

Result<Config> parse(const std::string& shield) {
  return parseConfig(std::string(kBase) + shield, "test.toml");
}

// No [shield]: the shield is off and costs nothing.
TEST(ShieldConfig, AbsentMeansOff) {
  auto config = parse("");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_FALSE(config->shield.present);
  EXPECT_EQ(config->shield.rules, nullptr);
}

// A full example parses into the filters' Configs, rules numbered and stages resolved.
TEST(ShieldConfig, FullExample) {
  auto config = parse(R"(
[shield]
trusted = ["10.20.0.0/16", "2001:db8:ab::/48"]
[shield.acl]
deny = ["192.0.2.0/24"]
default = "allow"
[shield.scanner]
patterns = ["EvilDialer", { text = "badbot", fields = ["from", "to"] }]
action = "ban"
ban_seconds = 600
[shield.flood]
source_threshold = 300
prefix_threshold = 3000
[shield.hop_count]
tolerance = 3
[shield.overload]
shed_methods = ["INVITE", "REGISTER"]
retry_after_s = 10
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
key = "source"
rate = 5
burst = 10
action = "ban"
ban_after = 20
ban_seconds = 300
[[shield.rate_limit]]
name = "register-per-prefix"
methods = "REGISTER"
key = "prefix"
prefix_v4 = 24
prefix_v6 = 64
rate = 50.5
burst = 100
[[shield.rate_limit]]
name = "unverified-invite-ceiling"
methods = ["INVITE"]
trust = ["unverified"]
key = "global"
rate = 2000
burst = 4000
action = "reply"
reply_status = 503
retry_after_s = 3
dry_run = true
)");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  const auto& rules = *config->shield.rules;
  EXPECT_EQ(rules.trusted.size(), 2u);
  EXPECT_EQ(rules.acl.deny.size(), 1u);
  EXPECT_EQ(rules.scanner.header.action.kind, filters::ActionKind::Ban);
  EXPECT_EQ(rules.scanner.patterns.size(), filters::defaultScannerPatterns().size() + 2);
  EXPECT_TRUE(rules.flood.enabled);
  EXPECT_EQ(rules.flood.source_threshold, 300u);
  EXPECT_EQ(rules.hop_count.tolerance, 3);
  EXPECT_EQ(rules.overload.header.action.retry_after_s, 10u);
  ASSERT_EQ(rules.rate_limits.size(), 3u);
  EXPECT_EQ(rules.rate_limits[0].methods, filters::bit(filters::MethodClass::Invite));
  EXPECT_EQ(rules.rate_limits[0].ban_after, 20u);
  EXPECT_EQ(rules.rate_limits[1].key, filters::RateKey::Prefix);
  EXPECT_DOUBLE_EQ(rules.rate_limits[1].rate, 50.5);
  EXPECT_TRUE(rules.rate_limits[2].header.dry_run);
  EXPECT_EQ(rules.rules.size(), 7u + 3u);
  EXPECT_FALSE(rules.pre_order.empty());
  EXPECT_FALSE(rules.post_order.empty());
  EXPECT_NE(describeShield(config->shield).find("rate_limit"), std::string::npos);
}

// Bad rules name the line, the dotted key and the problem.
TEST(ShieldConfig, ErrorsTable) {
  struct Row {
    const char* desc;
    const char* shield;
    const char* expected;  // substring of the message
  };
  const Row rows[] = {
      {"unknown key", "[shield]\nenabeld = true\n", "shield.enabeld: unknown key"},
      {"bad prefix", "[shield]\ntrusted = [\"10.0.0.1/8\"]\n",
       "test.toml:8: shield.trusted[0]: bad prefix \"10.0.0.1/8\": host bits set"},
      {"rate without burst", "[[shield.rate_limit]]\nname = \"x\"\nrate = 5\n",
       "shield.rate_limit[0]: needs rate"},
      {"burst zero", "[[shield.rate_limit]]\nname = \"x\"\nrate = 5\nburst = 0\n",
       "test.toml:10: shield.rate_limit[0].burst: must be 1"},
      {"bad method", "[[shield.rate_limit]]\nname = \"x\"\nmethods = [\"INVITE\", \"FOO\"]\n"
                     "rate = 5\nburst = 5\n",
       "shield.rate_limit[0].methods[1]: must be one of"},
      {"duplicate name",
       "[[shield.rate_limit]]\nname = \"x\"\nrate = 5\nburst = 5\n"
       "[[shield.rate_limit]]\nname = \"x\"\nrate = 5\nburst = 5\n",
       "test.toml:12: shield.rate_limit[1].name: rule name \"x\" is used twice"},
      {"global cannot ban",
       "[[shield.rate_limit]]\nname = \"g\"\nkey = \"global\"\nrate = 5\nburst = 5\n"
       "action = \"ban\"\n",
       "shield.rate_limit[0].action: a global ceiling has no single source"},
      {"flood cannot reply", "[shield.flood]\naction = \"reply\"\n",
       "shield.flood.action: \"reply\" is not possible here"},
      {"bad action", "[shield.scanner]\naction = \"explode\"\n",
       "shield.scanner.action: must be \"drop\", \"ban\", \"reply\" or \"log\""},
      {"bad trust", "[[shield.rate_limit]]\nname = \"x\"\ntrust = [\"friends\"]\nrate = 1\n"
                    "burst = 1\n",
       "shield.rate_limit[0].trust[0]: must be \"trusted\""},
      {"hysteresis", "[shield.overload]\nenter_fullness = 0.5\nexit_fullness = 0.6\n",
       "exit_fullness must be below enter_fullness"},
      {"built-in name", "[[shield.rate_limit]]\nname = \"flood\"\nrate = 1\nburst = 1\n",
       "is the name of a built-in rule"},
      {"missing list file", "[shield.acl]\ndeny_files = [\"/nonexistent/deny.txt\"]\n",
       "shield.acl.deny_files[0]: cannot open"},
      {"tables: zero", "[shield.tables]\nbuckets = 0\n",
       "test.toml:8: shield.tables.buckets: must be an integer 16..16777216, got 0"},
      {"tables: not a power of two", "[shield.tables]\nbans = 1000\n",
       "test.toml:8: shield.tables.bans: must be a power of two (the table indexes by mask), "
       "got 1000; nearest: 512 or 1024"},
      {"tables: absurd", "[shield.tables]\nverified = 1073741824\n",
       "test.toml:8: shield.tables.verified: must be an integer 16..16777216"},
      {"tables: nonces too big", "[shield.tables]\nbuckets = 1024\nnonces = 33554432\n",
       "test.toml:9: shield.tables.nonces: must be an integer 16..16777216"},
      {"tables: sketch depth", "[shield.tables]\nsketch_depth = 0\n",
       "test.toml:8: shield.tables.sketch_depth: must be an integer 1..8, got 0"},
      {"tables: not a number", "[shield.tables]\nhop_prefixes = \"big\"\n",
       "test.toml:8: shield.tables.hop_prefixes: must be an integer"},
      {"tables: unknown key", "[shield.tables]\nbukets = 1024\n",
       "test.toml:8: shield.tables.bukets: unknown key"},
      {"tables: not a table", "[shield]\ntables = 5\n", "shield.tables"},
      {"backend 503 hysteresis",
       "[shield.overload]\nbackend_503_enter = 0.1\nbackend_503_exit = 0.1\n",
       "backend_503_exit must be below backend_503_enter"},
      {"backend window", "[shield.overload]\nbackend_window_ms = 5\n",
       "test.toml:8: shield.overload.backend_window_ms: must be an integer 100..600000"},
      {"nonce ttl", "[shield.verify]\nnonce_ttl_s = 0\n",
       "test.toml:8: shield.verify.nonce_ttl_s: must be an integer 1..86400"},
  };
  for (const Row& r : rows) {
    auto config = parse(r.shield);
    ASSERT_FALSE(config.isOk()) << r.desc;
    EXPECT_NE(config.status().message().find(r.expected), std::string::npos)
        << r.desc << ": " << config.status().message();
  }
}

// [shield.tables] sets the table sizes; absent keys keep the defaults; the sizes are part of
// the rendered text (so a reload diff sees them).
TEST(ShieldConfig, Tables) {
  struct Row {
    const char* desc;
    const char* shield;
    filters::StateSizes expected;
  };
  filters::StateSizes custom;
  custom.buckets = 1u << 20;
  custom.bans = 16;
  custom.verified = 1u << 24;
  custom.hop_prefixes = 1024;
  custom.sketch_width = 1u << 12;
  custom.sketch_depth = 3;
  custom.nonces = 1u << 18;
  filters::StateSizes some;
  some.nonces = 4096;
  const Row rows[] = {
      {"absent", "[shield]\n", filters::StateSizes{}},
      {"all", "[shield.tables]\nbuckets = 1048576\nbans = 16\nverified = 16777216\n"
              "hop_prefixes = 1024\nsketch_width = 4096\nsketch_depth = 3\nnonces = 262144\n",
       custom},
      {"some", "[shield.tables]\nnonces = 4096\n", some},
  };
  for (const Row& r : rows) {
    auto config = parse(r.shield);
    ASSERT_TRUE(config.isOk()) << r.desc << ": " << config.status().toString();
    EXPECT_TRUE(config->shield.sizes == r.expected) << r.desc;
  }
  auto a = parse("[shield.tables]\nbuckets = 1024\n");
  auto b = parse("[shield.tables]\nbuckets = 2048\n");
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_FALSE(a->shield == b->shield);
}

// The backends' 503 overload keys and the nonce TTL parse into the rules.
TEST(ShieldConfig, Backend503AndNonceKeys) {
  auto config = parse(
      "[shield.overload]\nbackend_503_enter = 0.3\nbackend_503_exit = 0.1\n"
      "backend_window_ms = 2000\nbackend_min_responses = 50\n[shield.verify]\nnonce_ttl_s = 60\n");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  const filters::ShieldRules& r = *config->shield.rules;
  EXPECT_DOUBLE_EQ(r.overload.backend_503_enter, 0.3);
  EXPECT_DOUBLE_EQ(r.overload.backend_503_exit, 0.1);
  EXPECT_EQ(r.overload.backend_window_ms, 2000u);
  EXPECT_EQ(r.overload.backend_min_responses, 50u);
  EXPECT_EQ(r.verify.nonce_ttl_s, 60u);
}

// ACL lists load from files (one prefix per line, # comments); a bad line names file:line.
TEST(ShieldConfig, AclFiles) {
  const std::string path = ::testing::TempDir() + "/shield_deny.txt";
  {
    std::ofstream out(path);
    out << "# blocklist\n192.0.2.0/24\n\n2001:db8:bad::/48  # v6\n";
  }
  auto config = parse("[shield.acl]\ndeny_files = [\"" + path + "\"]\n");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->shield.rules->acl.deny.size(), 2u);
  {
    std::ofstream out(path);
    out << "192.0.2.0/24\nnot-a-prefix\n";
  }
  auto bad = parse("[shield.acl]\ndeny_files = [\"" + path + "\"]\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find(path + ":2: bad prefix \"not-a-prefix\""),
            std::string::npos)
      << bad.status().message();
  std::remove(path.c_str());
}

// Two parses of the same text compare equal; a changed rule does not (reload diffing).
TEST(ShieldConfig, Equality) {
  const char* text = "[[shield.rate_limit]]\nname = \"x\"\nrate = 5\nburst = 5\n";
  auto a = parse(text);
  auto b = parse(text);
  auto c = parse("[[shield.rate_limit]]\nname = \"x\"\nrate = 6\nburst = 5\n");
  ASSERT_TRUE(a.isOk() && b.isOk() && c.isOk());
  EXPECT_TRUE(a->shield == b->shield);
  EXPECT_FALSE(a->shield == c->shield);
}

}  // namespace
}  // namespace sipshield
