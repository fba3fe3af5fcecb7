#pragma once

// Fresh calls for the replay benchmark: the bench's INVITEs carry a fixed-width Call-ID number
// ("bench-NNNNNNNN@..."), which the feed overwrites in each copy it hands the worker, so every
// INVITE is a new call, as on a live trunk (a new affinity entry per INVITE, in a table much
// larger than the caches), not a replay of a few thousand calls the table already holds.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipshield::bench {

// kCallNumberDigits is the width of the number in the bench's Call-IDs.
inline constexpr size_t kCallNumberDigits = 8;

// CallNumberAt locates the number in one message: where its digits are and, in a frame, where
// the UDP header is (whose checksum the rewrite keeps right).
struct CallNumberAt {
  size_t digits = 0;  // offset of the first digit
  size_t udp = 0;     // offset of the UDP header in the frame (0 for a bare payload)
  bool found = false;
};

// findCallNumber finds "Call-ID: bench-" followed by kCallNumberDigits digits in `bytes` (a
// payload, or a whole Ethernet/IPv4/UDP frame when `udp` is its UDP header's offset).
[[nodiscard]] CallNumberAt findCallNumber(std::string_view bytes, size_t udp = 0);

// writeCallNumber writes `number` (mod 10^8) as the digits at `at` in `bytes`.
void writeCallNumber(uint8_t* bytes, const CallNumberAt& at, uint64_t number);

// renumberFrame writes `number` into the frame's Call-ID and updates its UDP checksum for the
// change (RFC 1624 eq. 3; a zero checksum, "none" on IPv4, stays zero), so the receive check
// passes as for any frame off the wire.
void renumberFrame(uint8_t* frame, const CallNumberAt& at, uint64_t number);

}  // namespace sipshield::bench
