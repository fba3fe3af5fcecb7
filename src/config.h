#pragma once

// The daemon's configuration: plain data loaded once from TOML at start and again on SIGHUP.
// Nothing here is touched per packet; the control plane turns a Config into the immutable
// snapshots the workers read.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/net/endpoint.h"
#include "src/shield_config.h"
#include "src/status.h"

namespace sipshield {

// IoBackend selects how packets enter and leave the process ([server] io).
enum class IoBackend {
  Uring,  // "uring": kernel UDP sockets, one SO_REUSEPORT socket per worker, io_uring.
  Dpdk,   // "dpdk": poll-mode NIC driver, one RX queue per lcore.
};

// BalanceKey is what a request is hashed on to pick its backend ([balancer] key).
enum class BalanceKey {
  CallId,         // "call-id": every message of a call reaches the same backend.
  SourceIp,       // "source-ip": every message from one client address does.
  FromTagCallId,  // "from-tag+call-id": forked/parallel dialogs of a call may spread.
};

// ioBackendName returns the TOML spelling of `io` ("uring", "dpdk"). Thread-safe.
[[nodiscard]] std::string_view ioBackendName(IoBackend io);

// balanceKeyName returns the TOML spelling of `key` ("call-id", ...). Thread-safe.
[[nodiscard]] std::string_view balanceKeyName(BalanceKey key);

// ServerConfig is the [server] table: how packets get in and what we call ourselves.
struct ServerConfig {
  IoBackend io = IoBackend::Uring;
  // workers is the number of worker threads; 0 means one per online core.
  uint32_t workers = 0;
  // listen holds the UDP addresses to bind; never empty after a successful parse.
  std::vector<net::Endpoint> listen;
  // backend_listen holds the UDP addresses that talk to the backends (a private network,
  // say); empty: the listen sockets do. Requests to backends leave from these, naming them in
  // Via and Record-Route (two Record-Routes, RFC 5658), so backends' answers and in-dialog
  // requests arrive here, apart from client traffic and floods. With io = "dpdk" each must
  // be one of dpdk.addresses.
  std::vector<net::Endpoint> backend_listen;
  // advertise is the "host:port" we write into our Via and Record-Route; after a successful
  // parse it is never empty (it defaults to the first listen address).
  std::string advertise;
  // socket_buffer_bytes sizes SO_RCVBUF/SO_SNDBUF; 0 keeps the kernel default.
  uint32_t socket_buffer_bytes = 4194304;

  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

// socketAddresses lists the addresses to bind, in local-index order: server.listen, then
// server.backend_listen (buildLocals() tells the sides apart by that order). Thread-safe.
[[nodiscard]] std::vector<net::Endpoint> socketAddresses(const ServerConfig& server);

// BalancerConfig is the [balancer] table: backend choice and the branch-signing secret.
struct BalancerConfig {
  BalanceKey key = BalanceKey::CallId;
  // maglev_table_size is the Maglev lookup table length; always prime (Maglev needs it so every
  // backend's permutation visits every slot).
  uint32_t maglev_table_size = 65537;
  // affinity_entries is the Call-ID -> backend table size; always a power of two.
  uint32_t affinity_entries = 1048576;
  // affinity_idle_timeout_s is how long an idle call keeps its backend pinned.
  uint32_t affinity_idle_timeout_s = 3600;
  bool record_route = false;
  // secret is the decoded branch-MAC key, 16..64 bytes. Never log it.
  std::vector<uint8_t> secret;
  // previous_secret is the key before the last rotation (empty = none); responses whose branch
  // was signed with it are still accepted, so rotation loses no in-flight transactions.
  std::vector<uint8_t> previous_secret;
  // secret_file is the path the secret was read from, as written in the config ("" = inline).
  std::string secret_file;
  // branch_format is how new Via branches are made (lb::BranchFormat): 2, one SipHash pass
  // (default); 1, the three-hash format of earlier versions, for a cluster whose older
  // instances must still verify this one's branches during an upgrade. Both always verify.
  uint32_t branch_format = 2;

  friend bool operator==(const BalancerConfig&, const BalancerConfig&) = default;
};

// HealthConfig is the [health] table: the OPTIONS prober's timing and thresholds.
struct HealthConfig {
  // Active OPTIONS probes; off for backends that cannot answer OPTIONS (e.g. load sinks):
  // they then stay up unless passive signals (503s) take them down.
  bool enabled = true;
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;  // always <= interval_ms, so probes never overlap
  uint32_t failures_to_down = 3;
  uint32_t successes_to_up = 2;

  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

// BackendConfig is one [[backend]] entry: a SIP proxy we forward to.
struct BackendConfig {
  // name is unique among backends, 1..64 characters of [A-Za-z0-9_.-]; it names the backend in
  // metrics, logs and sipshieldctl.
  std::string name;
  net::Endpoint address;  // IP literal and port; unique among backends
  uint16_t weight = 100;  // Maglev weight; 0 keeps the backend configured but gets no new calls
  bool drain = false;     // true: no new calls, calls in progress stay

  friend bool operator==(const BackendConfig&, const BackendConfig&) = default;
};

// ControlConfig is the [control] table: the sipshieldctl Unix socket.
struct ControlConfig {
  std::string socket = "/run/sipshield/control.sock";  // "" disables the control socket

