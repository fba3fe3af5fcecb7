#include "src/config.h"

#include "lb/branch_mac.h"
#include "src/snapshot_builder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace sipshield {
namespace {

constexpr const char* kSecret = "00112233445566778899aabbccddeeff";

// The smallest valid file: everything else defaults.
constexpr const char* kMinimal = R"([balancer]
secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "a"
address = "127.0.0.2:5060"
)";

net::Endpoint endpoint(const char* text) {
  net::Endpoint out;
  const std::string s(text);
  if (s.front() == '[') {
    const size_t close = s.find(']');
    out.ip.family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, s.substr(1, close - 1).c_str(), out.ip.bytes), 1);
    out.port = static_cast<uint16_t>(std::stoi(s.substr(close + 2)));
  } else {
    const size_t colon = s.find(':');
    out.ip.family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, s.substr(0, colon).c_str(), out.ip.bytes), 1);
    out.port = static_cast<uint16_t>(std::stoi(s.substr(colon + 1)));
  }
  return out;
}

std::string minimalWith(const std::string& extra) { return std::string(kMinimal) + extra; }

// ---------------------------------------------------------------------------------------------
// Happy paths: each row is a document that must parse and a check of the fields it sets.

struct GoodCase {
  const char* description;
  std::string toml;
  std::function<void(const Config&)> check;
};

