#include "src/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>

#include "src/toml_reader.h"

namespace sipshield {

namespace {

// The secret shipped in config/sipshield.toml. Accepted (so the sample runs as-is) but warned
// about: every copy of the sample would otherwise share one branch key, and anyone holding the
// key can forge responses that pass the signed-branch check.
constexpr std::string_view kSampleSecretHex = "5a1f0c3e8b7d4a2691e0f4c7b3d85a6e";

constexpr std::string_view kDefaultListen = "127.0.0.1:5060";
constexpr size_t kMinSecretBytes = 16;  // 128 bits; below that the branch MAC is guessable
constexpr size_t kMaxSecretBytes = 64;  // the largest BLAKE2b / crypto_generichash key
constexpr size_t kMaxSecretFileBytes = 4096;
constexpr size_t kMaxBackendName = 64;
constexpr size_t kDescribeMaxBackends = 16;
constexpr uint32_t kMaxMaglevTableSize = 1u << 26;  // 64 Mi slots: already 256 MiB of table
constexpr uint32_t kMaxAffinityEntries = 1u << 30;

// rawText renders a scalar as the text stored in DpdkPortConfig; nullopt for arrays/tables.
std::optional<std::string> rawText(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  if (node.is_integer() || node.is_floating_point() || node.is_boolean()) {
    return describeValue(node);
  }
  return std::nullopt;
}

bool isPrime(uint32_t n) {
  if (n < 2) {
    return false;
  }
  if (n % 2 == 0) {
    return n == 2;
  }
  for (uint32_t d = 3; static_cast<uint64_t>(d) * d <= n; d += 2) {
    if (n % d == 0) {
      return false;
    }
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// decodeHexSecret checks and decodes a hex key. On failure it returns nullopt and sets `why`
// to a message that describes the problem without revealing the key.
std::optional<std::vector<uint8_t>> decodeHexSecret(std::string_view hex, std::string& why) {
  for (size_t i = 0; i < hex.size(); ++i) {
    if (hexValue(hex[i]) < 0) {
      why = "must be hex (0-9, a-f); character " + std::to_string(i + 1) + " is not";
      return std::nullopt;
    }
  }
  if (hex.size() < kMinSecretBytes * 2 || hex.size() > kMaxSecretBytes * 2) {
    why = "must be " + std::to_string(kMinSecretBytes * 2) + " to " +
          std::to_string(kMaxSecretBytes * 2) + " hex characters (" +
          std::to_string(kMinSecretBytes) + " to " + std::to_string(kMaxSecretBytes) +
          " bytes), got " + std::to_string(hex.size()) + " characters";
    return std::nullopt;
  }
  if (hex.size() % 2 != 0) {
    why = "must have an even number of hex characters (two per byte), got " +
          std::to_string(hex.size());
    return std::nullopt;
  }
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(hexValue(hex[2 * i]) << 4 | hexValue(hex[2 * i + 1]));
  }
  return bytes;
}

std::string_view trimSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// splitHostPort splits "host:port" or "[v6]:port". The port is required: a config that names
// an address without one is more often a typo than a wish for 5060. Returns false with `why`.
bool splitHostPort(std::string_view text, std::string_view& host, uint16_t& port, bool& bracketed,
                   std::string& why) {
  bracketed = !text.empty() && text.front() == '[';
  size_t colon;
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' after the IPv6 address";
      return false;
    }
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      why = "missing \":port\" after ']'";
      return false;
    }
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "missing \":port\"";
      return false;
    }
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      why = "an IPv6 address needs brackets, as in \"[2001:db8::1]:5060\"";
      return false;
    }
  }
  const auto parsed = net::parsePort(text.substr(colon + 1));
  if (!parsed || *parsed == 0) {
    why = "port must be a number 1..65535";
    return false;
  }
  port = *parsed;
  return true;
}

// parseEndpointLiteral reads "192.0.2.1:5060" or "[2001:db8::1]:5060" (IP literals only; we
// never resolve names, so start-up cannot hang on DNS). Not net::Endpoint::parse: that one
// accepts a missing port, which in a config file is more often a typo.
std::optional<net::Endpoint> parseEndpointLiteral(std::string_view text, std::string& why) {
  std::string_view host;
  uint16_t port = 0;
  bool bracketed = false;
  if (!splitHostPort(text, host, port, bracketed, why)) {
    return std::nullopt;
  }
  const std::string host_text(host);
  net::Endpoint endpoint;
  endpoint.port = port;
  if (bracketed) {
    if (inet_pton(AF_INET6, host_text.c_str(), endpoint.ip.bytes) != 1) {
      why = "not an IPv6 address";
      return std::nullopt;
    }
    endpoint.ip.family = AF_INET6;
  } else {
    if (inet_pton(AF_INET, host_text.c_str(), endpoint.ip.bytes) != 1) {
      why = "not an IPv4 address (host names are not resolved)";
      return std::nullopt;
    }
    endpoint.ip.family = AF_INET;
  }
  return endpoint;
}

