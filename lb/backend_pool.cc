#include "lb/backend_pool.h"

#include <xxhash.h>

#include <utility>

namespace sipshield::lb {

const char* backendStateName(BackendState state) {
  switch (state) {
    case BackendState::Up:
      return "up";
    case BackendState::Down:
      return "down";
    case BackendState::Draining:
      return "draining";
  }
  return "unknown";
}

BackendPool::BackendPool(HealthPolicy policy, uint32_t table_size)
    : policy_(policy), table_size_(table_size) {}

Result<uint16_t> BackendPool::addBackend(const BackendConfig& config, uint64_t now_ms) {
  if (config.name.empty()) {
    return Status(StatusCode::InvalidArgument, "backend: empty name");
  }
  for (size_t i = 0; i < backends_.size(); ++i) {
    Backend& b = backends_[i];
    if (b.config.name != config.name) {
      continue;
    }
    if (!b.removed) {
      return Status(StatusCode::AlreadyExists, "backend: duplicate name " + config.name);
    }
    b.config = config;
    b.removed = false;
    b.draining = false;
    resetHealth(b, now_ms);
    table_dirty_ = true;
    return static_cast<uint16_t>(i);
  }
  if (backends_.size() >= kMaxMaglevBackends) {
    return Status(StatusCode::ResourceExhausted, "backend: too many backends");
  }
  Backend b;
  b.config = config;
  // Identity from the name only, so a backend's Maglev permutation does not depend on config
  // order and every instance with the same names builds the same table.
  b.seed = XXH3_64bits(config.name.data(), config.name.size());
  b.id = static_cast<uint32_t>(b.seed >> 32);
  resetHealth(b, now_ms);
  backends_.push_back(std::move(b));
  table_dirty_ = true;
  return static_cast<uint16_t>(backends_.size() - 1);
}

void BackendPool::resetHealth(Backend& b, uint64_t now_ms) {
  b.healthy = policy_.start_up;
  b.successes = 0;
  b.failures = 0;
  b.passive_failures = 0;
  b.passive_window_start_ms = now_ms;
  b.last_change_ms = now_ms;
}

Status BackendPool::removeBackend(std::string_view name) {
  for (Backend& b : backends_) {
    if (!b.removed && b.config.name == name) {
      b.removed = true;
      table_dirty_ = true;
      return Status();
    }
  }
  return Status(StatusCode::NotFound, "backend: no backend named " + std::string(name));
}

BackendPool::Backend* BackendPool::get(uint16_t backend) {
  if (backend >= backends_.size() || backends_[backend].removed) {
    return nullptr;
  }
  return &backends_[backend];
}

Status BackendPool::setWeight(uint16_t backend, uint32_t weight) {
  Backend* b = get(backend);
  if (b == nullptr) {
    return Status(StatusCode::NotFound, "backend: unknown index " + std::to_string(backend));
  }
  if (b->config.weight != weight) {
    b->config.weight = weight;
    table_dirty_ = true;
  }
  return Status();
}

Status BackendPool::setDraining(uint16_t backend, bool draining, uint64_t now_ms) {
  Backend* b = get(backend);
  if (b == nullptr) {
    return Status(StatusCode::NotFound, "backend: unknown index " + std::to_string(backend));
  }
  if (b->draining != draining) {
    b->draining = draining;
    b->last_change_ms = now_ms;
  }
  return Status();
}

std::optional<uint16_t> BackendPool::find(std::string_view name) const {
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (!backends_[i].removed && backends_[i].config.name == name) {
      return static_cast<uint16_t>(i);
    }
  }
  return std::nullopt;
}

BackendState BackendPool::effective(const Backend& b) const {
  if (b.removed || !b.healthy) {
    return BackendState::Down;
  }
  return b.draining ? BackendState::Draining : BackendState::Up;
}

