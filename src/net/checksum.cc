#include "src/net/checksum.h"

#include <cstring>

#include "src/net/checksum_kernel.h"

namespace sipshield::net {

namespace {

// The portable kernel, inline here so checksumAdd's short inputs pay no call.
inline uint64_t addPortable(const uint8_t* data, size_t length, uint64_t sum) {
  // RFC 1071 §2: the one's-complement sum does not depend on byte order. Sum the chunk in
  // native (little-endian) order, fold to 16 bits, then swap the two bytes once to get the
  // big-endian sum the pseudo-header arithmetic uses (detail::finishChecksum).
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
  const uint64_t tail = detail::loadTail(data, length);  // zero-padded (RFC 1071)
  acc += (tail & 0xFFFFFFFFu) + (tail >> 32);
  return detail::finishChecksum(acc, sum);
}

}  // namespace

namespace detail {
// Static initialisation: a checksumAdd that runs before this (another file's static
// initialiser) sees false and takes the portable kernel, which gives the same result.
bool g_checksum_avx2 = checksumIsaSupported(ChecksumIsa::Avx2);
}  // namespace detail

bool checksumIsaSupported(ChecksumIsa isa) {
  switch (isa) {
    case ChecksumIsa::Avx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
    case ChecksumIsa::Portable:
      break;
  }
  return true;
}

std::string_view checksumIsaName(ChecksumIsa isa) {
  return isa == ChecksumIsa::Avx2 ? "avx2" : "portable";
}

ChecksumIsa activeChecksumIsa() {
  return detail::g_checksum_avx2 ? ChecksumIsa::Avx2 : ChecksumIsa::Portable;
}

bool setChecksumIsa(ChecksumIsa isa) {
  if (!checksumIsaSupported(isa)) {
    return false;
  }
  detail::g_checksum_avx2 = isa == ChecksumIsa::Avx2;
  return true;
}

uint64_t checksumAddPortable(const uint8_t* data, size_t length, uint64_t sum) {
  return addPortable(data, length, sum);
}

uint64_t checksumAddWith(ChecksumIsa isa, const uint8_t* data, size_t length, uint64_t sum) {
  return isa == ChecksumIsa::Avx2 ? checksumAddAvx2(data, length, sum)
                                  : addPortable(data, length, sum);
}

uint64_t checksumAdd(const uint8_t* data, size_t length, uint64_t sum) {
  // A predictable branch on a flag set once, rather than a function pointer: many calls are
  // IPv4 and UDP headers of 8 to 20 bytes, which the portable kernel does inline.
  if (length >= detail::kChecksumAvx2MinBytes && detail::g_checksum_avx2) {
    return checksumAddAvx2(data, length, sum);
  }
  return addPortable(data, length, sum);
}

uint64_t checksumAddMarked(const uint8_t* data, size_t length, uint64_t sum,
                           uint64_t& at_mark) {
  if (length >= kChecksumMarkBytes && detail::g_checksum_avx2) {
    return checksumAddMarkedAvx2(data, length, sum, at_mark);
  }
  // The portable kernel sums the first bytes twice: machines without AVX2 only.
  at_mark = checksumAdd(data, length < kChecksumMarkBytes ? length : kChecksumMarkBytes, sum);
  return length < kChecksumMarkBytes ? at_mark : checksumAdd(data, length, sum);
}

namespace {

// fold16 folds a running sum to 16 bits, not complemented (0xFFFF and 0 both stand for zero).
uint64_t fold16(uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return sum;
}

// swapHalves is what a running sum becomes when every byte it summed moves by one place:
// each byte changes half of its 16-bit word (RFC 1071 §2, byte-order independence).
uint64_t swapHalves(uint64_t sum) {
  const uint64_t folded = fold16(sum);
  return ((folded & 0xFF) << 8) | (folded >> 8);
}

}  // namespace

uint64_t checksumSubtract(uint64_t whole, uint64_t part) {
  // In one's-complement arithmetic -x is ~x: adding 0xFFFF - x takes x away (mod 0xFFFF).
  return fold16(whole) + (0xFFFF - fold16(part));
}

uint64_t reusedTailSum(uint64_t from_mark, bool moved_odd) {
  return moved_odd ? swapHalves(from_mark) : from_mark;
}

uint16_t checksumFold(uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xFFFF);
}

uint16_t ipv4HeaderChecksum(const uint8_t* header, size_t length) {
  if (length == 20) {
    // The option-less header every datagram we send and nearly every one we receive has: its
    // five 32-bit words, the same words the kernels sum.
    uint32_t w[5];
    std::memcpy(w, header, sizeof(w));
    const uint64_t acc = static_cast<uint64_t>(w[0]) + w[1] + w[2] + w[3] + w[4];
    return checksumFold(detail::finishChecksum(acc, 0));
  }
  return checksumFold(checksumAdd(header, length, 0));
}

uint64_t pseudoHeaderSum(const IpAddress& source, const IpAddress& destination,
                         uint8_t protocol, uint32_t length) {
  // Both addresses as little-endian 32-bit words with fixed-size loads (called per datagram on
  // RX and on TX); an unset family contributes nothing.
  auto words = [](const IpAddress& address) -> uint64_t {
    uint32_t w[4];
    if (address.isV4()) {
      std::memcpy(w, address.bytes, 4);
      return w[0];
    }
    if (address.isV6()) {
      std::memcpy(w, address.bytes, 16);
      return static_cast<uint64_t>(w[0]) + w[1] + w[2] + w[3];
    }
    return 0;
  };
  return detail::finishChecksum(words(source) + words(destination), protocol + length);
}

uint16_t udpChecksumOfWords(const IpAddress& source, const IpAddress& destination,
                            uint32_t header_word0, uint32_t header_word1, const uint8_t* payload,
                            uint32_t payload_length, uint32_t known_tail,
                            uint64_t known_tail_sum) {
  uint64_t sum = pseudoHeaderSum(source, destination, 17, payload_length + 8);
  sum = detail::finishChecksum(static_cast<uint64_t>(header_word0) + header_word1, sum);
  sum = checksumAdd(payload, payload_length - known_tail, sum) + known_tail_sum;
  const uint16_t folded = checksumFold(sum);
  return folded == 0 ? 0xFFFF : folded;
}

uint16_t udpChecksum(const IpAddress& source, const IpAddress& destination,
                     const uint8_t* header, const uint8_t* payload, uint32_t payload_length) {
  // The 8-byte UDP header as two little-endian words (the words checksumAdd would sum).
  uint32_t header_words[2];
  std::memcpy(header_words, header, sizeof(header_words));
  return udpChecksumOfWords(source, destination, header_words[0], header_words[1], payload,
                            payload_length);
}

}  // namespace sipshield::net
