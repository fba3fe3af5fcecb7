#include "filters/shared_state.h"

#include <random>

namespace sipshield::filters {

SipHashKey SharedShieldState::randomKey() {
  std::random_device device;
  auto word = [&device] { return (uint64_t{device()} << 32) | device(); };
  SipHashKey key;
  key.k0 = word();
  key.k1 = word();
  return key;
}

}  // namespace sipshield::filters