// isHostname checks RFC 3261 §25.1 hostname syntax: dot-separated labels of letters, digits
// and '-', no label starting or ending with '-'.
bool isHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      const std::string_view label = host.substr(label_start, i - label_start);
      // A trailing dot (fully qualified) is allowed; empty labels elsewhere are not.
      if (label.empty()) {
        if (i != host.size() || i == 0) {
          return false;
        }
      } else if (label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return false;
      }
      label_start = i + 1;
      continue;
    }
    const char c = host[i];
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool isWildcard(const net::IpAddress& ip) {
  for (size_t i = 0; i < ip.size(); ++i) {
    if (ip.bytes[i] != 0) {
      return false;
    }
  }
  return true;
}

bool isValidBackendName(std::string_view name) {
  if (name.empty() || name.size() > kMaxBackendName) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Loader walks the parsed document once, filling a Config and stopping at the first error.
// Every error names the source, the line of the offending node, and its dotted path.
class Loader : private TomlReader {
 public:
  Loader(std::string_view source, std::filesystem::path base_dir)
      : TomlReader(source, std::move(base_dir), MessageStyle::Detailed) {}

  Result<Config> run(const toml::table& root);

 private:
  Status readEndpoint(const toml::node& node, std::string_view path, net::Endpoint& out) const;

  Status readServer(const toml::table& root, Config& config);
  Status readBackendListen(const toml::table& table, ServerConfig& server) const;
  Status readBalancer(const toml::table& root, Config& config);
  Status readSecret(const toml::table& table, std::string_view path, Config& config);
  Status readHealth(const toml::table& root, Config& config);
  Status readBackends(const toml::table& root, Config& config);
  Status readSimpleTables(const toml::table& root, Config& config);
  Status readDpdk(const toml::table& root, Config& config);
  Status checkWhole(const toml::table& root, Config& config);

  const toml::node* listen_node_ = nullptr;  // for errors about the derived advertise address
};

Status Loader::readEndpoint(const toml::node& node, std::string_view path,
                            net::Endpoint& out) const {
  const auto* text = node.as_string();
  if (text == nullptr) {
    return errorAt(node, path,
                   "must be a string \"IP:port\" or \"[IPv6]:port\", got " + describeValue(node));
  }
  std::string why;
  const auto endpoint = parseEndpointLiteral(text->get(), why);
  if (!endpoint) {
    return errorAt(node, path, "bad address " + quoteText(text->get()) + ": " + why);
  }
  out = *endpoint;
  return Status::ok();
}

// server.backend_listen: the sockets that talk to the backends, apart from the clients'.
// Each is named in our Via and Record-Route toward the backends, so it must be a concrete
// address and port.
Status Loader::readBackendListen(const toml::table& table, ServerConfig& server) const {
  const toml::node* node = table.get("backend_listen");
  if (node == nullptr) {
    return Status::ok();
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    return errorAt(*node, "server.backend_listen",
                   "must be an array of addresses like [\"10.0.0.5:5060\"], got " +
                       describeValue(*node));
  }
  for (size_t i = 0; i < array->size(); ++i) {
    net::Endpoint endpoint;
    const std::string path = indexPath("server.backend_listen", i);
    if (Status s = readEndpoint(*array->get(i), path, endpoint); !s.isOk()) {
      return s;
    }
    if (isWildcard(endpoint.ip) || endpoint.port == 0) {
      return errorAt(*array->get(i), path,
                     "must be a concrete address and port (backends send to it), got " +
                         formatEndpoint(endpoint));
    }
    if (std::find(server.listen.begin(), server.listen.end(), endpoint) !=
            server.listen.end() ||
        std::find(server.backend_listen.begin(), server.backend_listen.end(), endpoint) !=
            server.backend_listen.end()) {
      return errorAt(*array->get(i), path, "duplicate address " + formatEndpoint(endpoint));
    }
    server.backend_listen.push_back(endpoint);
  }
  return Status::ok();
}

Status Loader::readServer(const toml::table& root, Config& config) {
  const toml::table* table = nullptr;
  if (Status s = getTable(root, "", "server", table); !s.isOk()) {
    return s;
  }
  ServerConfig& server = config.server;
  std::string unused;
  server.listen = {*parseEndpointLiteral(kDefaultListen, unused)};
  if (table == nullptr) {
    return Status::ok();
  }
  if (Status s = checkKeys(*table, "server",
                           {"io", "workers", "listen", "backend_listen", "advertise",
                            "socket_buffer_bytes"});
      !s.isOk()) {
    return s;
  }
  std::string io = "uring";
  const toml::node* io_node = nullptr;
  if (Status s = readString(*table, "server", "io", io, &io_node); !s.isOk()) {
    return s;
  }
  if (io == "uring") {
    server.io = IoBackend::Uring;
  } else if (io == "dpdk") {
    server.io = IoBackend::Dpdk;
  } else {
    return errorAt(*io_node, "server.io", "must be \"uring\" or \"dpdk\", got " + quoteText(io));
  }
  if (Status s = readInt(*table, "server", "workers", 0, 1024, server.workers); !s.isOk()) {
    return s;
  }
  if (Status s =
          readInt(*table, "server", "socket_buffer_bytes", 0, 1 << 30, server.socket_buffer_bytes);
      !s.isOk()) {
    return s;
  }
  listen_node_ = table->get("listen");
  if (listen_node_ != nullptr) {
    server.listen.clear();
    const auto* array = listen_node_->as_array();
    if (array == nullptr) {
      return errorAt(*listen_node_, "server.listen",
                     "must be an array of addresses like [\"127.0.0.1:5060\"], got " +
                         describeValue(*listen_node_));
    }
    if (array->empty()) {
      return errorAt(*listen_node_, "server.listen", "needs at least one address");
    }
    for (size_t i = 0; i < array->size(); ++i) {
      net::Endpoint endpoint;
      const std::string path = indexPath("server.listen", i);
      if (Status s = readEndpoint(*array->get(i), path, endpoint); !s.isOk()) {
        return s;
      }
      if (std::find(server.listen.begin(), server.listen.end(), endpoint) != server.listen.end()) {
        return errorAt(*array->get(i), path, "duplicate address " + formatEndpoint(endpoint));
      }
      server.listen.push_back(endpoint);
    }
  }
  if (Status s = readBackendListen(*table, server); !s.isOk()) {
    return s;
  }
  const toml::node* advertise_node = nullptr;
  if (Status s = readString(*table, "server", "advertise", server.advertise, &advertise_node);
      !s.isOk()) {
    return s;
  }
  if (!server.advertise.empty()) {
    std::string_view host;
    uint16_t port = 0;
    bool bracketed = false;
    std::string why;
    if (!splitHostPort(server.advertise, host, port, bracketed, why)) {
      return errorAt(*advertise_node, "server.advertise",
                     "must be \"host:port\", got " + quoteText(server.advertise) + ": " + why);
    }
    const bool ok =
        bracketed ? parseEndpointLiteral(server.advertise, unused).has_value() : isHostname(host);
    if (!ok) {
      return errorAt(
          *advertise_node, "server.advertise",
          "host must be an IP literal or a host name, got " + quoteText(server.advertise));
    }
  }
  return Status::ok();
}

Status Loader::readSecret(const toml::table& table, std::string_view path, Config& config) {
  BalancerConfig& balancer = config.balancer;
  const toml::node* secret_node = table.get("secret");
  const toml::node* file_node = table.get("secret_file");
  if (secret_node != nullptr && file_node != nullptr) {
    return errorAt(*file_node, joinPath(path, "secret_file"),
                   "give either secret or secret_file, not both");
  }
  if (secret_node == nullptr && file_node == nullptr) {
    return errorAt(table.source(), path, "one of secret or secret_file is required");
  }
  std::string why;
  if (secret_node != nullptr) {
    const auto* text = secret_node->as_string();
    if (text == nullptr) {
      // Do not echo the value: it may be the key itself, typed without quotes.
      return errorAt(*secret_node, joinPath(path, "secret"), "must be a string of hex digits");
    }
    auto bytes = decodeHexSecret(text->get(), why);
    if (!bytes) {
      return errorAt(*secret_node, joinPath(path, "secret"), why);
    }
    balancer.secret = std::move(*bytes);
    std::string lower(text->get());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == kSampleSecretHex) {
      config.warnings.push_back(
          "balancer.secret is the sample secret from config/sipshield.toml; anyone with the "
          "sample can forge responses. Generate your own: "
          "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'");
    }
  } else {
    if (Status s = readString(table, path, "secret_file", balancer.secret_file); !s.isOk()) {
      return s;
    }
    const std::string key_path = joinPath(path, "secret_file");
    if (balancer.secret_file.empty()) {
      return errorAt(*file_node, key_path, "must not be empty");
    }
    const std::filesystem::path file = resolve(balancer.secret_file);
    std::FILE* handle = std::fopen(file.c_str(), "rb");
    if (handle == nullptr) {
      return errorAt(*file_node, key_path,
                     "cannot open " + quoteText(file.string()) + ": " + std::strerror(errno));
    }
    std::string contents(kMaxSecretFileBytes + 1, '\0');
    const size_t got = std::fread(contents.data(), 1, contents.size(), handle);
    const bool read_failed = std::ferror(handle) != 0;
    struct stat info {};
    const bool stat_ok = fstat(fileno(handle), &info) == 0;
    std::fclose(handle);
    if (read_failed) {
      return errorAt(*file_node, key_path, "cannot read " + quoteText(file.string()));
    }
    if (got > kMaxSecretFileBytes) {
      return errorAt(*file_node, key_path,
                     quoteText(file.string()) + " is larger than " +
                         std::to_string(kMaxSecretFileBytes) +
                         " bytes; it should hold one hex key");
    }
    contents.resize(got);
    auto bytes = decodeHexSecret(trimSpace(contents), why);
    if (!bytes) {
      return errorAt(*file_node, key_path, "contents of " + quoteText(file.string()) + " " + why);
    }
    balancer.secret = std::move(*bytes);
    if (stat_ok && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      config.warnings.push_back("balancer.secret_file " + quoteText(file.string()) +
                                " is accessible by group or others; chmod 600 it");
    }
  }
  const toml::node* previous_node = table.get("previous_secret");
  if (previous_node != nullptr) {
    const auto* text = previous_node->as_string();
    if (text == nullptr) {
      return errorAt(*previous_node, joinPath(path, "previous_secret"),
                     "must be a string of hex digits (or \"\" for none)");
    }
    if (!text->get().empty()) {
      auto bytes = decodeHexSecret(text->get(), why);
      if (!bytes) {
        return errorAt(*previous_node, joinPath(path, "previous_secret"), why);
      }
      balancer.previous_secret = std::move(*bytes);
    }
  }
  return Status::ok();
}

