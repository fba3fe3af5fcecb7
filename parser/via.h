#pragma once

#include <cstdint>

#include "parser/scan_kernel.h"
#include "parser/sip_message.h"

namespace sipshield::parser {

// One via-parm (RFC 3261 §20.42, §25.1), with RFC 3581's rport.
struct ViaEntry {
  Span whole;      // the via-parm as written, from "SIP/2.0" to the end of its last parameter
  Span protocol;   // "SIP/2.0/UDP"
  Span transport;  // "UDP", "TCP", "TLS", "SCTP", "WS", "WSS" or an extension token
  Span host;       // sent-by host; an IPv6 reference keeps its brackets
  uint16_t port = 0;  // 0 when sent-by has no port
  Span branch;        // value of ;branch=
  Span received;      // value of ;received=
  Span maddr;
  Span ttl;
  bool has_rport = false;  // ;rport present, with or without a value
  int32_t rport = -1;      // its value, -1 when absent or empty
  Span rport_param;        // the whole ";rport[=value]" parameter without the ';'
  Span params;             // everything after sent-by, starting at the first ';'
};

// ViaCursor walks every via-parm of a message in order: the comma-separated values of the
// first Via line, then of the next Via line, and so on (§7.3.1 allows both forms).
// Not thread-safe; cheap to copy. Usage:
//   ViaCursor c(buf, msg); ViaEntry v; while (c.next(v)) {...}  if (c.failed()) ...
class ViaCursor {
 public:
  ViaCursor(ByteView buffer, const SipMessage& message);

  // next parses the next via-parm into `entry`. Returns false at the end or on a parse error;
  // failed() tells which, and errorOffset() where.
  bool next(ViaEntry& entry);
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] uint32_t errorOffset() const { return error_offset_; }
  // headerIndex is the index (in message.headers) of the line the last entry came from.
  [[nodiscard]] int headerIndex() const { return header_index_; }

 private:
  ByteView buffer_;
  const SipMessage* message_;
  int header_index_ = -1;
  uint32_t via_lines_ = 0;  // Via lines started so far
  uint32_t pos_ = 0;
  uint32_t end_ = 0;
  bool failed_ = false;
  uint32_t error_offset_ = 0;
};

// parseViaParm parses one via-parm found in [begin, end) of `buffer` (white space around it
// is allowed). On success fills `entry`, sets `*stop` to the offset after it (at a ',' or
// `end`) and returns true; returns false with `*stop` at the faulty byte otherwise.
bool parseViaParm(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry, uint32_t* stop);

namespace detail {
// parseViaParmGeneral is parseViaParm without its fast path for the common shape: the full
// grammar alone. parseViaParm must give the same result on every input; tests compare them.
// Same contract as parseViaParm.
bool parseViaParmGeneral(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                         uint32_t* stop);

// The two instantiations of parseViaParm's fast path, which it picks between per call
// (viaParmAvx2Active; scanAndValidate picks once per message and inlines the AVX2 one, see
// parser/validate_avx2.cc); same contract as parseViaParm:
//  - parseViaParmAvx2 (parser/via_avx2.cc) classifies the host runs in AVX2 steps. Call it
//    only when viaAvx2Usable().
//  - parseViaParmSse2 (parser/via.cc) classifies them in SSE2 steps (x86-64's baseline).
bool parseViaParmAvx2(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                      uint32_t* stop);
bool parseViaParmSse2(ByteView buffer, uint32_t begin, uint32_t end, ViaEntry& entry,
                      uint32_t* stop);
// viaAvx2Usable: the CPU has AVX2, BMI1 and BMI2 (checked once; thread-safe).
bool viaAvx2Usable();
// g_via_avx2 is viaAvx2Usable(), read once at start (false until then: a caller from another
// file's static initialiser takes the SSE2 steps, which give the same result).
extern const bool g_via_avx2;
// viaParmAvx2Active says which one parseViaParm runs: the AVX2 steps with the scanner's AVX2
// kernel (chosen at start, scan_kernel.h) on a CPU that has them, the SSE2 steps otherwise.
inline bool viaParmAvx2Active() {
  return g_classify_block == &classifyBlockAvx2 && g_via_avx2;
}
}  // namespace detail

}  // namespace sipshield::parser