std::vector<GoodCase> goodCases() {
  return {
      {"minimal file gets every default", kMinimal,
       [](const Config& c) {
         EXPECT_EQ(c.server.io, IoBackend::Uring);
         EXPECT_EQ(c.server.workers, 0u);
         ASSERT_EQ(c.server.listen.size(), 1u);
         EXPECT_EQ(c.server.listen[0], endpoint("127.0.0.1:5060"));
         EXPECT_EQ(c.server.advertise, "127.0.0.1:5060");
         EXPECT_EQ(c.server.socket_buffer_bytes, 4194304u);
         EXPECT_EQ(c.balancer.key, BalanceKey::CallId);
         EXPECT_EQ(c.balancer.maglev_table_size, 65537u);
         EXPECT_EQ(c.balancer.affinity_entries, 1048576u);
         EXPECT_EQ(c.balancer.affinity_idle_timeout_s, 3600u);
         EXPECT_FALSE(c.balancer.record_route);
         EXPECT_EQ(c.balancer.branch_format, 2u);
         EXPECT_EQ(c.balancer.secret,
                   (std::vector<uint8_t>{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                         0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
         EXPECT_TRUE(c.balancer.previous_secret.empty());
         EXPECT_TRUE(c.balancer.secret_file.empty());
         EXPECT_EQ(c.health.interval_ms, 1000u);
         EXPECT_EQ(c.health.timeout_ms, 500u);
         EXPECT_EQ(c.health.failures_to_down, 3u);
         EXPECT_EQ(c.health.successes_to_up, 2u);
         ASSERT_EQ(c.backends.size(), 1u);
         EXPECT_EQ(c.backends[0].name, "a");
         EXPECT_EQ(c.backends[0].address, endpoint("127.0.0.2:5060"));
         EXPECT_EQ(c.backends[0].weight, 100);
         EXPECT_FALSE(c.backends[0].drain);
         EXPECT_EQ(c.control.socket, "/run/sipshield/control.sock");
         EXPECT_FALSE(c.metrics.listen.has_value());
         EXPECT_EQ(c.log.events, "stderr");
         EXPECT_FALSE(c.dpdk.present);
         EXPECT_EQ(c.dpdk.mtu, 1500u);
         EXPECT_EQ(c.dpdk.burst, 32u);
         EXPECT_TRUE(c.dpdk.in_place_tx);
         EXPECT_TRUE(c.dpdk.tx_checksum_offload);
         EXPECT_TRUE(c.warnings.empty());
       }},
      {"every [server] key", minimalWith(R"(
[server]
io = "dpdk"
workers = 8
listen = ["10.0.0.1:5060", "[2001:db8::1]:5080"]
advertise = "sip.example.net:5060"
socket_buffer_bytes = 0
[dpdk]
)"),
       [](const Config& c) {
         EXPECT_EQ(c.server.io, IoBackend::Dpdk);
         EXPECT_EQ(c.server.workers, 8u);
         ASSERT_EQ(c.server.listen.size(), 2u);
         EXPECT_EQ(c.server.listen[0], endpoint("10.0.0.1:5060"));
         EXPECT_EQ(c.server.listen[1], endpoint("[2001:db8::1]:5080"));
         EXPECT_TRUE(c.server.listen[1].ip.isV6());
         EXPECT_EQ(c.server.advertise, "sip.example.net:5060");
         EXPECT_EQ(c.server.socket_buffer_bytes, 0u);
       }},
      {"IPv6 only listen advertises the bracketed literal", minimalWith(R"(
[server]
listen = ["[::1]:5060"]
)"),
       [](const Config& c) {
         ASSERT_EQ(c.server.listen.size(), 1u);
         EXPECT_EQ(c.server.listen[0], endpoint("[::1]:5060"));
         EXPECT_EQ(c.server.advertise, "[::1]:5060");
       }},
      {"backend_listen: a socket apart for the backends", minimalWith(R"(
[server]
listen = ["203.0.113.10:5060"]
backend_listen = ["10.0.0.10:5060", "[fd00::10]:5060"]
)"),
       [](const Config& c) {
         ASSERT_EQ(c.server.backend_listen.size(), 2u);
         EXPECT_EQ(c.server.backend_listen[0], endpoint("10.0.0.10:5060"));
         EXPECT_EQ(c.server.backend_listen[1], endpoint("[fd00::10]:5060"));
         EXPECT_EQ(c.server.advertise, "203.0.113.10:5060");  // the client side's
         EXPECT_NE(describeConfig(c).find("toward backends from 10.0.0.10:5060 [fd00::10]:5060"),
                   std::string::npos)
             << describeConfig(c);
       }},
      {"IP literal advertise, wildcard listen", minimalWith(R"(
[server]
listen = ["0.0.0.0:5060"]
advertise = "[2001:db8::5]:5060"
)"),
       [](const Config& c) { EXPECT_EQ(c.server.advertise, "[2001:db8::5]:5060"); }},
      {"every [balancer] key", R"([balancer]
key = "from-tag+call-id"
maglev_table_size = 655373
affinity_entries = 1024
affinity_idle_timeout_s = 60
record_route = true
branch_format = 1
secret = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
previous_secret = "ffeeddccbbaa99887766554433221100"
[[backend]]
name = "a"
address = "127.0.0.2:5060"
)",
       [](const Config& c) {
         EXPECT_EQ(c.balancer.key, BalanceKey::FromTagCallId);
         EXPECT_EQ(c.balancer.maglev_table_size, 655373u);
         EXPECT_EQ(c.balancer.affinity_entries, 1024u);
         EXPECT_EQ(c.balancer.affinity_idle_timeout_s, 60u);
         EXPECT_TRUE(c.balancer.record_route);
         EXPECT_EQ(c.balancer.branch_format, 1u);
         ASSERT_EQ(c.balancer.secret.size(), 32u);
         EXPECT_EQ(c.balancer.secret[10], 0xaa);
         ASSERT_EQ(c.balancer.previous_secret.size(), 16u);
         EXPECT_EQ(c.balancer.previous_secret[0], 0xff);
       }},
      {"key source-ip", R"([balancer]
key = "source-ip"
secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "a"
address = "127.0.0.2:5060"
)",
       [](const Config& c) { EXPECT_EQ(c.balancer.key, BalanceKey::SourceIp); }},
      {"every [health] key", minimalWith(R"(
[health]
interval_ms = 200
timeout_ms = 200
failures_to_down = 5
successes_to_up = 1
)"),
       [](const Config& c) {
         EXPECT_EQ(c.health.interval_ms, 200u);
         EXPECT_EQ(c.health.timeout_ms, 200u);
         EXPECT_EQ(c.health.failures_to_down, 5u);
         EXPECT_EQ(c.health.successes_to_up, 1u);
       }},
      {"several backends keep file order, weight and drain", minimalWith(R"(
[[backend]]
name = "pbx_b.2"
address = "[2001:db8::2]:5070"
weight = 0
drain = true
[[backend]]
name = "c"
address = "127.0.0.4:5060"
weight = 65535
)"),
       [](const Config& c) {
         ASSERT_EQ(c.backends.size(), 3u);
         EXPECT_EQ(c.backends[1].name, "pbx_b.2");
         EXPECT_EQ(c.backends[1].address, endpoint("[2001:db8::2]:5070"));
         EXPECT_EQ(c.backends[1].weight, 0);
         EXPECT_TRUE(c.backends[1].drain);
         EXPECT_EQ(c.backends[2].name, "c");
         EXPECT_EQ(c.backends[2].weight, 65535);
       }},
      {"control, metrics and log", minimalWith(R"(
[control]
socket = "/tmp/s.sock"
[metrics]
listen = "127.0.0.1:9090"
[log]
events = "/var/log/sipshield/events.jsonl"
)"),
       [](const Config& c) {
         EXPECT_EQ(c.control.socket, "/tmp/s.sock");
         ASSERT_TRUE(c.metrics.listen.has_value());
         EXPECT_EQ(*c.metrics.listen, endpoint("127.0.0.1:9090"));
         EXPECT_EQ(c.log.events, "/var/log/sipshield/events.jsonl");
       }},
      {"empty control socket and metrics listen mean off", minimalWith(R"(
[control]
socket = ""
[metrics]
listen = ""
)"),
       [](const Config& c) {
         EXPECT_EQ(c.control.socket, "");
         EXPECT_FALSE(c.metrics.listen.has_value());
       }},
      {"dpdk table is stored raw", minimalWith(R"(
[dpdk]
eal_args = ["-l", "2-3"]
addresses = ["192.0.2.10/24"]
mtu = 9000
burst = 64
in_place_tx = false
tx_checksum_offload = false
[[dpdk.ports]]
pci = "0000:03:00.0"
rx_queues = 4
promiscuous = false
)"),
       [](const Config& c) {
         EXPECT_TRUE(c.dpdk.present);
         EXPECT_EQ(c.dpdk.eal_args, (std::vector<std::string>{"-l", "2-3"}));
         EXPECT_EQ(c.dpdk.addresses, (std::vector<std::string>{"192.0.2.10/24"}));
         EXPECT_EQ(c.dpdk.mtu, 9000u);
         EXPECT_EQ(c.dpdk.burst, 64u);
         EXPECT_FALSE(c.dpdk.in_place_tx);
         EXPECT_FALSE(c.dpdk.tx_checksum_offload);
         ASSERT_EQ(c.dpdk.ports.size(), 1u);
         EXPECT_EQ(c.dpdk.ports[0].values.at("pci"), "0000:03:00.0");
         EXPECT_EQ(c.dpdk.ports[0].values.at("rx_queues"), "4");
         EXPECT_EQ(c.dpdk.ports[0].values.at("promiscuous"), "false");
       }},
      {"small Maglev table is legal but warned about", R"([balancer]
maglev_table_size = 7
secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "a"
address = "127.0.0.2:5060"
)",
       [](const Config& c) {
         EXPECT_EQ(c.balancer.maglev_table_size, 7u);
         ASSERT_EQ(c.warnings.size(), 1u);
         EXPECT_NE(c.warnings[0].find("maglev_table_size"), std::string::npos);
       }},
      {"all weights zero is legal but warned about", R"([balancer]
secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "a"
address = "127.0.0.2:5060"
weight = 0
)",
       [](const Config& c) {
         ASSERT_EQ(c.warnings.size(), 1u);
         EXPECT_NE(c.warnings[0].find("weight 0"), std::string::npos);
       }},
      {"io dpdk without [dpdk] is warned about", minimalWith(R"(
[server]
io = "dpdk"
)"),
       [](const Config& c) {
         ASSERT_EQ(c.warnings.size(), 1u);
         EXPECT_NE(c.warnings[0].find("[dpdk]"), std::string::npos);
       }},
  };
}