Status Loader::readBalancer(const toml::table& root, Config& config) {
  const toml::table* table = nullptr;
  if (Status s = getTable(root, "", "balancer", table); !s.isOk()) {
    return s;
  }
  if (table == nullptr) {
    return errorNoLine("balancer",
                       "missing table [balancer]: one of secret or secret_file is "
                       "required");
  }
  if (Status s =
          checkKeys(*table, "balancer",
                    {"key", "maglev_table_size", "affinity_entries", "affinity_idle_timeout_s",
                     "record_route", "secret", "secret_file", "previous_secret",
                     "branch_format"});
      !s.isOk()) {
    return s;
  }
  BalancerConfig& balancer = config.balancer;
  std::string key = "call-id";
  const toml::node* key_node = nullptr;
  if (Status s = readString(*table, "balancer", "key", key, &key_node); !s.isOk()) {
    return s;
  }
  if (key == "call-id") {
    balancer.key = BalanceKey::CallId;
  } else if (key == "source-ip") {
    balancer.key = BalanceKey::SourceIp;
  } else if (key == "from-tag+call-id") {
    balancer.key = BalanceKey::FromTagCallId;
  } else {
    return errorAt(
        *key_node, "balancer.key",
        "must be \"call-id\", \"source-ip\" or \"from-tag+call-id\", got " + quoteText(key));
  }
  if (Status s = readInt(*table, "balancer", "maglev_table_size", 2, kMaxMaglevTableSize,
                         balancer.maglev_table_size);
      !s.isOk()) {
    return s;
  }
  if (!isPrime(balancer.maglev_table_size)) {
    return errorAt(*table->get("maglev_table_size"), "balancer.maglev_table_size",
                   "must be prime, got " + std::to_string(balancer.maglev_table_size) +
                       " (try 65537, 655373 or 6553733)");
  }
  if (Status s = readInt(*table, "balancer", "affinity_entries", 1, kMaxAffinityEntries,
                         balancer.affinity_entries);
      !s.isOk()) {
    return s;
  }
  if ((balancer.affinity_entries & (balancer.affinity_entries - 1)) != 0) {
    return errorAt(*table->get("affinity_entries"), "balancer.affinity_entries",
                   "must be a power of two, got " + std::to_string(balancer.affinity_entries));
  }
  if (Status s = readInt(*table, "balancer", "affinity_idle_timeout_s", 1, 7 * 86400,
                         balancer.affinity_idle_timeout_s);
      !s.isOk()) {
    return s;
  }
  if (Status s = readBool(*table, "balancer", "record_route", balancer.record_route); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "balancer", "branch_format", 1, 2, balancer.branch_format);
      !s.isOk()) {
    return s;
  }
  return readSecret(*table, "balancer", config);
}

