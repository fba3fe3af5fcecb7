#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filters/address.h"
#include "filters/prefix_map.h"

namespace sipshield::filters {

// OperatorBan is a ban an operator set (sipshieldctl bans add): a prefix, until when, and why.
struct OperatorBan {
  Prefix prefix;
  uint64_t expires_ms = 0;  // monotonic ms (the workers' clock); 0 = until lifted
  std::string reason;
};

// LiftedBan asks every worker to remove its automatic ban of exactly `prefix` if that ban was
// set at or before `lifted_at_ms`.
struct LiftedBan {
  Prefix prefix;
  uint64_t lifted_at_ms = 0;
};

// OperatorBans is the immutable set of operator bans and lifts that rides in the runtime
// snapshot (the control loop publishes a new one on every change; workers see it at their next
// burst). Thread-safe after construction: lookups are allocation-free.
class OperatorBans {
 public:
  // OperatorBans builds the lookup structure. Control plane only (allocates).
  OperatorBans(std::vector<OperatorBan> bans, std::vector<LiftedBan> lifted);

  // match returns the longest active operator ban holding `address`, or nullptr.
  [[nodiscard]] const OperatorBan* match(const Address& address, uint64_t now_ms) const {
    const uint32_t index = map_.lookup(address);
    if (index == PrefixMap::kNoMatch) {
      return nullptr;
    }
    const OperatorBan& ban = bans_[index];
    return ban.expires_ms == 0 || ban.expires_ms > now_ms ? &ban : nullptr;
  }
  [[nodiscard]] const std::vector<OperatorBan>& bans() const { return bans_; }
  [[nodiscard]] const std::vector<LiftedBan>& lifted() const { return lifted_; }

 private:
  std::vector<OperatorBan> bans_;
  std::vector<LiftedBan> lifted_;
  PrefixMap map_;
};

// BanRegistry is the control thread's editable list behind OperatorBans: add, remove, prune,
// then snapshot() to publish. Not thread-safe (control thread only).
class BanRegistry {
 public:
  // add bans `prefix` for `seconds` from `now_ms` (0 = until removed), replacing an operator
  // ban of the same prefix.
  void add(const Prefix& prefix, uint64_t now_ms, uint32_t seconds, std::string reason);

  // remove lifts the operator ban of exactly `prefix` (if any) and asks the workers to lift
  // their automatic bans of it. Returns true when an operator ban was removed.
  bool remove(const Prefix& prefix, uint64_t now_ms);

  // prune forgets expired bans, and lifts older than `keep_lifts_ms` (by then every worker has
  // seen them).
  void prune(uint64_t now_ms, uint64_t keep_lifts_ms = 60'000);

  // snapshot builds the immutable set to publish.
  [[nodiscard]] std::shared_ptr<const OperatorBans> snapshot() const;

  [[nodiscard]] const std::vector<OperatorBan>& bans() const { return bans_; }

 private:
  std::vector<OperatorBan> bans_;
  std::vector<LiftedBan> lifted_;
};

}  // namespace sipshield::filters
