#pragma once

#include <memory>
#include <vector>

#include "filters/address.h"
#include "filters/packet_meta.h"
#include "filters/prefix_map.h"

namespace sipshield::filters {

// AclConfig is the [shield.acl] rule: CIDR allow and deny lists (IPv4 and IPv6, from the config
// and from files, 100k+ prefixes), matched longest prefix first; for the same prefix deny wins.
// A source no prefix covers gets `default_allow`. Immutable once built.
struct AclConfig {
  RuleHeader header{"acl", {}, false, 0xffff};
  std::vector<Prefix> allow;
  std::vector<Prefix> deny;
  bool default_allow = true;
  std::shared_ptr<const PrefixMap> map;  // built by build(): 0 = allow, 1 = deny

  // enabled says whether the ACL can deny anything.
  [[nodiscard]] bool enabled() const { return !deny.empty() || !default_allow; }
  // build compiles the lists into `map`. Control plane only.
  void build();
};

// aclDenies says whether `config` denies `source`. Thread-safe, allocation-free; ~10-30 ns.
[[nodiscard]] inline bool aclDenies(const AclConfig& config, const Address& source) {
  const uint32_t value = config.map->lookup(source);
  return value == PrefixMap::kNoMatch ? !config.default_allow : value == 1;
}

}  // namespace sipshield::filters