Status Loader::readHealth(const toml::table& root, Config& config) {
  const toml::table* table = nullptr;
  if (Status s = getTable(root, "", "health", table); !s.isOk()) {
    return s;
  }
  if (table == nullptr) {
    return Status::ok();
  }
  if (Status s = checkKeys(*table, "health",
                           {"enabled", "interval_ms", "timeout_ms", "failures_to_down",
                            "successes_to_up"});
      !s.isOk()) {
    return s;
  }
  HealthConfig& health = config.health;
  if (Status s = readBool(*table, "health", "enabled", health.enabled); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "health", "interval_ms", 10, 3600000, health.interval_ms);
      !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "health", "timeout_ms", 1, 3600000, health.timeout_ms);
      !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "health", "failures_to_down", 1, 1000, health.failures_to_down);
      !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "health", "successes_to_up", 1, 1000, health.successes_to_up);
      !s.isOk()) {
    return s;
  }
  if (health.timeout_ms > health.interval_ms) {
    // One outstanding probe per backend keeps the prober's state to a single slot.
    const toml::node* where = table->get("timeout_ms");
    return errorAt(where != nullptr ? where->source() : table->source(), "health.timeout_ms",
                   "must not exceed health.interval_ms (" + std::to_string(health.interval_ms) +
                       "), got " + std::to_string(health.timeout_ms));
  }
  return Status::ok();
}

