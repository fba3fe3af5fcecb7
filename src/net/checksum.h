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

// kChecksumMarkBytes is where checksumAddMarked takes its second sum: a received datagram's
// sum up to here and from here on, so that a rewrite in place that leaves the bytes from here
// on where they were need not sum them again (reusedTailSum).
inline constexpr size_t kChecksumMarkBytes = 512;

// checksumAddMarked returns checksumAdd(data, length, sum) and sets `at_mark` to
// checksumAdd(data, min(length, kChecksumMarkBytes), sum), both exactly, in one pass.
[[nodiscard]] uint64_t checksumAddMarked(const uint8_t* data, size_t length, uint64_t sum,
                                         uint64_t& at_mark);

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

// checksumSubtract returns what the bytes summed into running sum `whole` but not into `part`
// add (mod 0xFFFF): `whole` continued the sum `part` is, as checksumAddMarked's total does
// its `at_mark`.
[[nodiscard]] uint64_t checksumSubtract(uint64_t whole, uint64_t part);

// reusedTailSum returns what a received datagram's bytes from kChecksumMarkBytes on add to
// the checksum of a datagram they are now part of, where they stayed while the bytes before
// them changed: `from_mark` is what they added to the received datagram's checksum
// (checksumSubtract(total, at_mark) of checksumAddMarked), `moved_odd` whether they now lie
// an odd number of bytes further from the datagram's start or closer to it.
[[nodiscard]] uint64_t reusedTailSum(uint64_t from_mark, bool moved_odd);

// udpChecksum returns the UDP checksum over the pseudo-header, the 8-byte UDP header `header`
// (its checksum field zero) and `payload`; a computed 0 is returned as 0xFFFF (RFC 768: 0
// means "no checksum" on IPv4 and is forbidden on IPv6).
[[nodiscard]] uint16_t udpChecksum(const IpAddress& source, const IpAddress& destination,
                                   const uint8_t* header, const uint8_t* payload,
                                   uint32_t payload_length);

// udpChecksumOfWords is udpChecksum with the UDP header given as its two 32-bit words as they
// lie in memory on this (little-endian) host, checksum field zero: for a header being built,
// whose words are still in registers.
// `known_tail` bytes at the payload's end are not summed: `known_tail_sum` is what they add
// (reusedTailSum).
[[nodiscard]] uint16_t udpChecksumOfWords(const IpAddress& source, const IpAddress& destination,
                                          uint32_t header_word0, uint32_t header_word1,
                                          const uint8_t* payload, uint32_t payload_length,
                                          uint32_t known_tail = 0, uint64_t known_tail_sum = 0);

}  // namespace sipshield::net
