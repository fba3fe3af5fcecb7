#pragma once

// Internal: scan()'s preparation of a message (field reset, size limit, leading CRLFs and
// keepalives) before the active walk, inline so that scanAndValidate() (parser/validate.cc)
// runs it without the extra call that scan() would be.

#include <cstdint>
#include <cstring>

#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"

namespace sipshield::parser::detail {

// scanEntry is scan() (sip_message.h): same contract, same results.
[[gnu::always_inline]] inline ScanResult scanEntry(ByteView input, SipMessage& out,
                                                   const ScanLimits& limits) {
  resetScanFields(out);
  // The walk writes the header index whatever its outcome; the paths that return before it
  // clear the index here.
  auto clear_index = [&out] {
    std::memset(out.first_index, 0xFF, sizeof(out.first_index));
    std::memset(out.occurrences, 0, sizeof(out.occurrences));
  };

  if (limits.framing == Framing::Datagram && input.size > limits.max_message_bytes) {
    clear_index();
    return {ScanStatus::Invalid, ScanError::MessageTooLarge, limits.max_message_bytes, 0};
  }
  // Stream inputs may be longer than one message; never index near 4 GiB (the walk's
  // offsets run up to one block past the end).
  if (input.size > 0xFFFFFF00u) {
    input.size = 0xFFFFFF00u;
  }
  // Leading CRLFs: keepalives on their own (RFC 5626 §3.5.1), ignored before a start line
  // (RFC 3261 §7.5).
  uint32_t start = 0;
  auto size = static_cast<uint32_t>(input.size);
  while (start + 1 < size && input.data[start] == '\r' && input.data[start + 1] == '\n') {
    start += 2;
  }
  // Fewer than two bytes left: no start line yet (one test for the usual case).
  if (__builtin_expect(start + 1 >= size, 0)) {
    if (start > 0 && start == size) {
      clear_index();
      return {ScanStatus::Keepalive, ScanError::None, 0, start};
    }
    if (start + 1 == size && input.data[start] == '\r') {
      clear_index();
      return {ScanStatus::Incomplete, ScanError::Truncated, size, 0};
    }
    if (start == size) {
      clear_index();
      return {ScanStatus::Incomplete, ScanError::Truncated, size, 0};
    }
  }
  out.message_offset = start;
  return g_walk(input.data, size, start, out, limits);
}

}  // namespace sipshield::parser::detail