Status Loader::readBackends(const toml::table& root, Config& config) {
  const toml::node* node = root.get("backend");
  if (node == nullptr) {
    return errorNoLine("backend", "at least one [[backend]] table is required");
  }
  const auto* array = node->as_array();
  if (array != nullptr && array->empty()) {
    return errorAt(*node, "backend", "at least one [[backend]] table is required");
  }
  if (array == nullptr || !array->is_array_of_tables()) {
    return errorAt(
        *node, "backend",
        "must be an array of tables: write each one as [[backend]], got " + describeValue(*node));
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    const std::string path = indexPath("backend", i);
    if (Status s = checkKeys(table, path, {"name", "address", "weight", "drain"}); !s.isOk()) {
      return s;
    }
    BackendConfig backend;
    const toml::node* name_node = nullptr;
    if (Status s = readString(table, path, "name", backend.name, &name_node); !s.isOk()) {
      return s;
    }
    if (name_node == nullptr) {
      return errorAt(table.source(), path, "missing required key \"name\"");
    }
    if (!isValidBackendName(backend.name)) {
      return errorAt(*name_node, path + ".name",
                     "must be 1.." + std::to_string(kMaxBackendName) +
                         " characters of A-Z a-z 0-9 _ . -, got " + quoteText(backend.name));
    }
    const toml::node* address_node = table.get("address");
    if (address_node == nullptr) {
      return errorAt(table.source(), path, "missing required key \"address\"");
    }
    if (Status s = readEndpoint(*address_node, path + ".address", backend.address); !s.isOk()) {
      return s;
    }
    if (isWildcard(backend.address.ip)) {
      return errorAt(
          *address_node, path + ".address",
          "must be a concrete address, got the wildcard " + formatEndpoint(backend.address));
    }
    if (Status s = readInt(table, path, "weight", 0, 65535, backend.weight); !s.isOk()) {
      return s;
    }
    if (Status s = readBool(table, path, "drain", backend.drain); !s.isOk()) {
      return s;
    }
    for (size_t j = 0; j < config.backends.size(); ++j) {
      if (config.backends[j].name == backend.name) {
        return errorAt(*name_node, path + ".name",
                       "duplicate backend name " + quoteText(backend.name) + " (also backend[" +
                           std::to_string(j) + "])");
      }
      if (config.backends[j].address == backend.address) {
        return errorAt(*address_node, path + ".address",
                       "duplicate backend address " + formatEndpoint(backend.address) +
                           " (also backend[" + std::to_string(j) + "] " +
                           quoteText(config.backends[j].name) + ")");
      }
    }
    config.backends.push_back(std::move(backend));
  }
  return Status::ok();
}

Status Loader::readSimpleTables(const toml::table& root, Config& config) {
  const toml::table* table = nullptr;
  if (Status s = getTable(root, "", "control", table); !s.isOk()) {
    return s;
  }
  if (table != nullptr) {
    if (Status s = checkKeys(*table, "control", {"socket"}); !s.isOk()) {
      return s;
    }
    if (Status s = readString(*table, "control", "socket", config.control.socket); !s.isOk()) {
      return s;
    }
    // sockaddr_un.sun_path is 108 bytes including the terminating NUL.
    if (config.control.socket.size() > 107) {
      return errorAt(*table->get("socket"), "control.socket",
                     "path is longer than the 107 bytes a Unix socket address holds");
    }
  }
  if (Status s = getTable(root, "", "metrics", table); !s.isOk()) {
    return s;
  }
  if (table != nullptr) {
    if (Status s = checkKeys(*table, "metrics", {"listen"}); !s.isOk()) {
      return s;
    }
    std::string listen;
    const toml::node* listen_node = nullptr;
    if (Status s = readString(*table, "metrics", "listen", listen, &listen_node); !s.isOk()) {
      return s;
    }
    if (!listen.empty()) {
      net::Endpoint endpoint;
      if (Status s = readEndpoint(*listen_node, "metrics.listen", endpoint); !s.isOk()) {
        return s;
      }
      config.metrics.listen = endpoint;
    }
  }
  if (Status s = getTable(root, "", "log", table); !s.isOk()) {
    return s;
  }
  if (table != nullptr) {
    if (Status s = checkKeys(*table, "log", {"events"}); !s.isOk()) {
      return s;
    }
    if (Status s = readString(*table, "log", "events", config.log.events); !s.isOk()) {
      return s;
    }
    if (config.log.events.empty()) {
      return errorAt(*table->get("events"), "log.events",
                     "must be \"stderr\" or a file path, got \"\"");
    }
  }
  return Status::ok();
}

