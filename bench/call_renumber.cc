#include "bench/call_renumber.h"

#include "src/net/checksum.h"
#include "src/net/frame.h"

namespace sipshield::bench {

CallNumberAt findCallNumber(std::string_view bytes, size_t udp) {
  constexpr std::string_view kMarker = "Call-ID: bench-";
  CallNumberAt at;
  const size_t marker = bytes.find(kMarker, udp);
  if (marker == std::string_view::npos ||
      marker + kMarker.size() + kCallNumberDigits > bytes.size()) {
    return at;
  }
  for (size_t i = 0; i < kCallNumberDigits; ++i) {
    const char c = bytes[marker + kMarker.size() + i];
    if (c < '0' || c > '9') {
      return at;
    }
  }
  at.digits = marker + kMarker.size();
  at.udp = udp;
  at.found = true;
  return at;
}

void writeCallNumber(uint8_t* bytes, const CallNumberAt& at, uint64_t number) {
  for (size_t i = kCallNumberDigits; i-- > 0; number /= 10) {
    bytes[at.digits + i] = static_cast<uint8_t>('0' + number % 10);
  }
}

void renumberFrame(uint8_t* frame, const CallNumberAt& at, uint64_t number) {
  // The 16-bit words of the UDP segment (counted from its header) that the digits touch.
  const size_t begin = at.udp + ((at.digits - at.udp) & ~size_t{1});
  const size_t end = at.udp + ((at.digits + kCallNumberDigits - at.udp + 1) & ~size_t{1});
  // checksumFold gives the complement of a folded sum: for the old words that is ~m, and its
  // complement is m' for the new ones.
  const uint32_t old_complement = net::checksumFold(net::checksumAdd(frame + begin, end - begin, 0));
  writeCallNumber(frame, at, number);
  const uint32_t new_words =
      static_cast<uint16_t>(~net::checksumFold(net::checksumAdd(frame + begin, end - begin, 0)));
  uint8_t* field = frame + at.udp + 6;
  const uint16_t stored = net::load16(field);
  if (stored == 0) {
    return;
  }
  // HC' = ~(~HC + ~m + m'), in 16-bit one's complement arithmetic.
  uint32_t sum = static_cast<uint16_t>(~stored) + old_complement + new_words;
  while ((sum >> 16) != 0) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  const auto updated = static_cast<uint16_t>(~sum);
  net::store16(field, updated == 0 ? 0xFFFF : updated);
}

}  // namespace sipshield::bench