  friend bool operator==(const ControlConfig&, const ControlConfig&) = default;
};

// MetricsConfig is the [metrics] table: the Prometheus endpoint.
struct MetricsConfig {
  std::optional<net::Endpoint> listen;  // nullopt = no /metrics listener

  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

// LogConfig is the [log] table: where JSON-lines events (bans, backend up/down) go.
struct LogConfig {
  std::string events = "stderr";  // "stderr" or a file path

  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

// DpdkPortConfig is one entry of [[dpdk.ports]], kept raw for the DPDK backend to interpret:
// each scalar value is stored as text (strings unquoted, numbers and booleans as written).
struct DpdkPortConfig {
  std::map<std::string, std::string> values;

  friend bool operator==(const DpdkPortConfig&, const DpdkPortConfig&) = default;
};

// DpdkConfig is the [dpdk] table, accepted and stored for the DPDK backend to validate.
struct DpdkConfig {
  bool present = false;               // true when the file has a [dpdk] table
  std::vector<std::string> eal_args;  // passed to rte_eal_init after argv[0]
  std::vector<DpdkPortConfig> ports;
  std::vector<std::string> addresses;  // raw, e.g. "192.0.2.10/24"
  uint32_t mtu = 1500;
  uint32_t burst = 32;
  bool in_place_tx = true;          // rewrite and send forwarded messages in their own mbuf
  bool tx_checksum_offload = true;  // let ports that offer it compute IPv4/UDP checksums

  friend bool operator==(const DpdkConfig&, const DpdkConfig&) = default;
};

// Config is the whole daemon configuration. A Config returned by parseConfig/loadConfig has
// passed every check below; the daemon can use it without re-validating.
struct Config {
  ServerConfig server;
  BalancerConfig balancer;
  HealthConfig health;
  std::vector<BackendConfig> backends;  // at least one, in file order
  ControlConfig control;
  MetricsConfig metrics;
  LogConfig log;
  DpdkConfig dpdk;
  ShieldConfig shield;  // [shield]: DoS-shield rules (src/shield_config.h)
  // warnings are things that are legal but probably wrong (the sample secret is in use, the
  // secret file is readable by others, ...); the daemon logs them at start. They are not part
  // of the configuration and operator== ignores them.
  std::vector<std::string> warnings;

  // operator== compares every setting except `warnings`.
  friend bool operator==(const Config& a, const Config& b);
};

// parseConfig parses and validates a configuration held in memory.
// Thread-safe (no shared state). `toml_text` is the TOML document; `source_name` is used only
// to prefix error messages ("sipshield.toml:12: backend[1].weight: ..."). A relative
// balancer.secret_file is opened relative to the current directory.
// Returns the Config, or kInvalidArgument whose message names the source, the line (when
// known), the dotted key and the problem: TOML syntax errors (with line and column), unknown
// keys or tables, wrong types, out-of-range values, missing required keys, duplicate backend
// names or addresses, bad address literals, a non-prime Maglev size, or a bad secret. Secret
// values are never echoed in messages.
[[nodiscard]] Result<Config> parseConfig(std::string_view toml_text, std::string_view source_name);

// loadConfig reads the file at `path` and parses it like parseConfig, with `path` as the source
// name; a relative balancer.secret_file is opened relative to the config file's directory.
// Thread-safe. Returns kNotFound when the file does not exist, kUnavailable when it cannot be
// read, otherwise what parseConfig returns.
[[nodiscard]] Result<Config> loadConfig(const std::string& path);

// describeConfig returns a one-paragraph summary for the start-up log: I/O backend, workers,
// addresses, balancing key and tables, secret length (never its value), health timing,
// backends (the first 16 by name, address, weight and drain state), control, metrics and log
// destinations. Thread-safe.
[[nodiscard]] std::string describeConfig(const Config& config);

// sameListeners reports whether `a` and `b` bind the same sockets and threads: server.io,
// server.workers, server.listen, server.socket_buffer_bytes, control.socket, metrics.listen and
// the [dpdk] table. A SIGHUP reload must be refused (or need a restart) when this is false,
// because listening sockets and per-core queues are set up once at start. Thread-safe.
[[nodiscard]] bool sameListeners(const Config& a, const Config& b);

// ConfigDiff lists what a reload from one Config to another changes, for the reload log and
// for deciding whether the reload can be applied.
struct ConfigDiff {
  // applied holds changes a reload can apply live, one human-readable line each, e.g.
  // "balancer.key: call-id -> source-ip", "backend pbx-a: weight 100 -> 50",
  // "backend pbx-c: added", "balancer.secret: changed" (never the secret itself).
  std::vector<std::string> applied;
  // restart_required names the dotted keys that changed but only take effect after a
  // restart: everything sameListeners compares, plus server.advertise,
  // balancer.affinity_entries (the table is sized once) and log.events.
  std::vector<std::string> restart_required;

  [[nodiscard]] bool empty() const { return applied.empty() && restart_required.empty(); }
};

// diffConfig compares the running configuration with a newly loaded one. Thread-safe.
// Returns every difference; an empty diff means the reload is a no-op.
[[nodiscard]] ConfigDiff diffConfig(const Config& running, const Config& next);

// formatEndpoint prints `endpoint` as "192.0.2.1:5060" or "[2001:db8::1]:5060". Thread-safe;
// allocates (control plane only).
[[nodiscard]] std::string formatEndpoint(const net::Endpoint& endpoint);

}  // namespace sipshield