Status Loader::readDpdk(const toml::table& root, Config& config) {
  const toml::table* table = nullptr;
  if (Status s = getTable(root, "", "dpdk", table); !s.isOk()) {
    return s;
  }
  if (table == nullptr) {
    return Status::ok();
  }
  DpdkConfig& dpdk = config.dpdk;
  dpdk.present = true;
  if (Status s = checkKeys(*table, "dpdk",
                          {"eal_args", "ports", "addresses", "mtu", "burst", "in_place_tx",
                           "tx_checksum_offload"});
      !s.isOk()) {
    return s;
  }
  if (Status s = readStringArray(*table, "dpdk", "eal_args", dpdk.eal_args); !s.isOk()) {
    return s;
  }
  if (Status s = readStringArray(*table, "dpdk", "addresses", dpdk.addresses); !s.isOk()) {
    return s;
  }
  // 68 is the IPv4 minimum MTU (RFC 791); 9216 the usual jumbo-frame ceiling.
  if (Status s = readInt(*table, "dpdk", "mtu", 68, 9216, dpdk.mtu); !s.isOk()) {
    return s;
  }
  if (Status s = readInt(*table, "dpdk", "burst", 1, 512, dpdk.burst); !s.isOk()) {
    return s;
  }
  if (Status s = readBool(*table, "dpdk", "in_place_tx", dpdk.in_place_tx); !s.isOk()) {
    return s;
  }
  if (Status s = readBool(*table, "dpdk", "tx_checksum_offload", dpdk.tx_checksum_offload);
      !s.isOk()) {
    return s;
  }
  if (const toml::node* ports = table->get("ports"); ports != nullptr) {
    const auto* array = ports->as_array();
    if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
      return errorAt(*ports, "dpdk.ports",
                     "must be an array of tables ([[dpdk.ports]]), got " + describeValue(*ports));
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string path = indexPath("dpdk.ports", i);
      DpdkPortConfig port;
      for (auto&& [key, value] : *array->get(i)->as_table()) {
        auto text = rawText(value);
        if (!text) {
          return errorAt(value, joinPath(path, key.str()),
                         "must be a string, number or boolean, got " + describeValue(value));
        }
        port.values.emplace(std::string(key.str()), std::move(*text));
      }
      dpdk.ports.push_back(std::move(port));
    }
  }
  return Status::ok();
}

Status Loader::checkWhole(const toml::table& root, Config& config) {
  (void)root;
  ServerConfig& server = config.server;
  if (server.advertise.empty()) {
    const net::Endpoint& first = server.listen.front();
    if (isWildcard(first.ip)) {
      // A wildcard cannot be put in a Via: responses would have nowhere to come back to.
      const toml::source_region where =
          listen_node_ != nullptr ? listen_node_->source() : toml::source_region{};
      return errorAt(where, "server.advertise",
                     "is required when the first listen address is a wildcard (" +
                         formatEndpoint(first) + ")");
    }
    server.advertise = formatEndpoint(first);
  }
  if (config.balancer.maglev_table_size < config.backends.size()) {
    return errorNoLine("balancer.maglev_table_size",
                       "must be at least the number of backends (" +
                           std::to_string(config.backends.size()) + "), got " +
                           std::to_string(config.balancer.maglev_table_size));
  }
  if (config.balancer.maglev_table_size < 100 * config.backends.size()) {
    config.warnings.push_back("balancer.maglev_table_size " +
                              std::to_string(config.balancer.maglev_table_size) +
                              " is under 100 slots per backend; load will be spread unevenly");
  }
  const bool any_weight = std::any_of(config.backends.begin(), config.backends.end(),
                                      [](const BackendConfig& b) { return b.weight > 0; });
  if (!any_weight) {
    config.warnings.push_back("every backend has weight 0; no new call can be placed");
  }
  if (server.io == IoBackend::Dpdk && !config.dpdk.present) {
    config.warnings.push_back("server.io is \"dpdk\" but there is no [dpdk] table");
  }
  return Status::ok();
}

Result<Config> Loader::run(const toml::table& root) {
  if (Status s = checkKeys(
          root, "",
          {"server", "balancer", "health", "backend", "control", "metrics", "log", "dpdk",
           "shield"});
      !s.isOk()) {
    return s;
  }
  Config config;
  // File order of the checks: an operator fixing errors one by one moves down the file.
  for (auto step :
       {&Loader::readServer, &Loader::readBalancer, &Loader::readHealth, &Loader::readBackends,
        &Loader::readSimpleTables, &Loader::readDpdk, &Loader::checkWhole}) {
    if (Status s = (this->*step)(root, config); !s.isOk()) {
      return s;
    }
  }
  // [shield]: the DoS shield's rules (src/shield_config.cc).
  if (Status s = readShieldConfig(root, source(), baseDir(), config.shield); !s.isOk()) {
    return s;
  }
  return config;
}

Result<Config> parseWithBase(std::string_view toml_text, std::string_view source_name,
                             const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    return invalidArgument(std::string(source_name) + ":" + std::to_string(where.line) + ":" +
                           std::to_string(where.column) +
                           ": TOML syntax error: " + std::string(error.description()));
  }
  Loader loader(source_name, base_dir);
  return loader.run(root);
}

}  // namespace

std::string_view ioBackendName(IoBackend io) {
  switch (io) {
    case IoBackend::Uring:
      return "uring";
    case IoBackend::Dpdk:
      return "dpdk";
  }
  return "?";
}

std::string_view balanceKeyName(BalanceKey key) {
  switch (key) {
    case BalanceKey::CallId:
      return "call-id";
    case BalanceKey::SourceIp:
      return "source-ip";
    case BalanceKey::FromTagCallId:
      return "from-tag+call-id";
  }
  return "?";
}

bool operator==(const Config& a, const Config& b) {
  return a.server == b.server && a.balancer == b.balancer && a.health == b.health &&
         a.backends == b.backends && a.control == b.control && a.metrics == b.metrics &&
         a.log == b.log && a.dpdk == b.dpdk;
}

