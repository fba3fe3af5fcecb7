#include "filters/verified_set.h"

#include <bit>

#include "filters/digest_nonce.h"

namespace sipshield::filters {
namespace {

constexpr uint64_t kVerifiedSeed = 0x7e1f1edull;

// forEachLine calls `fn` with the value of every line of header `id` (Authorization may
// appear once per realm, RFC 3261 §22.4), stopping when it returns true. Returns whether it did.
template <typename Fn>
bool forEachLine(parser::ByteView in, const parser::SipMessage& message, parser::HeaderId id,
                 Fn&& fn) {
  const parser::HeaderField* first = message.first(id);
  if (first == nullptr) {
    return false;
  }
  for (uint16_t i = static_cast<uint16_t>(first - message.headers); i < message.header_count;
       ++i) {
    if (message.headers[i].id == id && fn(in.view(message.headers[i].value))) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool provesReturnRoutability(const VerifyConfig& config, parser::ByteView in,
                             const parser::SipMessage& message,
                             const parser::SipSummary& summary, const NonceTable& nonces,
                             const Address& source, uint64_t now_ms) {
  if (!message.isRequest()) {
    return false;
  }
  if (config.by_ack && message.method == parser::Method::Ack && !summary.to_tag.empty()) {
    return true;
  }
  if (!config.by_authorization) {
    return false;
  }
  auto answers = [&](std::string_view value) {
    std::string_view nonce;
    return findDigestNonce(value, nonce) && nonces.matches(source, nonce, now_ms);
  };
  return forEachLine(in, message, parser::HeaderId::Authorization, answers) ||
         forEachLine(in, message, parser::HeaderId::ProxyAuthorization, answers);
}

uint32_t recordChallenges(parser::ByteView in, const parser::SipMessage& message,
                          const Address& client, uint64_t expires_ms, NonceTable& nonces) {
  if (message.isRequest() || (message.status_code != 401 && message.status_code != 407)) {
    return 0;
  }
  uint32_t recorded = 0;
  auto record = [&](std::string_view value) {
    std::string_view nonce;
    if (findDigestNonce(value, nonce)) {
      nonces.record(client, nonce, expires_ms);
      ++recorded;
    }
    return false;  // every challenge line
  };
  (void)forEachLine(in, message, parser::HeaderId::WwwAuthenticate, record);
  (void)forEachLine(in, message, parser::HeaderId::ProxyAuthenticate, record);
  return recorded;
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