void PrintTo(const GoodCase& row, std::ostream* out) { *out << row.description; }

class GoodConfigTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(GoodConfigTest, Parses) {
  const GoodCase& row = GetParam();
  SCOPED_TRACE(row.description);
  auto result = parseConfig(row.toml, "test.toml");
  ASSERT_TRUE(result.isOk()) << result.status().message();
  row.check(result.value());
}

INSTANTIATE_TEST_SUITE_P(Table, GoodConfigTest, ::testing::ValuesIn(goodCases()));

// ---------------------------------------------------------------------------------------------
// Errors: each row is a document that must fail with a message containing `expected`, which
// includes the source name and line so a wrong line number fails the test.

struct BadCase {
  const char* description;
  std::string toml;
  const char* expected;
};

// Line numbers below count from 1 in `toml`; kMinimal is 5 lines, so extra text starts on 6
// (most rows start with a newline, making their first key line 7).
std::vector<BadCase> badCases() {
  return {
      // TOML syntax
      {"syntax error reports line and column", "[server]\nworkers = = 3\n",
       "test.toml:2:11: TOML syntax error: "},
      {"duplicate key is a syntax error", minimalWith("[server]\nworkers = 1\nworkers = 2\n"),
       "test.toml:8:"},
      // unknown keys and tables
      {"unknown top-level table suggests", minimalWith("[servr]\nio = \"uring\"\n"),
       "test.toml:6: servr: unknown table (did you mean \"server\"?)"},
      {"unknown top-level key", "include = [\"rules.toml\"]\n" + std::string(kMinimal),
       "test.toml:1: include: unknown key"},
      {"empty backend array",
       "backend = []\n[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n",
       "test.toml:1: backend: at least one [[backend]] table is required"},
      {"unknown server key suggests", minimalWith("\n[server]\nlisten_on = [\"1.2.3.4:5\"]\n"),
       "test.toml:8: server.listen_on: unknown key (did you mean \"listen\"?)"},
      {"unknown backend key", minimalWith("wieght = 3\n"),
       "test.toml:6: backend[0].wieght: unknown key (did you mean \"weight\"?)"},
      {"unknown health key", minimalWith("[health]\ninterval = 5\n"),
       "test.toml:7: health.interval: unknown key (did you mean \"interval_ms\"?)"},
      {"unknown control key", minimalWith("[control]\npath = \"/x\"\n"),
       "test.toml:7: control.path: unknown key"},
      {"unknown metrics key", minimalWith("[metrics]\nport = 9090\n"),
       "test.toml:7: metrics.port: unknown key"},
      {"unknown log key", minimalWith("[log]\nlevel = \"debug\"\n"),
       "test.toml:7: log.level: unknown key"},
      {"unknown dpdk key", minimalWith("[dpdk]\nmtuu = 1500\n"),
       "test.toml:7: dpdk.mtuu: unknown key (did you mean \"mtu\"?)"},
      {"unknown balancer key",
       "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n"
       "sekret = \"x\"\n",
       "test.toml:3: balancer.sekret: unknown key (did you mean \"secret\"?)"},
      // wrong types and ranges
      {"weight as a word",
       minimalWith("[[backend]]\nname = \"b\"\naddress = \"127.0.0.3:5060\"\n"
                   "weight = \"heavy\"\n"),
       "test.toml:9: backend[1].weight: must be an integer 0..65535, got \"heavy\""},
      {"weight too large", minimalWith("weight = 65536\n"),
       "test.toml:6: backend[0].weight: must be an integer 0..65535, got 65536"},
      {"weight negative", minimalWith("weight = -1\n"),
       "test.toml:6: backend[0].weight: must be an integer 0..65535, got -1"},
      {"weight as float", minimalWith("weight = 1.5\n"),
       "backend[0].weight: must be an integer 0..65535, got 1.5"},
      {"drain as string", minimalWith("drain = \"yes\"\n"),
       "test.toml:6: backend[0].drain: must be true or false, got \"yes\""},
      {"workers too many", minimalWith("[server]\nworkers = 5000\n"),
       "test.toml:7: server.workers: must be an integer 0..1024, got 5000"},
      {"socket buffer negative", minimalWith("[server]\nsocket_buffer_bytes = -5\n"),
       "test.toml:7: server.socket_buffer_bytes: must be an integer 0..1073741824, got -5"},
      {"io unknown", minimalWith("[server]\nio = \"epoll\"\n"),
       "test.toml:7: server.io: must be \"uring\" or \"dpdk\", got \"epoll\""},
      {"io not a string", minimalWith("[server]\nio = 3\n"),
       "test.toml:7: server.io: must be a string, got 3"},
      {"server is not a table", "server = 5\n" + std::string(kMinimal),
       "test.toml:1: server: must be a table ([server]), got 5"},
      {"balancer key unknown", "[balancer]\nkey = \"to-tag\"\n",
       "test.toml:2: balancer.key: must be \"call-id\", \"source-ip\" or \"from-tag+call-id\", "
       "got \"to-tag\""},
      {"record_route not bool", "[balancer]\nrecord_route = 1\n",
       "test.toml:2: balancer.record_route: must be true or false, got 1"},
      {"branch format unknown", "[balancer]\nbranch_format = 3\n",
       "test.toml:2: balancer.branch_format: must be an integer 1..2, got 3"},
      {"idle timeout zero", "[balancer]\naffinity_idle_timeout_s = 0\n",
       "test.toml:2: balancer.affinity_idle_timeout_s: must be an integer 1..604800, got 0"},
      {"health interval too small", minimalWith("[health]\ninterval_ms = 5\n"),
       "test.toml:7: health.interval_ms: must be an integer 10..3600000, got 5"},
      {"health thresholds zero", minimalWith("[health]\nfailures_to_down = 0\n"),
       "test.toml:7: health.failures_to_down: must be an integer 1..1000, got 0"},
      {"health successes zero", minimalWith("[health]\nsuccesses_to_up = 0\n"),
       "test.toml:7: health.successes_to_up: must be an integer 1..1000, got 0"},
      {"health timeout above interval",
       minimalWith("[health]\ninterval_ms = 100\n"
                   "timeout_ms = 101\n"),
       "test.toml:8: health.timeout_ms: must not exceed health.interval_ms (100), got 101"},
      {"log events empty", minimalWith("[log]\nevents = \"\"\n"),
       "test.toml:7: log.events: must be \"stderr\" or a file path"},
      {"control socket too long",
       minimalWith("[control]\nsocket = \"/" + std::string(120, 'x') + "\"\n"),
       "test.toml:7: control.socket: path is longer than the 107 bytes"},
      {"dpdk eal_args not strings", minimalWith("[dpdk]\neal_args = [\"-l\", 2]\n"),
       "test.toml:7: dpdk.eal_args[1]: must be a string, got 2"},
      {"dpdk mtu range", minimalWith("[dpdk]\nmtu = 20\n"),
       "test.toml:7: dpdk.mtu: must be an integer 68..9216, got 20"},
      {"dpdk port nested array", minimalWith("[[dpdk.ports]]\nqueues = [1, 2]\n"),
       "test.toml:7: dpdk.ports[0].queues: must be a string, number or boolean, got an array"},
      {"dpdk ports not tables", minimalWith("[dpdk]\nports = [1]\n"),
       "test.toml:7: dpdk.ports: must be an array of tables"},
      // missing required keys
      {"no balancer table", "[[backend]]\nname = \"a\"\naddress = \"127.0.0.2:5060\"\n",
       "test.toml: balancer: missing table [balancer]"},
      {"balancer without secret names the table line", "\n[balancer]\nkey = \"call-id\"\n",
       "test.toml:2: balancer: one of secret or secret_file is required"},
      {"no backend", "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n",
       "test.toml: backend: at least one [[backend]] table is required"},
      {"backend as plain table",
       "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n"
       "[backend]\nname = \"a\"\n",
       "test.toml:3: backend: must be an array of tables: write each one as [[backend]]"},
      {"backend without name",
       "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n"
       "\n[[backend]]\naddress = \"127.0.0.2:5060\"\n",
       "test.toml:4: backend[0]: missing required key \"name\""},
      {"backend without address", minimalWith("[[backend]]\nname = \"b\"\n"),
       "test.toml:6: backend[1]: missing required key \"address\""},
      // duplicates
      {"duplicate backend name",
       minimalWith("[[backend]]\nname = \"a\"\n"
                   "address = \"127.0.0.3:5060\"\n"),
       "test.toml:7: backend[1].name: duplicate backend name \"a\" (also backend[0])"},
      {"duplicate backend address",
       minimalWith("[[backend]]\nname = \"b\"\n"
                   "address = \"127.0.0.2:5060\"\n"),
       "test.toml:8: backend[1].address: duplicate backend address 127.0.0.2:5060"},
      {"duplicate listen address",
       minimalWith("[server]\nlisten = [\"127.0.0.1:5060\", \"127.0.0.1:5060\"]\n"),
       "test.toml:7: server.listen[1]: duplicate address 127.0.0.1:5060"},
      {"bad backend name",
       minimalWith("[[backend]]\nname = \"pbx a\"\n"
                   "address = \"127.0.0.3:5060\"\n"),
       "test.toml:7: backend[1].name: must be 1..64 characters of A-Z a-z 0-9 _ . -, got "
       "\"pbx a\""},
      // Maglev and affinity sizes
      {"non-prime maglev size", "[balancer]\nmaglev_table_size = 65536\n",
       "test.toml:2: balancer.maglev_table_size: must be prime, got 65536"},
      {"maglev size 1", "[balancer]\nmaglev_table_size = 1\n",
       "test.toml:2: balancer.maglev_table_size: must be an integer 2..67108864, got 1"},
      {"maglev size smaller than backend count",
       "[balancer]\nmaglev_table_size = 2\nsecret = \"00112233445566778899aabbccddeeff\"\n"
       "[[backend]]\nname = \"a\"\naddress = \"127.0.0.2:1\"\n"
       "[[backend]]\nname = \"b\"\naddress = \"127.0.0.3:1\"\n"
       "[[backend]]\nname = \"c\"\naddress = \"127.0.0.4:1\"\n",
       "balancer.maglev_table_size: must be at least the number of backends (3), got 2"},
      {"affinity not power of two", "[balancer]\naffinity_entries = 1000\n",
       "test.toml:2: balancer.affinity_entries: must be a power of two, got 1000"},
      {"affinity zero", "[balancer]\naffinity_entries = 0\n",
       "test.toml:2: balancer.affinity_entries: must be an integer 1..1073741824, got 0"},
      // secrets
      {"secret too short", "[balancer]\nsecret = \"00112233\"\n",
       "test.toml:2: balancer.secret: must be 32 to 128 hex characters (16 to 64 bytes), got 8 "
       "characters"},
      {"secret too long", "[balancer]\nsecret = \"" + std::string(130, 'a') + "\"\n",
       "test.toml:2: balancer.secret: must be 32 to 128 hex characters"},
      {"secret odd length", "[balancer]\nsecret = \"" + std::string(33, 'a') + "\"\n",
       "test.toml:2: balancer.secret: must have an even number of hex characters"},
      {"secret not hex", "[balancer]\nsecret = \"0011223344556677889XaabbccddeeffX\"\n",
       "test.toml:2: balancer.secret: must be hex (0-9, a-f); character 20 is not"},
      {"secret not a string", "[balancer]\nsecret = 1234\n",
       "test.toml:2: balancer.secret: must be a string of hex digits"},
      {"secret and secret_file both",
       "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\nsecret_file = \"/x\"\n",
       "test.toml:3: balancer.secret_file: give either secret or secret_file, not both"},
      {"missing secret file", "[balancer]\nsecret_file = \"/nonexistent/sipshield/secret\"\n",
       "test.toml:2: balancer.secret_file: cannot open \"/nonexistent/sipshield/secret\": No such "
       "file or directory"},
      {"empty secret file path", "[balancer]\nsecret_file = \"\"\n",
       "test.toml:2: balancer.secret_file: must not be empty"},
      {"previous secret too short",
       "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\nprevious_secret = \"abcd\"\n",
       "test.toml:3: balancer.previous_secret: must be 32 to 128 hex characters"},
      // addresses
      {"backend_listen wildcard",
       minimalWith("[server]\nbackend_listen = [\"0.0.0.0:5070\"]\n"),
       "test.toml:7: server.backend_listen[0]: must be a concrete address and port (backends "
       "send to it), got 0.0.0.0:5070"},
      {"backend_listen repeats a listen address",
       minimalWith("[server]\nlisten = [\"127.0.0.1:5060\"]\n"
                   "backend_listen = [\"127.0.0.1:5060\"]\n"),
       "test.toml:8: server.backend_listen[0]: duplicate address 127.0.0.1:5060"},
      {"backend_listen not an array", minimalWith("[server]\nbackend_listen = \"10.0.0.1:5060\"\n"),
       "test.toml:7: server.backend_listen: must be an array of addresses like "
       "[\"10.0.0.5:5060\"], got \"10.0.0.1:5060\""},
      {"listen host name", minimalWith("[server]\nlisten = [\"localhost:5060\"]\n"),
       "test.toml:7: server.listen[0]: bad address \"localhost:5060\": not an IPv4 address"},
      {"listen missing port", minimalWith("[server]\nlisten = [\"127.0.0.1\"]\n"),
       "test.toml:7: server.listen[0]: bad address \"127.0.0.1\": missing \":port\""},
      {"listen port zero", minimalWith("[server]\nlisten = [\"127.0.0.1:0\"]\n"),
       "test.toml:7: server.listen[0]: bad address \"127.0.0.1:0\": port must be a number "
       "1..65535"},
      {"listen port too big", minimalWith("[server]\nlisten = [\"127.0.0.1:65536\"]\n"),
       "port must be a number 1..65535"},
      {"listen IPv6 without brackets", minimalWith("[server]\nlisten = [\"::1:5060\"]\n"),
       "test.toml:7: server.listen[0]: bad address \"::1:5060\": an IPv6 address needs brackets"},
      {"listen bad IPv6", minimalWith("[server]\nlisten = [\"[::g]:5060\"]\n"),
       "test.toml:7: server.listen[0]: bad address \"[::g]:5060\": not an IPv6 address"},
      {"listen unclosed bracket", minimalWith("[server]\nlisten = [\"[::1:5060\"]\n"),
       "missing ']'"},
      {"listen IPv4 with too many parts", minimalWith("[server]\nlisten = [\"1.2.3.4.5:5060\"]\n"),
       "not an IPv4 address"},
      {"listen empty array", minimalWith("[server]\nlisten = []\n"),
       "test.toml:7: server.listen: needs at least one address"},
      {"listen as a string", minimalWith("[server]\nlisten = \"127.0.0.1:5060\"\n"),
       "test.toml:7: server.listen: must be an array of addresses"},
      {"listen element not a string", minimalWith("[server]\nlisten = [5060]\n"),
       "test.toml:7: server.listen[0]: must be a string \"IP:port\""},
      {"wildcard listen needs advertise", minimalWith("[server]\nlisten = [\"0.0.0.0:5060\"]\n"),
       "test.toml:7: server.advertise: is required when the first listen address is a wildcard "
       "(0.0.0.0:5060)"},
      {"wildcard IPv6 listen needs advertise", minimalWith("[server]\nlisten = [\"[::]:5060\"]\n"),
       "is required when the first listen address is a wildcard ([::]:5060)"},
      {"advertise without port", minimalWith("[server]\nadvertise = \"sip.example.net\"\n"),
       "test.toml:7: server.advertise: must be \"host:port\", got \"sip.example.net\""},
      {"advertise bad host", minimalWith("[server]\nadvertise = \"sip_example.net:5060\"\n"),
       "test.toml:7: server.advertise: host must be an IP literal or a host name"},
      {"backend host name", minimalWith("[[backend]]\nname = \"b\"\naddress = \"pbx:5060\"\n"),
       "test.toml:8: backend[1].address: bad address \"pbx:5060\""},
      {"backend wildcard", minimalWith("[[backend]]\nname = \"b\"\naddress = \"0.0.0.0:5060\"\n"),
       "test.toml:8: backend[1].address: must be a concrete address"},
      {"metrics bad address", minimalWith("[metrics]\nlisten = \"9090\"\n"),
       "test.toml:7: metrics.listen: bad address \"9090\": missing \":port\""},
  };
}

