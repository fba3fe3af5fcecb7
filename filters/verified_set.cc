#include "filters/verified_set.h"

#include <bit>

namespace sipshield::filters {
namespace {

constexpr uint64_t kVerifiedSeed = 0x7e1f1edull;

bool hasNonce(std::string_view value) {
  // Digest credentials (RFC 3261 §22.4, RFC 2617 §3.2.2): look for the nonce parameter.
  for (size_t i = 0; i + 6 <= value.size(); ++i) {
    if ((value[i] == 'n' || value[i] == 'N') && value.substr(i + 1, 4) == "once") {
      size_t j = i + 5;
      while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) {
        ++j;
      }
      if (j < value.size() && value[j] == '=') {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

bool provesReturnRoutability(const VerifyConfig& config, parser::ByteView in,
                             const parser::SipMessage& message,
                             const parser::SipSummary& summary) {
  if (!message.isRequest()) {
    return false;
  }
  if (config.by_ack && message.method == parser::Method::Ack && !summary.to_tag.empty()) {
    return true;
  }
  if (config.by_authorization) {
    for (parser::HeaderId id : {parser::HeaderId::Authorization,
                                parser::HeaderId::ProxyAuthorization}) {
      if (const parser::HeaderField* field = message.first(id)) {
        if (hasNonce(in.view(field->value))) {
          return true;
        }
      }
    }
  }
  return false;
}

VerifiedSet::VerifiedSet(uint32_t capacity) {
  const uint32_t slots = std::bit_ceil(capacity < kWays ? kWays : capacity);
  set_mask_ = slots / kWays - 1;
  entries_ = std::make_unique<Entry[]>(slots);
}

void VerifiedSet::mark(const Address& address, uint64_t expires_ms) {
  const uint64_t key = hashPrefix(address, address.maxLength(), kVerifiedSeed) | 1;
  Entry* ways = set(key);
  Entry* victim = &ways[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    if (ways[i].key == key && ways[i].address == address) {
      ways[i].expires_ms = expires_ms > ways[i].expires_ms ? expires_ms : ways[i].expires_ms;
      return;
    }
    if (ways[i].expires_ms < victim->expires_ms) {
      victim = &ways[i];
    }
  }
  *victim = Entry{key, expires_ms, address};
}

bool VerifiedSet::contains(const Address& address, uint64_t now_ms) const {
  const uint64_t key = hashPrefix(address, address.maxLength(), kVerifiedSeed) | 1;
  const Entry* ways = set(key);
  for (uint32_t i = 0; i < kWays; ++i) {
    if (ways[i].key == key && ways[i].expires_ms > now_ms && ways[i].address == address) {
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::filters
