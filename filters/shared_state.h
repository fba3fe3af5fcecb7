#pragma once

#include <cstddef>
#include <memory>

#include "filters/nonce_table.h"
#include "filters/overload.h"
#include "filters/shared_ceiling.h"
#include "filters/state_sizes.h"

namespace sipshield::filters {

// SharedShieldState is the little of the shield that every worker shares (all else is per
// worker, STYLE.md "Per-core state only"), because one worker alone cannot see it:
//  - the NonceTable: a 401/407 is relayed by the worker the backend's socket hash picks, the
//    client's answer arrives at the worker its own address hashes to;
//  - the global per-class ceilings (SharedCeilings): a configured rate is the process's;
//  - the backends' 503 signal (BackendLoadSignal): a backend's responses reach one worker,
//    the new INVITEs to shed reach the others.
// Each is lock-free and sized once. Made by the daemon at start with the [shield.tables]
// sizes and handed to every FilterChain (FilterChain::shareState); a FilterChain made alone
// (tests, benchmarks, `sipshield replay`) makes its own.
//
// Thread-safety: every member is safe from any thread (see each class).
class SharedShieldState {
 public:
  // SharedShieldState allocates the nonce table of `sizes.nonces` entries, keyed by `key`.
  SharedShieldState(const StateSizes& sizes, const SipHashKey& key)
      : nonces_(sizes.nonces, key) {}
  SharedShieldState(const SharedShieldState&) = delete;
  SharedShieldState& operator=(const SharedShieldState&) = delete;

  // randomKey draws a SipHash key from the OS (std::random_device). Control plane only.
  [[nodiscard]] static SipHashKey randomKey();

  [[nodiscard]] NonceTable& nonces() { return nonces_; }
  [[nodiscard]] const NonceTable& nonces() const { return nonces_; }
  [[nodiscard]] SharedCeilings& ceilings() { return ceilings_; }
  [[nodiscard]] BackendLoadSignal& backendLoad() { return backend_load_; }

  // memoryBytes is the shared footprint; constant.
  [[nodiscard]] size_t memoryBytes() const {
    return sizeof(*this) + nonces_.memoryBytes() + ceilings_.memoryBytes();
  }

 private:
  NonceTable nonces_;
  SharedCeilings ceilings_;
  BackendLoadSignal backend_load_;
};

}  // namespace sipshield::filters
