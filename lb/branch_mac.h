#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lb/result.h"

namespace sipshield::lb {

// Our Via branch is "z9hG4bK" (RFC 3261 §8.1.1.7 magic cookie) + "-ss" + one key-id character
// ('0'-'9', 'a'-'f') + 16 lower-case hex digits of a 64-bit MAC: always kBranchLength bytes.
inline constexpr std::string_view kBranchPrefix = "z9hG4bK-ss";
inline constexpr size_t kBranchMacHexLength = 16;
inline constexpr size_t kBranchLength = kBranchPrefix.size() + 1 + kBranchMacHexLength;  // 27
// kMinBranchSecretLength is the shortest accepted config secret; SipHash keys are 16 bytes.
inline constexpr size_t kMinBranchSecretLength = 16;
// kMaxBranchKeyId is the largest key id (one hex digit in the branch).
inline constexpr uint8_t kMaxBranchKeyId = 15;

// BranchVerdict is the outcome of BranchSigner::verifyBranch.
enum class BranchVerdict : uint8_t {
  // Valid: made by us with the current key.
  Valid,
  // ValidPreviousKey: made by us with the previous key (during a secret rotation).
  ValidPreviousKey,
  // NotOurs: not of our format (wrong prefix, length or characters).
  NotOurs,
  // UnknownKey: our format, but a key id we no longer (or never) had.
  UnknownKey,
  // BadMac: our format and key, but the MAC does not match: forged or modified.
  BadMac,
};

// branchVerdictOk returns whether `v` means the response may be forwarded.
[[nodiscard]] constexpr bool branchVerdictOk(BranchVerdict v) {
  return v == BranchVerdict::Valid || v == BranchVerdict::ValidPreviousKey;
}

// BranchSigner makes and checks the branch of the Via we insert on forwarded requests
// (DESIGN.md, RFC 3261 §16.11 stateless proxy). The branch is a keyed MAC over the client's
// top-Via branch and the Call-ID:
//   - it is a pure function of the request, so retransmissions, a CANCEL and a non-2xx ACK
//     (which carry the client's INVITE branch, RFC 3261 §9.1, §17.1.1.3) get the same branch
//     as the INVITE, as a stateless proxy must produce (§16.11); the method is therefore NOT
//     an input;
//   - a response carries our Via on top, the client's Via second and the same Call-ID, so the
//     MAC can be recomputed from the response alone: a response whose top branch does not
//     verify was not caused by a request we forwarded (forged or reflected) and is dropped.
//
// MAC construction (SipHash-2-4, libsodium crypto_shorthash, three 16-byte subkeys derived
// from the secret with BLAKE2b): t1 = SipHash_k1(client_branch), t2 = SipHash_k2(call_id),
// mac = SipHash_k0(t1 || t2). Hashing the two fields separately avoids both an ambiguous
// concatenation and a length limit (no copy into a bounded buffer).
//
// Key rotation: the signer holds the current key and optionally the previous one, each with a
// key id 0..15 written into the branch. Branches are always made with the current key; both
// keys verify, so transactions in flight survive a rotation.
//
// Thread-safety: immutable after create(); sign/verify may be called concurrently. Neither
// allocates. Key material is wiped on destruction.
class BranchSigner {
 public:
  // create derives the keys. `current_secret` (>= kMinBranchSecretLength bytes, from config)
  // with id `current_id`; `previous_secret` may be empty (no previous key), else it must be
  // long enough and `previous_id` must differ from `current_id`. Ids are <= kMaxBranchKeyId.
  // Returns the signer, or InvalidArgument, or FailedPrecondition if libsodium fails to init.
  [[nodiscard]] static Result<BranchSigner> create(std::span<const uint8_t> current_secret,
                                                   uint8_t current_id,
                                                   std::span<const uint8_t> previous_secret = {},
                                                   uint8_t previous_id = 0);

  BranchSigner(const BranchSigner& other) = default;
  BranchSigner& operator=(const BranchSigner& other) = default;
  ~BranchSigner();

  // makeBranch writes our branch for a request whose top Via branch is `client_branch` (empty if
  // the client sent none) and whose Call-ID is `call_id` into `out`.
  // Returns kBranchLength, or 0 when out.size() < kBranchLength (nothing written).
  [[nodiscard]] size_t makeBranch(std::string_view client_branch, std::string_view call_id,
                                  std::span<char> out) const;

  // verifyBranch checks that `our_branch` (the branch of the response's top Via) is one we made
  // for `client_branch` (the branch of the response's second Via) and `call_id`. The MAC is
  // compared in constant time (sodium_memcmp).
  // Returns Valid / ValidPreviousKey, or NotOurs / UnknownKey / BadMac (drop the response).
  [[nodiscard]] BranchVerdict verifyBranch(std::string_view our_branch,
                                           std::string_view client_branch,
                                           std::string_view call_id) const;

  // currentKeyId returns the id written into new branches.
  [[nodiscard]] uint8_t currentKeyId() const { return keys_[0].id; }

 private:
  struct Key {
    std::array<uint8_t, 16> k0{};
    std::array<uint8_t, 16> k1{};
    std::array<uint8_t, 16> k2{};
    uint8_t id = 0;
    bool present = false;
  };

  BranchSigner() = default;
  static bool deriveKey(std::span<const uint8_t> secret, uint8_t id, Key& key);
  static void macHex(const Key& key, std::string_view client_branch, std::string_view call_id,
                     char* hex_out);

  std::array<Key, 2> keys_{};  // [0] current, [1] previous
};

}  // namespace sipshield::lb
