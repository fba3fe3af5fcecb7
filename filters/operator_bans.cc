#include "filters/operator_bans.h"

#include <algorithm>

namespace sipshield::filters {

OperatorBans::OperatorBans(std::vector<OperatorBan> bans, std::vector<LiftedBan> lifted)
    : bans_(std::move(bans)), lifted_(std::move(lifted)) {
  std::vector<PrefixMap::Entry> entries;
  entries.reserve(bans_.size());
  for (size_t i = 0; i < bans_.size(); ++i) {
    entries.push_back({bans_[i].prefix, static_cast<uint32_t>(i)});
  }
  map_.build(std::move(entries));
}

void BanRegistry::add(const Prefix& prefix, uint64_t now_ms, uint32_t seconds,
                      std::string reason) {
  const uint64_t expires = seconds == 0 ? 0 : now_ms + uint64_t{seconds} * 1000;
  for (OperatorBan& ban : bans_) {
    if (ban.prefix == prefix) {
      ban.expires_ms = expires;
      ban.reason = std::move(reason);
      return;
    }
  }
  bans_.push_back({prefix, expires, std::move(reason)});
}

bool BanRegistry::remove(const Prefix& prefix, uint64_t now_ms) {
  const auto it = std::find_if(bans_.begin(), bans_.end(),
                               [&](const OperatorBan& b) { return b.prefix == prefix; });
  const bool found = it != bans_.end();
  if (found) {
    bans_.erase(it);
  }
  lifted_.push_back({prefix, now_ms});
  return found;
}

void BanRegistry::prune(uint64_t now_ms, uint64_t keep_lifts_ms) {
  std::erase_if(bans_, [&](const OperatorBan& b) {
    return b.expires_ms != 0 && b.expires_ms <= now_ms;
  });
  std::erase_if(lifted_, [&](const LiftedBan& l) { return l.lifted_at_ms + keep_lifts_ms < now_ms; });
}

std::shared_ptr<const OperatorBans> BanRegistry::snapshot() const {
  return std::make_shared<const OperatorBans>(bans_, lifted_);
}

}  // namespace sipshield::filters
