#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "filters/address.h"
#include "filters/nonce_table.h"
#include "parser/validate.h"

namespace sipshield::filters {

// VerifyConfig says what proves return routability (issue 4 "Spoof detection"): a source that
// answered a challenge can receive at the address it sends from, so it is not spoofed.
struct VerifyConfig {
  // A request whose Authorization/Proxy-Authorization nonce is one a backend's 401/407
  // challenged this very source address with, relayed by us (NonceTable): it received our
  // relayed response. A nonce nobody challenged it with proves nothing.
  bool by_authorization = true;
  bool by_ack = true;            // an ACK with a To-tag (it received our relayed response)
  uint32_t ttl_s = 3600;         // how long a source stays verified after its last proof
  uint32_t nonce_ttl_s = 900;    // how long a relayed challenge's nonce can be answered
};

// provesReturnRoutability says whether `message`, a request from `source` at `now_ms`, is a
// proof under `config`: an ACK with a To-tag (by_ack), or (by_authorization) Digest
// credentials whose nonce `nonces` recorded for `source` and still holds. Every
// Authorization and Proxy-Authorization line is tried. Thread-safe (the table is lock-free);
// allocation-free.
[[nodiscard]] bool provesReturnRoutability(const VerifyConfig& config, parser::ByteView in,
                                           const parser::SipMessage& message,
                                           const parser::SipSummary& summary,
                                           const NonceTable& nonces, const Address& source,
                                           uint64_t now_ms);

// recordChallenges records in `nonces` the nonce of every Digest challenge (WWW-Authenticate,
// Proxy-Authenticate) of `message`, a 401 or 407 response relayed toward `client`, until
// `expires_ms`. Returns how many it recorded (0 for other responses). Thread-safe.
uint32_t recordChallenges(parser::ByteView in, const parser::SipMessage& message,
                          const Address& client, uint64_t expires_ms, NonceTable& nonces);

// VerifiedSet is one worker's bounded set of verified source addresses with expiry:
// set-associative, the entry expiring first makes room. Not thread-safe: one per worker.
class VerifiedSet {
 public:
  static constexpr uint32_t kWays = 4;

  // VerifiedSet allocates `capacity` slots (power of two, >= kWays) once.
  explicit VerifiedSet(uint32_t capacity);

  // mark records `address` as verified until `expires_ms`.
  void mark(const Address& address, uint64_t expires_ms);
  // contains says whether `address` is verified at `now_ms`.
  [[nodiscard]] bool contains(const Address& address, uint64_t now_ms) const;

  [[nodiscard]] uint32_t capacity() const { return set_mask_ * kWays + kWays; }
  [[nodiscard]] size_t memoryBytes() const { return sizeof(Entry) * capacity(); }

 private:
  struct Entry {
    uint64_t key = 0;
    uint64_t expires_ms = 0;
    Address address;
  };
  Entry* set(uint64_t key) const {
    return &entries_[(static_cast<uint32_t>(key >> 32) & set_mask_) * kWays];
  }

  std::unique_ptr<Entry[]> entries_;
  uint32_t set_mask_ = 0;
};

}  // namespace sipshield::filters
