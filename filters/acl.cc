#include "filters/acl.h"

namespace sipshield::filters {

void AclConfig::build() {
  std::vector<PrefixMap::Entry> entries;
  entries.reserve(allow.size() + deny.size());
  for (const Prefix& p : allow) {
    entries.push_back({p, 0});
  }
  // Deny after allow: for an identical prefix the later entry wins.
  for (const Prefix& p : deny) {
    entries.push_back({p, 1});
  }
  auto built = std::make_shared<PrefixMap>();
  built->build(std::move(entries));
  map = std::move(built);
}

}  // namespace sipshield::filters
