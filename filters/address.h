#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sipshield::filters {

// Uint128 holds an IPv6 address as one integer (GCC/Clang extension; __extension__ keeps
// -Wpedantic quiet).
__extension__ typedef unsigned __int128 Uint128;

// Address is an IPv4 or IPv6 source address as plain bytes in network order (IPv4 in
// bytes[0..3], the rest zero). filters/ keeps its own type so it depends on no socket header;
// the pipeline copies net::IpAddress into it (16 bytes, no branch).
struct Address {
  uint8_t v6 = 0;  // 0 = IPv4, 1 = IPv6
  uint8_t bytes[16] = {};

  // v4 makes an IPv4 address from a host-order value. Thread-safe.
  static Address v4(uint32_t host_order) {
    Address a;
    a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<uint8_t>(host_order);
    return a;
  }
  // fromBytes copies 4 (IPv4) or 16 (IPv6) network-order bytes.
  static Address fromBytes(bool is_v6, const uint8_t* raw) {
    Address a;
    a.assign(is_v6, raw);
    return a;
  }
  // assign is fromBytes into this address, the rest of an IPv4 address zeroed. In place, for
  // the per-packet path: a returned Address is built on the stack and copied with loads wider
  // than its stores, which wait for them (no store forwarding).
  void assign(bool is_v6, const uint8_t* raw) {
    v6 = is_v6 ? 1 : 0;
    std::memcpy(bytes, raw, 4);
    if (is_v6) {
      std::memcpy(bytes + 4, raw + 4, 12);
    } else {
      std::memset(bytes + 4, 0, 12);
    }
  }
  // maxLength is the address width in bits: 32 or 128.
  [[nodiscard]] uint8_t maxLength() const { return v6 ? 128 : 32; }
  // v4Value is the IPv4 address in host order (meaningless for IPv6).
  [[nodiscard]] uint32_t v4Value() const {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           bytes[3];
  }
  // v6Value is the IPv6 address as one 128-bit host-order integer.
  [[nodiscard]] Uint128 v6Value() const {
    Uint128 v = 0;
    for (uint8_t b : bytes) {
      v = (v << 8) | b;
    }
    return v;
  }
  friend bool operator==(const Address& a, const Address& b) {
    return a.v6 == b.v6 && std::memcmp(a.bytes, b.bytes, 16) == 0;
  }
};

// Prefix is a CIDR block: an address with every bit past `length` zero.
struct Prefix {
  Address address;
  uint8_t length = 0;

  friend bool operator==(const Prefix& a, const Prefix& b) {
    return a.length == b.length && a.address == b.address;
  }
};

// maskAddress zeroes every bit of `address` past the first `length` bits (clamped to the
// address width). Thread-safe, allocation-free.
[[nodiscard]] Address maskAddress(const Address& address, uint8_t length);

// prefixOf is the CIDR block of `length` bits that holds `address`.
[[nodiscard]] inline Prefix prefixOf(const Address& address, uint8_t length) {
  const uint8_t clamped = length > address.maxLength() ? address.maxLength() : length;
  return Prefix{maskAddress(address, clamped), clamped};
}

// hashPrefix hashes the block of `length` bits holding `address`, its family and length, with
// `seed`, to 64 well-mixed bits (the table keys of every per-worker table). Thread-safe,
// allocation-free, a few ns.
[[nodiscard]] uint64_t hashPrefix(const Address& address, uint8_t length, uint64_t seed);

// mix64 is a bijective 64-bit finaliser (splitmix64): the hash building block of filters/.
[[nodiscard]] inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// hashName hashes a rule name (FNV-1a then mix64): a rule's identity across reloads.
[[nodiscard]] uint64_t hashName(std::string_view name);

// parseAddress reads an IPv4 or IPv6 literal (no brackets, no port). Returns false when
// `text` is not one. Thread-safe; control plane only (it allocates).
[[nodiscard]] bool parseAddress(std::string_view text, Address& out);

// parsePrefix reads "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128).
// Returns "" on success, else why it is not a prefix ("host bits set past /24", ...).
// Thread-safe; control plane only.
[[nodiscard]] std::string parsePrefix(std::string_view text, Prefix& out);

// formatAddress prints the literal ("192.0.2.1", "2001:db8::1"). Control plane only.
[[nodiscard]] std::string formatAddress(const Address& address);

// formatPrefix prints "192.0.2.0/24" (a full-length prefix prints as the bare address).
[[nodiscard]] std::string formatPrefix(const Prefix& prefix);

}  // namespace sipshield::filters
