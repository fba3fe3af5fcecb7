#include "src/snapshot_builder.h"

#include <string_view>

#include "lb/dispatcher.h"

namespace sipshield {

Result<std::unique_ptr<RuntimeSnapshot>> buildRuntimeSnapshot(const SnapshotInputs& inputs) {
  auto dispatch = inputs.pool->buildSnapshot();
  if (!dispatch.ok()) {
    return invalidArgument("balancer.maglev_table_size: " + dispatch.status().message());
  }
  const Config& config = *inputs.config;
  auto snapshot = std::make_unique<RuntimeSnapshot>();
  snapshot->dispatch = std::shared_ptr<const lb::DispatchSnapshot>(std::move(dispatch.value()));
  for (const lb::BackendStatus& b : inputs.pool->status()) {
    snapshot->backend_addresses.push_back(
        net::Endpoint::parse(b.address).value_or(net::Endpoint{}));
  }
  snapshot->indexBackends();
  snapshot->locals = *inputs.locals;
  snapshot->signer = inputs.signer;
  snapshot->key_kind = toKeyKind(config.balancer.key);
  snapshot->record_route = config.balancer.record_route;
  snapshot->tag_seed = inputs.tag_seed;
  // DoS shield (issue 4): rules shared read-only; buckets, sketch and bans stay per worker.
  snapshot->shield = config.shield.rules;
  snapshot->operator_bans = inputs.operator_bans;
  snapshot->version = inputs.version;
  return Result<std::unique_ptr<RuntimeSnapshot>>(std::move(snapshot));
}

Result<std::shared_ptr<const lb::BranchSigner>> makeBranchSigner(const BalancerConfig& balancer) {
  // Key ids rotate with the secret: the previous secret verifies with id 0, the current with 1.
  const auto format = balancer.branch_format == 1 ? lb::BranchFormat::ThreeHash
                                                  : lb::BranchFormat::OnePass;
  auto signer =
      lb::BranchSigner::create(balancer.secret, 1, balancer.previous_secret, 0, format);
  if (!signer.ok()) {
    return invalidArgument("balancer.secret: " + signer.status().message());
  }
  return std::make_shared<const lb::BranchSigner>(std::move(signer.value()));
}

uint64_t replyTagSeed(const BalancerConfig& balancer) {
  return lb::hashCallId(std::string_view(reinterpret_cast<const char*>(balancer.secret.data()),
                                         balancer.secret.size()));
}

}  // namespace sipshield