std::string formatEndpoint(const net::Endpoint& endpoint) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (endpoint.ip.isV4() || endpoint.ip.isV6()) {
    inet_ntop(endpoint.ip.family, endpoint.ip.bytes, text, sizeof(text));
  }
  const std::string host = endpoint.ip.isV6() ? "[" + std::string(text) + "]" : text;
  return host + ":" + std::to_string(endpoint.port);
}

Result<Config> parseConfig(std::string_view toml_text, std::string_view source_name) {
  return parseWithBase(toml_text, source_name, {});
}

Result<Config> loadConfig(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    return Status(error == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "cannot open config " + quoteText(path) + ": " + std::strerror(error));
  }
  std::string text;
  char buffer[65536];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text.append(buffer, got);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return unavailable("cannot read config " + quoteText(path));
  }
  return parseWithBase(text, path, std::filesystem::path(path).parent_path());
}

std::string describeConfig(const Config& config) {
  const ServerConfig& server = config.server;
  const BalancerConfig& balancer = config.balancer;
  std::string out = "io ";
  out += ioBackendName(server.io);
  out += ", workers ";
  out += server.workers == 0 ? "one per core" : std::to_string(server.workers);
  out += ", listening on";
  for (const net::Endpoint& endpoint : server.listen) {
    out += ' ';
    out += formatEndpoint(endpoint);
  }
  out += " as " + server.advertise;
  if (!server.backend_listen.empty()) {
    out += ", toward backends from";
    for (const net::Endpoint& endpoint : server.backend_listen) {
      out += ' ';
      out += formatEndpoint(endpoint);
    }
  }
  out += ", socket buffers ";
  out += server.socket_buffer_bytes == 0 ? "kernel default"
                                         : std::to_string(server.socket_buffer_bytes) + " bytes";
  out += "; balancing on ";
  out += balanceKeyName(balancer.key);
  out += " with a Maglev table of " + std::to_string(balancer.maglev_table_size) + ", affinity " +
         std::to_string(balancer.affinity_entries) + " entries idle " +
         std::to_string(balancer.affinity_idle_timeout_s) + " s, record-route ";
  out += balancer.record_route ? "on" : "off";
  out += ", branch format " + std::to_string(balancer.branch_format);
  out += ", a " + std::to_string(balancer.secret.size()) + "-byte secret";
  if (!balancer.secret_file.empty()) {
    out += " from " + balancer.secret_file;
  }
  if (!balancer.previous_secret.empty()) {
    out += " and a previous secret";
  }
  out += "; health probes every " + std::to_string(config.health.interval_ms) + " ms, timeout " +
         std::to_string(config.health.timeout_ms) + " ms, down after " +
         std::to_string(config.health.failures_to_down) + " failures, up after " +
         std::to_string(config.health.successes_to_up) + " successes; " +
         std::to_string(config.backends.size()) + " backend" +
         (config.backends.size() == 1 ? "" : "s") + ":";
  for (size_t i = 0; i < config.backends.size() && i < kDescribeMaxBackends; ++i) {
    const BackendConfig& backend = config.backends[i];
    out += (i == 0 ? " " : ", ") + backend.name + " " + formatEndpoint(backend.address) +
           " weight " + std::to_string(backend.weight);
    if (backend.drain) {
      out += " draining";
    }
  }
  if (config.backends.size() > kDescribeMaxBackends) {
    out += " and " + std::to_string(config.backends.size() - kDescribeMaxBackends) + " more";
  }
  out += "; control socket ";
  out += config.control.socket.empty() ? "off" : config.control.socket;
  out += ", metrics ";
  out += config.metrics.listen ? "on " + formatEndpoint(*config.metrics.listen) : "off";
  out += ", events to " + config.log.events;
  if (config.dpdk.present) {
    out += "; dpdk: " + std::to_string(config.dpdk.eal_args.size()) + " EAL args, " +
           std::to_string(config.dpdk.ports.size()) + " ports, mtu " +
           std::to_string(config.dpdk.mtu) + ", burst " + std::to_string(config.dpdk.burst);
  }
  out += '.';
  return out;
}

std::vector<net::Endpoint> socketAddresses(const ServerConfig& server) {
  std::vector<net::Endpoint> addresses = server.listen;
  addresses.insert(addresses.end(), server.backend_listen.begin(), server.backend_listen.end());
  return addresses;
}

bool sameListeners(const Config& a, const Config& b) {
  return a.server.io == b.server.io && a.server.workers == b.server.workers &&
         a.server.listen == b.server.listen && a.server.backend_listen == b.server.backend_listen &&
         a.server.socket_buffer_bytes == b.server.socket_buffer_bytes &&
         a.control.socket == b.control.socket && a.metrics.listen == b.metrics.listen &&
         a.dpdk == b.dpdk;
}