bool BackendPool::onProbeResult(uint16_t backend, bool ok, uint64_t now_ms) {
  Backend* b = get(backend);
  if (b == nullptr) {
    return false;
  }
  if (ok) {
    b->failures = 0;
    ++b->successes;
    if (!b->healthy && b->successes >= policy_.rise_threshold) {
      b->healthy = true;
      b->successes = 0;
      // A backend that comes back starts a fresh passive window.
      b->passive_failures = 0;
      b->passive_window_start_ms = now_ms;
      b->last_change_ms = now_ms;
      return true;
    }
    return false;
  }
  b->successes = 0;
  ++b->failures;
  if (b->healthy && b->failures >= policy_.fall_threshold) {
    b->healthy = false;
    b->failures = 0;
    b->last_change_ms = now_ms;
    return true;
  }
  return false;
}

bool BackendPool::onPassiveFailure(uint16_t backend, PassiveFailure kind, uint64_t now_ms) {
  (void)kind;  // Both kinds count the same today; the kind is kept for per-kind counters.
  Backend* b = get(backend);
  if (b == nullptr || policy_.passive_threshold == 0 || !b->healthy) {
    return false;
  }
  if (now_ms - b->passive_window_start_ms >= policy_.passive_window_ms ||
      now_ms < b->passive_window_start_ms) {
    b->passive_window_start_ms = now_ms;
    b->passive_failures = 0;
  }
  ++b->passive_failures;
  if (b->passive_failures >= policy_.passive_threshold) {
    b->healthy = false;
    b->successes = 0;
    b->failures = 0;
    b->passive_failures = 0;
    b->last_change_ms = now_ms;
    return true;
  }
  return false;
}

BackendState BackendPool::state(uint16_t backend) const {
  if (backend >= backends_.size()) {
    return BackendState::Down;
  }
  return effective(backends_[backend]);
}

std::vector<BackendStatus> BackendPool::status() const {
  std::vector<BackendStatus> out;
  out.reserve(backends_.size());
  for (size_t i = 0; i < backends_.size(); ++i) {
    const Backend& b = backends_[i];
    BackendStatus s;
    s.index = static_cast<uint16_t>(i);
    s.name = b.config.name;
    s.address = b.config.address;
    s.weight = b.config.weight;
    s.removed = b.removed;
    s.state = effective(b);
    s.healthy = b.healthy;
    s.draining = b.draining;
    s.consecutive_successes = b.successes;
    s.consecutive_failures = b.failures;
    s.passive_failures = b.passive_failures;
    s.last_change_ms = b.last_change_ms;
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::unique_ptr<const DispatchSnapshot>> BackendPool::buildSnapshot() {
  bool any_weight = false;
  for (const Backend& b : backends_) {
    any_weight |= !b.removed && b.config.weight > 0;
  }
  if (table_dirty_) {
    if (!any_weight) {
      table_.reset();
    } else {
      // The table covers every present weighted backend whatever its health, so health
      // changes never reshuffle keys: a Down backend's keys go to their per-slot fallback.
      std::vector<MaglevBackend> input;
      input.reserve(backends_.size());
      for (const Backend& b : backends_) {
        input.push_back(MaglevBackend{b.id, b.removed ? 0 : b.config.weight, b.seed});
      }
      auto built = MaglevTable::build(input, table_size_);
      if (!built.ok()) {
        return built.status();
      }
      table_ = std::make_shared<const MaglevTable>(std::move(built).value());
    }
    table_dirty_ = false;
  }
  std::vector<uint8_t> flags(backends_.size(), 0);
  for (size_t i = 0; i < backends_.size(); ++i) {
    const BackendState s = effective(backends_[i]);
    if (s != BackendState::Down) {
      flags[i] |= kBackendAlive;
    }
    if (s == BackendState::Up && backends_[i].config.weight > 0) {
      flags[i] |= kBackendAccepting;
    }
  }
  return std::unique_ptr<const DispatchSnapshot>(
      new DispatchSnapshot(++version_, table_, std::move(flags)));
}

}  // namespace sipshield::lb