void PrintTo(const BadCase& row, std::ostream* out) { *out << row.description; }

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, FailsWithClearMessage) {
  const BadCase& row = GetParam();
  SCOPED_TRACE(row.description);
  auto result = parseConfig(row.toml, "test.toml");
  ASSERT_FALSE(result.isOk()) << "parsed but should have failed";
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find(row.expected), std::string::npos)
      << "message: " << result.status().message() << "\nexpected to contain: " << row.expected;
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(badCases()));

// Secret values must never reach an error message, which ends up in logs.
TEST(ConfigTest, ErrorsNeverEchoSecrets) {
  const std::vector<std::string> secrets = {"0011223344556677889XaabbccddeeffXX", "deadbeef",
                                            std::string(33, 'c')};
  for (const std::string& secret : secrets) {
    for (const char* key : {"secret", "previous_secret"}) {
      std::string toml = "[balancer]\n";
      if (std::string(key) == "previous_secret") {
        toml += "secret = \"00112233445566778899aabbccddeeff\"\n";
      }
      toml += std::string(key) + " = \"" + secret + "\"\n";
      auto result = parseConfig(toml, "t.toml");
      ASSERT_FALSE(result.isOk());
      EXPECT_EQ(result.status().message().find(secret), std::string::npos)
          << result.status().message();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files: the shipped sample, loadConfig errors, secret_file.

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/sipshield-config-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& contents, mode_t mode = 0600) {
    const auto file = path_ / name;
    std::ofstream(file) << contents;
    chmod(file.c_str(), mode);
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

TEST(ConfigFileTest, SampleConfigParses) {
  auto result = loadConfig(SIPSHIELD_SAMPLE_CONFIG);
  ASSERT_TRUE(result.isOk()) << result.status().message();
  const Config& c = result.value();
  EXPECT_EQ(c.server.io, IoBackend::Uring);
  EXPECT_EQ(c.server.listen, std::vector<net::Endpoint>{endpoint("127.0.0.1:5060")});
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0].name, "pbx-a");
  EXPECT_EQ(c.backends[1].name, "pbx-b");
  EXPECT_EQ(c.balancer.secret.size(), 16u);
  EXPECT_FALSE(c.dpdk.present);
  // The sample's key is public, so using it must be called out.
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("sample secret"), std::string::npos);
}

