// libFuzzer target: the scanner, every sub-parser and the shield's Digest nonce reader on
// arbitrary bytes. Any verdict is fine; a crash, a sanitizer report or kernels that disagree
// is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "filters/digest_nonce.h"
#include "parser/name_addr.h"
#include "parser/scan_kernel.h"
#include "parser/uri.h"
#include "parser/validate.h"

using namespace sipshield::parser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy so ASan flags any read past the end.
  std::vector<uint8_t> copy(data, data + size);
  ByteView input(copy.data(), copy.size());

  static ParsedMessage<kDefaultHeaderCapacity> parsed;
  SipSummary summary;
  const ScanLimits kLimits[] = {{65535, Framing::Datagram}, {65535, Framing::Stream}};
  for (const ScanLimits& limits : kLimits) {
    ScanResult r = scanAndValidate(input, parsed.message, summary, limits);
    if (r.status == ScanStatus::Complete && r.consumed > size) {
      std::abort();
    }
  }

  // The per-ISA walks must agree with the scalar reference.
  static ParsedMessage<kDefaultHeaderCapacity> other;
  const ScanLimits datagram{};
  parsed.message.header_count = 0;
  parsed.message.message_offset = 0;
  other.message.message_offset = 0;
  ScanResult expected = walkScalar(input.data, static_cast<uint32_t>(size), 0, parsed.message,
                                   datagram);
  for (WalkFn walk : {walkSse42, walkAvx2}) {
    if ((walk == walkSse42 && !scanIsaSupported(ScanIsa::Sse42)) ||
        (walk == walkAvx2 && !scanIsaSupported(ScanIsa::Avx2))) {
      continue;
    }
    other.message.header_count = 0;
    ScanResult got = walk(input.data, static_cast<uint32_t>(size), 0, other.message, datagram);
    if (got.status != expected.status || got.error != expected.error ||
        got.error_offset != expected.error_offset || got.consumed != expected.consumed ||
        other.message.header_count != parsed.message.header_count) {
      std::abort();
    }
  }

  // Sub-parsers straight on the bytes, as a header value would reach them.
  Span all{0, static_cast<uint32_t>(size > 0xFFFF ? 0xFFFF : size)};
  ViaEntry via;
  uint32_t stop = 0;
  (void)parseViaParm(input, all.offset, all.end(), via, &stop);
  NameAddr addr;
  (void)parseNameAddr(input, all, addr);
  SipUri uri;
  (void)parseUri(input, all, uri);
  CSeq cseq;
  (void)parseCSeq(input, all, cseq);
  // The shield's Digest nonce reader sees attacker-chosen Authorization values.
  std::string_view nonce;
  if (sipshield::filters::findDigestNonce(input.view(all), nonce) &&
      (nonce.empty() || nonce.data() < input.data ||
       nonce.data() + nonce.size() > input.data + all.length)) {
    std::abort();
  }
  uint32_t pos = 0;
  Span element;
  int guard = 0;
  while (nextListElement(input, all.end(), &pos, element) && ++guard < 100000) {
  }
  return 0;
}