ConfigDiff diffConfig(const Config& running, const Config& next) {
  ConfigDiff diff;
  auto restart = [&](bool changed, const char* key) {
    if (changed) {
      diff.restart_required.emplace_back(key);
    }
  };
  restart(running.server.io != next.server.io, "server.io");
  restart(running.server.workers != next.server.workers, "server.workers");
  restart(running.server.listen != next.server.listen, "server.listen");
  restart(running.server.backend_listen != next.server.backend_listen, "server.backend_listen");
  restart(running.server.advertise != next.server.advertise, "server.advertise");
  restart(running.server.socket_buffer_bytes != next.server.socket_buffer_bytes,
          "server.socket_buffer_bytes");
  restart(running.balancer.affinity_entries != next.balancer.affinity_entries,
          "balancer.affinity_entries");
  restart(running.control.socket != next.control.socket, "control.socket");
  restart(running.metrics.listen != next.metrics.listen, "metrics.listen");
  restart(running.log.events != next.log.events, "log.events");
  restart(running.dpdk != next.dpdk, "dpdk");

  auto applied = [&](const std::string& key, const std::string& from, const std::string& to) {
    if (from != to) {
      diff.applied.push_back(key + ": " + from + " -> " + to);
    }
  };
  const BalancerConfig& a = running.balancer;
  const BalancerConfig& b = next.balancer;
  applied("balancer.key", std::string(balanceKeyName(a.key)), std::string(balanceKeyName(b.key)));
  applied("balancer.maglev_table_size", std::to_string(a.maglev_table_size),
          std::to_string(b.maglev_table_size));
  applied("balancer.affinity_idle_timeout_s", std::to_string(a.affinity_idle_timeout_s),
          std::to_string(b.affinity_idle_timeout_s));
  applied("balancer.record_route", a.record_route ? "true" : "false",
          b.record_route ? "true" : "false");
  applied("balancer.branch_format", std::to_string(a.branch_format),
          std::to_string(b.branch_format));
  if (a.secret != b.secret) {
    diff.applied.emplace_back("balancer.secret: changed");
  }
  if (a.previous_secret != b.previous_secret) {
    diff.applied.emplace_back("balancer.previous_secret: changed");
  }
  if (a.secret_file != b.secret_file) {
    diff.applied.push_back("balancer.secret_file: " + quoteText(a.secret_file) + " -> " +
                           quoteText(b.secret_file));
  }
  const HealthConfig& ha = running.health;
  const HealthConfig& hb = next.health;
  applied("health.enabled", ha.enabled ? "true" : "false", hb.enabled ? "true" : "false");
  applied("health.interval_ms", std::to_string(ha.interval_ms), std::to_string(hb.interval_ms));
  applied("health.timeout_ms", std::to_string(ha.timeout_ms), std::to_string(hb.timeout_ms));
  applied("health.failures_to_down", std::to_string(ha.failures_to_down),
          std::to_string(hb.failures_to_down));
  applied("health.successes_to_up", std::to_string(ha.successes_to_up),
          std::to_string(hb.successes_to_up));

  // Backends are matched by name: a renamed backend is one removed and one added.
  for (const BackendConfig& old_backend : running.backends) {
    const auto match =
        std::find_if(next.backends.begin(), next.backends.end(),
                     [&](const BackendConfig& c) { return c.name == old_backend.name; });
    const std::string prefix = "backend " + old_backend.name;
    if (match == next.backends.end()) {
      diff.applied.push_back(prefix + ": removed");
      continue;
    }
    if (old_backend.address != match->address) {
      diff.applied.push_back(prefix + ": address " + formatEndpoint(old_backend.address) + " -> " +
                             formatEndpoint(match->address));
    }
    if (old_backend.weight != match->weight) {
      diff.applied.push_back(prefix + ": weight " + std::to_string(old_backend.weight) + " -> " +
                             std::to_string(match->weight));
    }
    if (old_backend.drain != match->drain) {
      diff.applied.push_back(prefix + (match->drain ? ": draining" : ": no longer draining"));
    }
  }
  std::vector<std::string> kept_order_old;
  std::vector<std::string> kept_order_new;
  for (const BackendConfig& backend : running.backends) {
    kept_order_old.push_back(backend.name);
  }
  for (const BackendConfig& backend : next.backends) {
    kept_order_new.push_back(backend.name);
  }
  // Same names in a different order: the Maglev table may assign slots differently, so say so.
  if (kept_order_old != kept_order_new) {
    std::vector<std::string> sorted_old = kept_order_old;
    std::vector<std::string> sorted_new = kept_order_new;
    std::sort(sorted_old.begin(), sorted_old.end());
    std::sort(sorted_new.begin(), sorted_new.end());
    if (sorted_old == sorted_new) {
      diff.applied.emplace_back("backend order changed");
    }
  }
  for (const BackendConfig& new_backend : next.backends) {
    const bool existed =
        std::any_of(running.backends.begin(), running.backends.end(),
                    [&](const BackendConfig& c) { return c.name == new_backend.name; });
    if (!existed) {
      diff.applied.push_back("backend " + new_backend.name + ": added " +
                             formatEndpoint(new_backend.address) + " weight " +
                             std::to_string(new_backend.weight));
    }
  }
  return diff;
}

}  // namespace sipshield