// The sample's commented [dpdk] block must stay valid for operators who uncomment it.
TEST(ConfigFileTest, SampleDpdkBlockParsesWhenUncommented) {
  std::ifstream in(SIPSHIELD_SAMPLE_CONFIG);
  std::string text;
  std::string line;
  bool in_dpdk = false;
  while (std::getline(in, line)) {
    if (line == "# [dpdk]") {
      in_dpdk = true;
    }
    if (in_dpdk && line.rfind("# ", 0) == 0 && line.rfind("# # ", 0) != 0) {
      line = line.substr(2);
    }
    text += line + "\n";
  }
  ASSERT_TRUE(in_dpdk);
  auto result = parseConfig(text, "sample-with-dpdk.toml");
  ASSERT_TRUE(result.isOk()) << result.status().message();
  EXPECT_TRUE(result->dpdk.present);
  EXPECT_FALSE(result->dpdk.eal_args.empty());
  ASSERT_EQ(result->dpdk.ports.size(), 1u);
  EXPECT_EQ(result->dpdk.ports[0].values.at("pci"), "0000:03:00.0");
}

TEST(ConfigFileTest, LoadMissingFileIsNotFound) {
  auto result = loadConfig("/nonexistent/sipshield.toml");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("/nonexistent/sipshield.toml"), std::string::npos);
}

