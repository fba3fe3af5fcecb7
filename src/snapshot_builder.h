#pragma once

// Building the runtime snapshot the workers read, shared by the daemon (Daemon::publishSnapshot)
// and the offline replay (`sipshield replay`), so both run the pipeline on the same picture of
// the configuration.

#include <cstdint>
#include <memory>
#include <vector>

#include "filters/operator_bans.h"
#include "lb/backend_pool.h"
#include "lb/branch_mac.h"
#include "src/config.h"
#include "src/runtime.h"
#include "src/status.h"

namespace sipshield {

// SnapshotInputs is what a RuntimeSnapshot is made of besides the Config: the backend pool's
// current state, our identities, the branch signer and the operator's bans.
struct SnapshotInputs {
  const Config* config = nullptr;      // balancer key, record_route and the shield rules
  lb::BackendPool* pool = nullptr;     // non-const: it caches its Maglev table between builds
  const std::vector<LocalIdentity>* locals = nullptr;
  std::shared_ptr<const lb::BranchSigner> signer;
  uint64_t tag_seed = 0;               // replyTagSeed(config->balancer)
  std::shared_ptr<const filters::OperatorBans> operator_bans;  // null = none
  uint64_t version = 0;
};

// buildRuntimeSnapshot makes the immutable snapshot of `inputs` (all pointers non-null). Not
// thread-safe for one pool (control thread). Returns the snapshot, or kInvalidArgument naming
// balancer.maglev_table_size when the pool cannot build its table.
[[nodiscard]] Result<std::unique_ptr<RuntimeSnapshot>> buildRuntimeSnapshot(
    const SnapshotInputs& inputs);

// makeBranchSigner makes the Via-branch signer of `balancer`: the current secret signs and
// verifies with key id 1, the previous one (if any) verifies with key id 0, so a rotation loses
// no transaction. Thread-safe. Returns kInvalidArgument naming balancer.secret on a bad key.
[[nodiscard]] Result<std::shared_ptr<const lb::BranchSigner>> makeBranchSigner(
    const BalancerConfig& balancer);

// replyTagSeed derives the seed of our stateless replies' To-tags from the secret, so every
// instance sharing the secret answers a retransmission with the same tag. Thread-safe.
[[nodiscard]] uint64_t replyTagSeed(const BalancerConfig& balancer);

}  // namespace sipshield
