#include "lb/branch_mac.h"

#include <sodium.h>

#include <cstring>

#include "parser/siphash.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::lb {
namespace {

static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 key is 16 bytes");
static_assert(crypto_shorthash_BYTES == 8, "SipHash-2-4 output is 8 bytes");

constexpr char kHexDigits[] = "0123456789abcdef";

// hexValue returns the value of a lower-case hex digit, or -1. Branch text is ours, so upper
// case is not accepted: it cannot have been produced by makeBranch.
int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// allLowerHex says whether the 16 bytes at `text` are all lower-case hex digits: with SSE2 in
// one pass of compares, otherwise a digit at a time. Runs once per response.
bool allLowerHex(const char* text) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text));
  // Signed compares: bytes above 0x7F are negative and fail both ranges.
  const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                       _mm_cmplt_epi8(v, _mm_set1_epi8('f' + 1)));
  return _mm_movemask_epi8(_mm_or_si128(digit, letter)) == 0xFFFF;
#else
  for (size_t i = 0; i < kBranchMacHexLength; ++i) {
    if (hexValue(text[i]) < 0) {
      return false;
    }
  }
  return true;
#endif
}

// sameMacText compares two 16-character MACs in constant time: no branch or early exit on
// their bytes (what sodium_memcmp guarantees, without its call and byte loop).
bool sameMacText(const char* a, const char* b) {
  uint64_t a0;
  uint64_t a1;
  uint64_t b0;
  uint64_t b1;
  std::memcpy(&a0, a, 8);
  std::memcpy(&a1, a + 8, 8);
  std::memcpy(&b0, b, 8);
  std::memcpy(&b1, b + 8, 8);
  uint64_t difference = (a0 ^ b0) | (a1 ^ b1);
  asm("" : "+r"(difference));  // opaque: the compiler cannot split it into two early exits
  return difference == 0;
}

// writeHex16 writes the 16 lower-case hex digits of the 8 bytes at `bytes`, high nibble first:
// with SSE2, all 16 at once (nibbles split and interleaved, then '0' + n, plus 39 past 9),
// instead of a table lookup per digit. Runs once per forwarded request.
void writeHex16(const uint8_t* bytes, char* out) {
#if defined(__SSE2__)
  const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes));
  const __m128i low_nibbles = _mm_set1_epi8(0x0F);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), low_nibbles);
  const __m128i low = _mm_and_si128(raw, low_nibbles);
  const __m128i nibbles = _mm_unpacklo_epi8(high, low);  // hi0 lo0 hi1 lo1 ...
  const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)),
                                        _mm_set1_epi8('a' - '0' - 10));
  const __m128i text = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), text);
#else
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xF];
  }
#endif
}

}  // namespace

bool BranchSigner::deriveKey(std::span<const uint8_t> secret, uint8_t id, Key& key) {
  // Keyed BLAKE2b over a context label per format: 48 bytes, three independent SipHash keys
  // for ThreeHash, and 16 bytes for OnePass. (A new label, not a longer v1 output: BLAKE2b's
  // output length is a parameter, so 64 bytes under the v1 label would change k0..k2.)
  static constexpr char kThreeHashLabel[] = "sipshield via-branch mac v1";
  static constexpr char kOnePassLabel[] = "sipshield via-branch mac v2";
  uint8_t out[48];
  if (crypto_generichash(out, sizeof(out), reinterpret_cast<const uint8_t*>(kThreeHashLabel),
                         sizeof(kThreeHashLabel) - 1, secret.data(), secret.size()) != 0 ||
      crypto_generichash(key.one_pass.data(), key.one_pass.size(),
                         reinterpret_cast<const uint8_t*>(kOnePassLabel), sizeof(kOnePassLabel) - 1,
                         secret.data(), secret.size()) != 0) {
    sodium_memzero(out, sizeof(out));
    return false;
  }
  std::memcpy(key.k0.data(), out, 16);
  std::memcpy(key.k1.data(), out + 16, 16);
  std::memcpy(key.k2.data(), out + 32, 16);
  sodium_memzero(out, sizeof(out));
  key.id = id;
  key.present = true;
  return true;
}