TEST(ConfigFileTest, LoadUsesPathInErrors) {
  TempDir dir;
  const std::string path = dir.write("bad.toml", "[server]\nworkers = \"many\"\n");
  auto result = loadConfig(path);
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find(path + ":2: server.workers:"), std::string::npos)
      << result.status().message();
}

TEST(ConfigFileTest, SecretFileRelativeToConfigDirectory) {
  TempDir dir;
  dir.write("secret.hex", std::string(kSecret) + "\n");
  const std::string path =
      dir.write("s.toml",
                "[balancer]\nsecret_file = \"secret.hex\"\n[[backend]]\nname = \"a\"\n"
                "address = \"127.0.0.2:5060\"\n");
  auto result = loadConfig(path);
  ASSERT_TRUE(result.isOk()) << result.status().message();
  EXPECT_EQ(result->balancer.secret.size(), 16u);
  EXPECT_EQ(result->balancer.secret[1], 0x11);
  EXPECT_EQ(result->balancer.secret_file, "secret.hex");
  EXPECT_TRUE(result->warnings.empty());
}

TEST(ConfigFileTest, SecretFileReadableByOthersIsWarned) {
  TempDir dir;
  const std::string secret = dir.write("secret.hex", kSecret, 0644);
  auto result = parseConfig("[balancer]\nsecret_file = \"" + secret +
                                "\"\n[[backend]]\nname = \"a\"\naddress = \"127.0.0.2:5060\"\n",
                            "t.toml");
  ASSERT_TRUE(result.isOk()) << result.status().message();
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_NE(result->warnings[0].find("chmod 600"), std::string::npos);
}

