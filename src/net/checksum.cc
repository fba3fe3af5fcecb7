#include "src/net/checksum.h"

#include <cstring>

namespace sipshield::net {

uint64_t checksumAdd(const uint8_t* data, size_t length, uint64_t sum) {
  // RFC 1071 §2: the one's-complement sum does not depend on byte order. Sum the chunk in
  // native (little-endian) order, fold to 16 bits, then swap the two bytes once to get the
  // big-endian sum the pseudo-header arithmetic uses.
  // 32-bit halves summed into 64-bit accumulators cannot overflow for any datagram (2^32
  // words), so there is no carry to chase and the compiler can vectorise the loop.
  uint64_t acc = 0;
  uint64_t acc2 = 0;
  while (length >= 16) {
    uint64_t w[2];
    std::memcpy(w, data, 16);
    acc += (w[0] & 0xFFFFFFFFu) + (w[0] >> 32);
    acc2 += (w[1] & 0xFFFFFFFFu) + (w[1] >> 32);
    data += 16;
    length -= 16;
  }
  acc += acc2;
  if (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    acc += (word & 0xFFFFFFFFu) + (word >> 32);
    data += 8;
    length -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data, length);  // zero-padded: an odd last byte is the high half (RFC)
  acc += (tail & 0xFFFFFFFFu) + (tail >> 32);
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  return sum + static_cast<uint16_t>(((acc & 0xFF) << 8) | (acc >> 8));
}

uint16_t checksumFold(uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xFFFF);
}

uint16_t ipv4HeaderChecksum(const uint8_t* header, size_t length) {
  return checksumFold(checksumAdd(header, length, 0));
}

uint64_t pseudoHeaderSum(const IpAddress& source, const IpAddress& destination,
                         uint8_t protocol, uint32_t length) {
  uint64_t sum = checksumAdd(source.bytes, source.size(), 0);
  sum = checksumAdd(destination.bytes, destination.size(), sum);
  return sum + protocol + length;
}

uint16_t udpChecksum(const IpAddress& source, const IpAddress& destination,
                     const uint8_t* header, const uint8_t* payload, uint32_t payload_length) {
  uint64_t sum = pseudoHeaderSum(source, destination, 17, payload_length + 8);
  sum = checksumAdd(header, 8, sum);
  sum = checksumAdd(payload, payload_length, sum);
  const uint16_t folded = checksumFold(sum);
  return folded == 0 ? 0xFFFF : folded;
}

}  // namespace sipshield::net
