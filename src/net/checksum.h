#pragma once

#include <cstddef>
#include <cstdint>

#include "src/net/endpoint.h"

namespace sipshield::net {

// Internet checksums (RFC 1071) for the headers the DPDK backend builds itself: IPv4 header,
// UDP, ICMP and ICMPv6 (with the RFC 768 / RFC 8200 §8.1 pseudo-header). Pure functions:
// thread-safe, allocation-free, no alignment requirement on their inputs.

// checksumAdd adds `length` bytes at `data` to the running one's-complement sum `sum` (32-bit
// accumulator; fold it with checksumFold). `length` may be odd only for the last chunk of a
// message, as RFC 1071 pads the final byte with zero. Chunks of 64 bytes and more go to the
// fastest kernel this CPU has (AVX2 where present, chosen once at start-up); every kernel
// returns the same value (src/net/checksum_kernel.h).
[[nodiscard]] uint64_t checksumAdd(const uint8_t* data, size_t length, uint64_t sum);

// checksumFold folds a running sum to 16 bits and returns its one's complement, in host order
// (store it big-endian).
[[nodiscard]] uint16_t checksumFold(uint64_t sum);

// ipv4HeaderChecksum returns the checksum for the IPv4 header at `header` (`length` bytes,
// with its checksum field zeroed by the caller). Over a received header with its checksum in
// place it returns 0 when the checksum is right.
[[nodiscard]] uint16_t ipv4HeaderChecksum(const uint8_t* header, size_t length);

// pseudoHeaderSum returns the running sum of the IPv4 or IPv6 pseudo-header for upper-layer
// protocol `protocol` and upper-layer length `length`. `source` and `destination` must have
// the same family.
[[nodiscard]] uint64_t pseudoHeaderSum(const IpAddress& source, const IpAddress& destination,
                                       uint8_t protocol, uint32_t length);

// udpChecksum returns the UDP checksum over the pseudo-header, the 8-byte UDP header `header`
// (its checksum field zero) and `payload`; a computed 0 is returned as 0xFFFF (RFC 768: 0
// means "no checksum" on IPv4 and is forbidden on IPv6).
[[nodiscard]] uint16_t udpChecksum(const IpAddress& source, const IpAddress& destination,
                                   const uint8_t* header, const uint8_t* payload,
                                   uint32_t payload_length);

// udpChecksumOfWords is udpChecksum with the UDP header given as its two 32-bit words as they
// lie in memory on this (little-endian) host, checksum field zero: for a header being built,
// whose words are still in registers.
[[nodiscard]] uint16_t udpChecksumOfWords(const IpAddress& source, const IpAddress& destination,
                                          uint32_t header_word0, uint32_t header_word1,
                                          const uint8_t* payload, uint32_t payload_length);

}  // namespace sipshield::net