TEST(ConfigFileTest, SecretFileWithBadContents) {
  TempDir dir;
  const std::string secret = dir.write("secret.hex", "not-a-key\n");
  auto result = parseConfig("[balancer]\nsecret_file = \"" + secret + "\"\n", "t.toml");
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("t.toml:2: balancer.secret_file: contents of"),
            std::string::npos)
      << result.status().message();
  EXPECT_EQ(result.status().message().find("not-a-key"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Reload support: equality, sameListeners, diffConfig, describeConfig.

Config parseOrDie(const std::string& toml) {
  auto result = parseConfig(toml, "t.toml");
  EXPECT_TRUE(result.isOk()) << result.status().message();
  return result.isOk() ? result.value() : Config{};
}

TEST(ConfigReloadTest, EqualityIgnoresWarnings) {
  Config a = parseOrDie(kMinimal);
  Config b = a;
  b.warnings.push_back("x");
  EXPECT_TRUE(a == b);
  b.backends[0].weight = 7;
  EXPECT_FALSE(a == b);
}

struct ReloadCase {
  const char* description;
  std::string next_extra;  // appended to kMinimal to build the new config
  bool same_listeners;
  std::vector<std::string> applied;
  std::vector<std::string> restart_required;
};

void PrintTo(const ReloadCase& row, std::ostream* out) { *out << row.description; }

class ReloadTest : public ::testing::TestWithParam<ReloadCase> {};

TEST_P(ReloadTest, Diff) {
  const ReloadCase& row = GetParam();
  SCOPED_TRACE(row.description);
  const Config running = parseOrDie(kMinimal);
  const Config next = parseOrDie(minimalWith(row.next_extra));
  EXPECT_EQ(sameListeners(running, next), row.same_listeners);
  const ConfigDiff diff = diffConfig(running, next);
  EXPECT_EQ(diff.applied, row.applied);
  EXPECT_EQ(diff.restart_required, row.restart_required);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReloadTest,
    ::testing::ValuesIn(std::vector<ReloadCase>{
        {"no change", "", true, {}, {}},
        {"weight and drain",
         "weight = 5\ndrain = true\n",
         true,
         {"backend a: weight 100 -> 5", "backend a: draining"},
         {}},
        {"backend added",
         "[[backend]]\nname = \"b\"\naddress = \"127.0.0.3:5060\"\n",
         true,
         {"backend b: added 127.0.0.3:5060 weight 100"},
         {}},
        {"health timing",
         "[health]\ninterval_ms = 2000\n",
         true,
         {"health.interval_ms: 1000 -> 2000"},
         {}},
        {"listen change needs restart",
         "[server]\nlisten = [\"127.0.0.1:5070\"]\n",
         false,
         {},
         {"server.listen", "server.advertise"}},
        {"workers change needs restart", "[server]\nworkers = 2\n", false, {}, {"server.workers"}},
        {"backend_listen change needs restart",
         "[server]\nbackend_listen = [\"127.0.0.2:5060\"]\n",
         false,
         {},
         {"server.backend_listen"}},
        {"metrics listener needs restart",
         "[metrics]\nlisten = \"127.0.0.1:9090\"\n",
         false,
         {},
         {"metrics.listen"}},
        {"events file is not a listener but needs restart",
         "[log]\nevents = \"/tmp/e\"\n",
         true,
         {},
         {"log.events"}},
    }));

TEST(ConfigReloadTest, DiffReportsBalancerChangesWithoutSecrets) {
  const Config running = parseOrDie(kMinimal);
  const Config next = parseOrDie(R"([balancer]
key = "source-ip"
record_route = true
branch_format = 1
affinity_entries = 2048
secret = "ffeeddccbbaa99887766554433221100"
previous_secret = "00112233445566778899aabbccddeeff"
[[backend]]
name = "b"
address = "127.0.0.2:5060"
)");
  const ConfigDiff diff = diffConfig(running, next);
  EXPECT_EQ(diff.applied,
            (std::vector<std::string>{
                "balancer.key: call-id -> source-ip", "balancer.record_route: false -> true",
                "balancer.branch_format: 2 -> 1", "balancer.secret: changed",
                "balancer.previous_secret: changed",
                "backend a: removed", "backend b: added 127.0.0.2:5060 weight 100"}));
  EXPECT_EQ(diff.restart_required, std::vector<std::string>{"balancer.affinity_entries"});
  EXPECT_TRUE(sameListeners(running, next));
}

TEST(ConfigReloadTest, DiffReportsReorder) {
  const std::string b = "[[backend]]\nname = \"b\"\naddress = \"127.0.0.3:5060\"\n";
  const Config running = parseOrDie(minimalWith(b));
  const Config next = parseOrDie("[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n" + b +
                                 "[[backend]]\nname = \"a\"\naddress = \"127.0.0.2:5060\"\n");
  EXPECT_EQ(diffConfig(running, next).applied, std::vector<std::string>{"backend order changed"});
}

TEST(ConfigDescribeTest, SummarisesWithoutSecret) {
  const Config c = parseOrDie(minimalWith(R"(drain = true
[server]
listen = ["127.0.0.1:5060", "[::1]:5060"]
[metrics]
listen = "127.0.0.1:9090"
)"));
  const std::string text = describeConfig(c);
  for (const char* expected :
       {"io uring", "workers one per core", "listening on 127.0.0.1:5060 [::1]:5060",
        "as 127.0.0.1:5060", "balancing on call-id", "Maglev table of 65537", "branch format 2",
        "a 16-byte secret",
        "1 backend: a 127.0.0.2:5060 weight 100 draining", "metrics on 127.0.0.1:9090",
        "events to stderr"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n in: " << text;
  }
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_EQ(text.find("00112233"), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(ConfigDescribeTest, LongBackendListIsCut) {
  std::string toml = "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n";
  for (int i = 0; i < 20; ++i) {
    toml += "[[backend]]\nname = \"b" + std::to_string(i) + "\"\naddress = \"127.0.1." +
            std::to_string(i + 1) + ":5060\"\n";
  }
  const std::string text = describeConfig(parseOrDie(toml));
  EXPECT_NE(text.find("20 backends"), std::string::npos) << text;
  EXPECT_NE(text.find("b15 "), std::string::npos);
  EXPECT_EQ(text.find("b16 "), std::string::npos);
  EXPECT_NE(text.find("and 4 more"), std::string::npos);
}

TEST(ConfigNamesTest, EnumNames) {
  EXPECT_EQ(ioBackendName(IoBackend::Uring), "uring");
  EXPECT_EQ(ioBackendName(IoBackend::Dpdk), "dpdk");
  EXPECT_EQ(balanceKeyName(BalanceKey::CallId), "call-id");
  EXPECT_EQ(balanceKeyName(BalanceKey::SourceIp), "source-ip");
  EXPECT_EQ(balanceKeyName(BalanceKey::FromTagCallId), "from-tag+call-id");
  EXPECT_EQ(formatEndpoint(endpoint("[2001:db8::1]:5060")), "[2001:db8::1]:5060");
}

// branch_format picks how the signer makes branches; either signer verifies both formats.
TEST(ConfigSignerTest, BranchFormatReachesTheSigner) {
  const Config one_pass = parseOrDie(kMinimal);
  const Config three_hash = parseOrDie(
      "[balancer]\nbranch_format = 1\nsecret = \"" + std::string(kSecret) +
      "\"\n[[backend]]\nname = \"a\"\naddress = \"127.0.0.2:5060\"\n");
  auto made_one_pass = makeBranchSigner(one_pass.balancer);
  auto made_three_hash = makeBranchSigner(three_hash.balancer);
  ASSERT_TRUE(made_one_pass.isOk() && made_three_hash.isOk());
  char buffer[lb::kBranchLength];
  ASSERT_EQ((*made_one_pass)->makeBranch("z9hG4bKa", "call@x", buffer), lb::kBranchLength);
  const std::string new_branch(buffer, lb::kBranchLength);
  ASSERT_EQ((*made_three_hash)->makeBranch("z9hG4bKa", "call@x", buffer), lb::kBranchLength);
  const std::string old_branch(buffer, lb::kBranchLength);
  EXPECT_EQ(new_branch.substr(0, lb::kBranchPrefix.size()), lb::kBranchPrefix);
  EXPECT_EQ(old_branch.substr(0, lb::kLegacyBranchPrefix.size()), lb::kLegacyBranchPrefix);
  for (const auto* signer : {made_one_pass->get(), made_three_hash->get()}) {
    EXPECT_TRUE(lb::branchVerdictOk(signer->verifyBranch(new_branch, "z9hG4bKa", "call@x")));
    EXPECT_TRUE(lb::branchVerdictOk(signer->verifyBranch(old_branch, "z9hG4bKa", "call@x")));
  }
}

}  // namespace
}  // namespace sipshield
