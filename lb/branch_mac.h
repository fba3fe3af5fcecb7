#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lb/result.h"

namespace sipshield::lb {

// Our Via branch is "z9hG4bK" (RFC 3261 §8.1.1.7 magic cookie) + "-s" + a format character +
// one key-id character ('0'-'9', 'a'-'f') + 16 lower-case hex digits of a 64-bit MAC: always
// kBranchLength bytes. The format character says how the MAC was made (BranchFormat).
inline constexpr std::string_view kBranchPrefix = "z9hG4bK-s2";        // BranchFormat::OnePass
inline constexpr std::string_view kLegacyBranchPrefix = "z9hG4bK-ss";  // BranchFormat::ThreeHash
inline constexpr size_t kBranchMacHexLength = 16;
inline constexpr size_t kBranchLength = kBranchPrefix.size() + 1 + kBranchMacHexLength;  // 27
static_assert(kLegacyBranchPrefix.size() == kBranchPrefix.size(), "both formats are 27 bytes");
// kMinBranchSecretLength is the shortest accepted config secret; SipHash keys are 16 bytes.
inline constexpr size_t kMinBranchSecretLength = 16;
// kMaxBranchKeyId is the largest key id (one hex digit in the branch).
inline constexpr uint8_t kMaxBranchKeyId = 15;

// BranchFormat is how new branches are made; both are always verified.
enum class BranchFormat : uint8_t {
  // ThreeHash ("z9hG4bK-ss", config branch_format = 1): mac = SipHash_k0(SipHash_k1(client
  // branch) || SipHash_k2(Call-ID)). The format of sipshield before 2026-12-07: a cluster that
  // still runs such instances keeps it until all of them verify OnePass.
  ThreeHash = 1,
  // OnePass ("z9hG4bK-s2", config branch_format = 2, the default): mac = SipHash_k(le32(length
  // of the client branch) || client branch || Call-ID). The length prefix keeps the
  // concatenation unambiguous; one hash is 24 SipRounds where ThreeHash takes 38.
  OnePass = 2,
};

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
// MAC construction: SipHash-2-4 (keys derived from the secret with BLAKE2b), in one of the two
// BranchFormats above. Neither copies the fields into a bounded buffer.
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
  // New branches are made in `format`; branches of either format verify.
  // Returns the signer, or InvalidArgument, or FailedPrecondition if libsodium fails to init.
  [[nodiscard]] static Result<BranchSigner> create(std::span<const uint8_t> current_secret,
                                                   uint8_t current_id,
                                                   std::span<const uint8_t> previous_secret = {},
                                                   uint8_t previous_id = 0,
                                                   BranchFormat format = BranchFormat::OnePass);

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
  // compared in constant time.
  // Returns Valid / ValidPreviousKey, or NotOurs / UnknownKey / BadMac (drop the response).
  [[nodiscard]] BranchVerdict verifyBranch(std::string_view our_branch,
                                           std::string_view client_branch,
                                           std::string_view call_id) const;

  // currentKeyId returns the id written into new branches.
  [[nodiscard]] uint8_t currentKeyId() const { return keys_[0].id; }

 private:
  struct Key {
    std::array<uint8_t, 16> k0{};  // ThreeHash's outer key
    std::array<uint8_t, 16> k1{};  // ThreeHash's client-branch key
    std::array<uint8_t, 16> k2{};  // ThreeHash's Call-ID key
    std::array<uint8_t, 16> one_pass{};  // OnePass's key
    uint8_t id = 0;
    bool present = false;
  };

  BranchSigner() = default;
  static bool deriveKey(std::span<const uint8_t> secret, uint8_t id, Key& key);
  static void macHex(const Key& key, BranchFormat format, std::string_view client_branch,
                     std::string_view call_id, char* hex_out);

  std::array<Key, 2> keys_{};  // [0] current, [1] previous
  BranchFormat format_ = BranchFormat::OnePass;
};

}  // namespace sipshield::lb