Result<BranchSigner> BranchSigner::create(std::span<const uint8_t> current_secret,
                                          uint8_t current_id,
                                          std::span<const uint8_t> previous_secret,
                                          uint8_t previous_id, BranchFormat format) {
  if (sodium_init() < 0) {
    return Status(StatusCode::FailedPrecondition, "branch mac: libsodium init failed");
  }
  // crypto_generichash takes keys of 16..64 bytes; longer secrets are hashed down first.
  auto check = [](std::span<const uint8_t> s, uint8_t id, const char* which) -> Status {
    if (s.size() < kMinBranchSecretLength) {
      return Status(StatusCode::InvalidArgument,
                    std::string("branch mac: ") + which + " secret shorter than 16 bytes");
    }
    if (id > kMaxBranchKeyId) {
      return Status(StatusCode::InvalidArgument,
                    std::string("branch mac: ") + which + " key id above 15");
    }
    return Status();
  };
  Status st = check(current_secret, current_id, "current");
  if (!st.ok()) {
    return st;
  }
  if (!previous_secret.empty()) {
    st = check(previous_secret, previous_id, "previous");
    if (!st.ok()) {
      return st;
    }
    if (previous_id == current_id) {
      return Status(StatusCode::InvalidArgument,
                    "branch mac: previous key id equals the current key id");
    }
  }
  if (format != BranchFormat::ThreeHash && format != BranchFormat::OnePass) {
    return Status(StatusCode::InvalidArgument, "branch mac: unknown branch format");
  }
  BranchSigner signer;
  signer.format_ = format;
  auto derive = [](std::span<const uint8_t> secret, uint8_t id, Key& key) {
    uint8_t digest[crypto_generichash_KEYBYTES_MAX];
    if (secret.size() > crypto_generichash_KEYBYTES_MAX) {
      crypto_generichash(digest, sizeof(digest), secret.data(), secret.size(), nullptr, 0);
      secret = std::span<const uint8_t>(digest, sizeof(digest));
    }
    const bool ok = deriveKey(secret, id, key);
    sodium_memzero(digest, sizeof(digest));
    return ok;
  };
  if (!derive(current_secret, current_id, signer.keys_[0])) {
    return Status(StatusCode::FailedPrecondition, "branch mac: key derivation failed");
  }
  if (!previous_secret.empty() && !derive(previous_secret, previous_id, signer.keys_[1])) {
    return Status(StatusCode::FailedPrecondition, "branch mac: key derivation failed");
  }
  return signer;
}

BranchSigner::~BranchSigner() { sodium_memzero(keys_.data(), sizeof(keys_)); }

void BranchSigner::macHex(const Key& key, BranchFormat format, std::string_view client_branch,
                          std::string_view call_id, char* hex_out) {
  uint8_t mac[8];
  if (format == BranchFormat::OnePass) {
    parser::SipHash24 hash(key.one_pass.data());
    const auto length = static_cast<uint32_t>(client_branch.size());
    const uint8_t length_bytes[4] = {
        static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
        static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 24)};
    hash.update(length_bytes, sizeof(length_bytes));
    hash.update(client_branch.data(), client_branch.size());
    hash.update(call_id.data(), call_id.size());
    const uint64_t value = hash.finish();
    for (size_t i = 0; i < sizeof(mac); ++i) {
      mac[i] = static_cast<uint8_t>(value >> (8 * i));  // libsodium's byte order
    }
  } else {
    uint8_t inner[16];
    crypto_shorthash(inner, reinterpret_cast<const uint8_t*>(client_branch.data()),
                     client_branch.size(), key.k1.data());
    crypto_shorthash(inner + 8, reinterpret_cast<const uint8_t*>(call_id.data()), call_id.size(),
                     key.k2.data());
    crypto_shorthash(mac, inner, sizeof(inner), key.k0.data());
  }
  writeHex16(mac, hex_out);
}

size_t BranchSigner::makeBranch(std::string_view client_branch, std::string_view call_id,
                                std::span<char> out) const {
  if (out.size() < kBranchLength) {
    return 0;
  }
  const std::string_view prefix =
      format_ == BranchFormat::OnePass ? kBranchPrefix : kLegacyBranchPrefix;
  char* p = out.data();
  std::memcpy(p, prefix.data(), prefix.size());
  p += prefix.size();
  *p++ = kHexDigits[keys_[0].id];
  macHex(keys_[0], format_, client_branch, call_id, p);
  return kBranchLength;
}

BranchVerdict BranchSigner::verifyBranch(std::string_view our_branch,
                                         std::string_view client_branch,
                                         std::string_view call_id) const {
  if (our_branch.size() != kBranchLength) {
    return BranchVerdict::NotOurs;
  }
  const std::string_view prefix = our_branch.substr(0, kBranchPrefix.size());
  BranchFormat format;
  if (prefix == kBranchPrefix) {
    format = BranchFormat::OnePass;
  } else if (prefix == kLegacyBranchPrefix) {
    format = BranchFormat::ThreeHash;
  } else {
    return BranchVerdict::NotOurs;
  }
  const int id = hexValue(our_branch[kBranchPrefix.size()]);
  if (id < 0) {
    return BranchVerdict::NotOurs;
  }
  const std::string_view mac_text = our_branch.substr(kBranchPrefix.size() + 1);
  static_assert(kBranchMacHexLength == 16, "allLowerHex and sameMacText take 16 characters");
  if (!allLowerHex(mac_text.data())) {
    return BranchVerdict::NotOurs;
  }
  for (size_t k = 0; k < keys_.size(); ++k) {
    const Key& key = keys_[k];
    if (!key.present || key.id != id) {
      continue;
    }
    char expected[kBranchMacHexLength];
    macHex(key, format, client_branch, call_id, expected);
    if (!sameMacText(expected, mac_text.data())) {
      return BranchVerdict::BadMac;
    }
    return k == 0 ? BranchVerdict::Valid : BranchVerdict::ValidPreviousKey;
  }
  return BranchVerdict::UnknownKey;
}

}  // namespace sipshield::lb
