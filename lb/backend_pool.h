#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/dispatch_snapshot.h"
#include "lb/maglev.h"
#include "lb/result.h"

namespace sipshield::lb {

// BackendState is a backend's effective state as workers see it.
enum class BackendState : uint8_t {
  // Up: healthy and not draining; takes new calls and keeps its calls.
  Up,
  // Down: failed health checks (active or passive); takes nothing, its calls move.
  Down,
  // Draining: healthy but administratively draining; keeps its calls, takes no new ones.
  Draining,
};

// backendStateName returns "up", "down" or "draining". Thread-safe.
[[nodiscard]] const char* backendStateName(BackendState state);

// PassiveFailure is a failure seen on live traffic rather than by a probe.
enum class PassiveFailure : uint8_t {
  // ServiceUnavailable: the backend answered 503 (RFC 3261 §21.5.4: overloaded/maintenance).
  ServiceUnavailable,
  // Timeout: a request forwarded to the backend got no response in time.
  Timeout,
};

// HealthPolicy holds the thresholds of the health state machine. Plain data.
struct HealthPolicy {
  // fall_threshold (K): consecutive failed probes that take an Up backend Down.
  uint32_t fall_threshold = 3;
  // rise_threshold (M): consecutive successful probes that bring a Down backend Up.
  uint32_t rise_threshold = 2;
  // passive_threshold: passive failures within passive_window_ms that take a backend Down;
  // 0 disables passive health.
  uint32_t passive_threshold = 20;
  // passive_window_ms: length of the fixed window passive failures are counted in.
  uint64_t passive_window_ms = 10 * 1000;
  // start_up: whether a new backend starts Up (true avoids a blackout at start) or Down until
  // it has passed rise_threshold probes.
  bool start_up = true;
};

// BackendConfig is one configured backend. Plain data.
struct BackendConfig {
  // name identifies the backend and seeds its Maglev permutation (must be unique).
  std::string name;
  // address is the backend's address text; opaque to lb/ (src/ resolves it).
  std::string address;
  // weight is the relative share of new calls; 0 means no new calls.
  uint32_t weight = 1;
};

// BackendStatus is a copy of one backend's state for the control socket and tests.
struct BackendStatus {
  uint16_t index = 0;
  std::string name;
  std::string address;
  uint32_t weight = 0;
  bool removed = false;
  BackendState state = BackendState::Up;
  bool healthy = true;
  bool draining = false;
  uint32_t consecutive_successes = 0;
  uint32_t consecutive_failures = 0;
  uint32_t passive_failures = 0;  // in the current window
  uint64_t last_change_ms = 0;    // time of the last state change
};

// BackendPool is the control plane's model of the backends: configuration, the health state
// machine, and the builder of DispatchSnapshots. It is pure: it never probes anything itself;
// the prober and the pipeline's counters feed it results.
//
// Backend indices are stable: a backend keeps its index for the pool's lifetime, and a removed
// backend added again (same name) gets its old index back. Indices are what the Maglev table
// and the affinity table store, so they must not move when the set changes.
//
// Health state machine (per backend, orthogonal to the administrative drain flag):
//   healthy   --fall_threshold consecutive failed probes-------------------> unhealthy
//   healthy   --passive_threshold passive failures within the window-------> unhealthy
//   unhealthy --rise_threshold consecutive successful probes---------------> healthy
// Effective state: Down if unhealthy, else Draining if draining, else Up.
//
// Thread-safety: not thread-safe; owned by one control thread. The snapshots it builds are
// immutable and may be shared with workers through SnapshotPublisher.
class BackendPool {
 public:
  // BackendPool makes an empty pool using `policy`; snapshots use Maglev tables of
  // `table_size` slots (must be prime; checked when the first snapshot is built).
  explicit BackendPool(HealthPolicy policy = {},
                       uint32_t table_size = kDefaultMaglevTableSize);

  // addBackend adds `config`, or revives a removed backend of the same name at its old index
  // (with the new address and weight and fresh health).
  // Returns the backend index, or InvalidArgument (empty name), AlreadyExists (a backend with
  // that name is present), ResourceExhausted (kMaxMaglevBackends indices used).
  [[nodiscard]] Result<uint16_t> addBackend(const BackendConfig& config, uint64_t now_ms = 0);

  // removeBackend removes the backend named `name`; its index stays reserved for it.
  // Returns NotFound when no present backend has that name.
  Status removeBackend(std::string_view name);

  // setWeight changes a backend's weight (rebuilds the Maglev table at the next snapshot).
  // Returns NotFound for an unknown or removed index.
  Status setWeight(uint16_t backend, uint32_t weight);

  // setDraining sets or clears the administrative drain flag. Returns NotFound as setWeight.
  Status setDraining(uint16_t backend, bool draining, uint64_t now_ms = 0);

  // find returns the index of the present backend named `name`.
  [[nodiscard]] std::optional<uint16_t> find(std::string_view name) const;

  // onProbeResult feeds one active probe result (e.g. an OPTIONS answered or not) at `now_ms`.
  // Returns true when the backend's effective state changed (publish a new snapshot).
  // Unknown or removed indices are ignored (returns false).
  bool onProbeResult(uint16_t backend, bool ok, uint64_t now_ms);

  // onPassiveFailure feeds one failure seen on live traffic at `now_ms`. Passive failures only
  // take a backend down; it comes back through probes. Returns true when the effective state
  // changed. Unknown or removed indices are ignored.
  bool onPassiveFailure(uint16_t backend, PassiveFailure kind, uint64_t now_ms);

  // state returns the effective state of `backend` (Down for unknown or removed indices).
  [[nodiscard]] BackendState state(uint16_t backend) const;

  // status returns a copy of every backend's state, indexed by backend index.
  [[nodiscard]] std::vector<BackendStatus> status() const;

  // size returns the number of indices ever assigned (present and removed).
  [[nodiscard]] uint16_t size() const { return static_cast<uint16_t>(backends_.size()); }

  // buildSnapshot builds the DispatchSnapshot of the current state. The Maglev table (primary
  // and fallback) is rebuilt only when membership or weights changed since the last build;
  // health and drain changes reuse it and only recompute the flags.
  // Returns the snapshot, or InvalidArgument when the table size is not a valid prime. A pool
  // with no weighted backend gives a snapshot without table whose pickNew() is kNoBackend.
  [[nodiscard]] Result<std::unique_ptr<const DispatchSnapshot>> buildSnapshot();

 private:
  struct Backend {
    BackendConfig config;
    uint32_t id = 0;
    uint64_t seed = 0;
    bool removed = false;
    bool healthy = true;
    bool draining = false;
    uint32_t successes = 0;
    uint32_t failures = 0;
    uint32_t passive_failures = 0;
    uint64_t passive_window_start_ms = 0;
    uint64_t last_change_ms = 0;
  };

  [[nodiscard]] BackendState effective(const Backend& b) const;
  [[nodiscard]] Backend* get(uint16_t backend);
  void resetHealth(Backend& b, uint64_t now_ms);

  HealthPolicy policy_;
  uint32_t table_size_;
  std::vector<Backend> backends_;
  bool table_dirty_ = true;
  std::shared_ptr<const MaglevTable> table_;
  uint64_t version_ = 0;
};

}  // namespace sipshield::lb
