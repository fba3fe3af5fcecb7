#include "src/net/frame.h"

#include <bit>
#include <cstring>

#include "src/net/checksum.h"
#include "src/net/checksum_kernel.h"

namespace sipshield::net {
namespace {

// store32 writes a 32-bit word as it is held (the header words below are built in memory
// order on this little-endian host).
void store32(uint8_t* out, uint32_t word) { std::memcpy(out, &word, sizeof(word)); }

}  // namespace

MacAddress MacAddress::ipv6Multicast(const IpAddress& group) {
  return MacAddress{{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14],
                     group.bytes[15]}};
}

bool parseEthernet(const uint8_t* frame, uint32_t size, L2Frame& out) {
  if (size < kEthernetHeaderBytes) {
    return false;
  }
  std::memcpy(out.destination.bytes, frame, 6);
  std::memcpy(out.source.bytes, frame + 6, 6);
  out.ether_type = load16(frame + 12);
  out.vlan = 0;
  out.l3_offset = kEthernetHeaderBytes;
  if (out.ether_type == kEtherTypeVlan) {
    if (size < kEthernetHeaderBytes + kVlanTagBytes) {
      return false;
    }
    out.vlan = load16(frame + 14) & 0x0FFF;
    out.ether_type = load16(frame + 16);
    out.l3_offset += kVlanTagBytes;
    if (out.ether_type == kEtherTypeVlan || out.ether_type == 0x88A8) {
      return false;
    }
  }
  return true;
}

uint32_t writeEthernet(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                       uint16_t vlan, uint16_t ether_type) {
  std::memcpy(out, destination.bytes, 6);
  std::memcpy(out + 6, source.bytes, 6);
  if (vlan == 0) {
    store16(out + 12, ether_type);
    return kEthernetHeaderBytes;
  }
  store16(out + 12, kEtherTypeVlan);
  store16(out + 14, vlan & 0x0FFF);
  store16(out + 16, ether_type);
  return kEthernetHeaderBytes + kVlanTagBytes;
}

uint32_t writeIpv4(uint8_t* out, const Ipv4Fields& fields) {
  // The header's five 32-bit words are built and summed in registers, then stored. Summing
  // them back from memory right after the narrow field stores made each wide load wait for
  // those stores to reach the cache (no store forwarding), which took longer than the sum.
  static_assert(std::endian::native == std::endian::little, "words are built little-endian");
  uint16_t fragment = static_cast<uint16_t>(fields.fragment_offset / 8u);
  if (fields.more_fragments) {
    fragment |= 0x2000;
  }
  if (fields.dont_fragment) {
    fragment |= 0x4000;
  }
  const auto total_length = static_cast<uint16_t>(kIpv4HeaderBytes + fields.payload_length);
  const uint32_t word0 = 0x45u | static_cast<uint32_t>(__builtin_bswap16(total_length)) << 16;
  const uint32_t word1 = __builtin_bswap16(fields.id) |
                         static_cast<uint32_t>(__builtin_bswap16(fragment)) << 16;
  const uint32_t word2 = fields.ttl | static_cast<uint32_t>(fields.protocol) << 8;  // no checksum
  uint32_t source;
  uint32_t destination;
  std::memcpy(&source, fields.source, 4);
  std::memcpy(&destination, fields.destination, 4);
  const uint64_t acc = static_cast<uint64_t>(word0) + word1 + word2 + source + destination;
  const uint16_t checksum = checksumFold(detail::finishChecksum(acc, 0));
  // Word by word into the frame: an array of words would be built on the stack and copied
  // with a wide load over its narrow stores, the very stall this avoids.
  store32(out, word0);
  store32(out + 4, word1);
  store32(out + 8, word2 | static_cast<uint32_t>(__builtin_bswap16(checksum)) << 16);
  store32(out + 12, source);
  store32(out + 16, destination);
  return kIpv4HeaderBytes;
}

uint32_t writeIpv6(uint8_t* out, const uint8_t* source, const uint8_t* destination,
                   uint8_t next_header, uint8_t hop_limit, uint16_t payload_length) {
  out[0] = 0x60;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  store16(out + 4, payload_length);
  out[6] = next_header;
  out[7] = hop_limit;
  std::memcpy(out + 8, source, 16);
  std::memcpy(out + 24, destination, 16);
  return kIpv6HeaderBytes;
}

uint32_t writeUdp(uint8_t* out, const IpAddress& source, uint16_t source_port,
                  const IpAddress& destination, uint16_t destination_port,
                  const uint8_t* payload, uint32_t payload_length, uint32_t known_tail,
                  uint64_t known_tail_sum) {
  // As in writeIpv4: the header's two words are summed from registers, not read back.
  const auto udp_length = static_cast<uint16_t>(kUdpHeaderBytes + payload_length);
  const uint32_t word0 = __builtin_bswap16(source_port) |
                         static_cast<uint32_t>(__builtin_bswap16(destination_port)) << 16;
  const uint32_t word1 = __builtin_bswap16(udp_length);  // checksum still zero
  const uint16_t checksum =
      udpChecksumOfWords(source, destination, word0, word1, payload, payload_length,
                                   known_tail, known_tail_sum);
  store32(out, word0);
  store32(out + 4, word1 | static_cast<uint32_t>(__builtin_bswap16(checksum)) << 16);
  return kUdpHeaderBytes;
}

}  // namespace sipshield::net
