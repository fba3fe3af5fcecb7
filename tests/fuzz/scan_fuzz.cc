// libFuzzer target: the scanner, every sub-parser and the shield's Digest nonce reader on
// arbitrary bytes. Any verdict is fine; a crash, a sanitizer report, kernels that disagree or a
// sub-parser fast path that disagrees with its general grammar is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "filters/digest_nonce.h"
#include "parser/cseq.h"
#include "parser/name_addr.h"
#include "parser/via.h"
#include "parser/scan_kernel.h"
#include "parser/uri.h"
#include "parser/validate.h"

using namespace sipshield::parser;

namespace {

bool same(Span a, Span b) { return a.offset == b.offset && a.length == b.length; }

// The sub-parsers' fast paths must give what their general grammars give on [begin, end) of
// `input`, bytes after `end` included (the fast paths read them: a CR, or the next value).
void checkFastPathsAgree(ByteView input, uint32_t begin, uint32_t end) {
  ViaEntry fast;
  ViaEntry general;
  uint32_t fast_stop = 0;
  uint32_t general_stop = 0;
  const bool via_ok = parseViaParm(input, begin, end, fast, &fast_stop);
  if (via_ok != detail::parseViaParmGeneral(input, begin, end, general, &general_stop) ||
      fast_stop != general_stop) {
    std::abort();
  }
  if (via_ok &&
      !(same(fast.whole, general.whole) && same(fast.protocol, general.protocol) &&
        same(fast.transport, general.transport) && same(fast.host, general.host) &&
        fast.port == general.port && same(fast.branch, general.branch) &&
        same(fast.received, general.received) && same(fast.maddr, general.maddr) &&
        same(fast.ttl, general.ttl) && fast.has_rport == general.has_rport &&
        fast.rport == general.rport && same(fast.rport_param, general.rport_param) &&
        same(fast.params, general.params))) {
    std::abort();
  }
  NameAddr fast_addr;
  NameAddr general_addr;
  if (parseNameAddr(input, begin, end, fast_addr) !=
          detail::parseNameAddrGeneral(input, begin, end, general_addr) ||
      !same(fast_addr.display_name, general_addr.display_name) ||
      !same(fast_addr.uri, general_addr.uri) || !same(fast_addr.params, general_addr.params) ||
      !same(fast_addr.tag, general_addr.tag) ||
      fast_addr.angle_brackets != general_addr.angle_brackets) {
    std::abort();
  }
  CSeq fast_cseq;
  CSeq general_cseq;
  const Span value{begin, end - begin};
  const bool cseq_ok = parseCSeq(input, value, fast_cseq);
  if (cseq_ok != detail::parseCSeqGeneral(input, value, general_cseq) ||
      (cseq_ok && (fast_cseq.number != general_cseq.number ||
                   !same(fast_cseq.method_token, general_cseq.method_token) ||
                   fast_cseq.method != general_cseq.method))) {
    std::abort();
  }
}

}  // namespace

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
    // The pipeline's check (ViaCheck::Used) accepts all that the full one does, with the same
    // count and top via-parm, and what it rejects the full one rejects too: for the same
    // reason, unless the full one found a bad via-parm first (one Used does not parse).
    static SipSummary used;
    const uint16_t count = summary.via_count;
    const Span top = summary.top_via.whole;
    const ScanResult u = scanAndValidate(input, parsed.message, used, limits, ViaCheck::Used);
    if (r.ok() && (!u.ok() || used.via_count != count || used.top_via.whole.offset != top.offset ||
                   used.top_via.whole.length != top.length)) {
      std::abort();
    }
    if (!u.ok() && (r.ok() || (r.error != ScanError::BadVia &&
                               (u.status != r.status || u.error != r.error ||
                                u.error_offset != r.error_offset)))) {
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
  // Fast paths against their references: on every header value the scan found (the bytes
  // after it are its CRLF and the next line, as in a message), and on a prefix of the input
  // whose length the first byte picks (any bytes after it).
  (void)scanAndValidate(input, parsed.message, summary);
  for (uint16_t i = 0; i < parsed.message.header_count; ++i) {
    const Span value = parsed.message.headers[i].value;
    checkFastPathsAgree(input, value.offset, value.end());
  }
  if (size > 1) {
    const uint32_t end = 1 + static_cast<uint32_t>(data[0]) % static_cast<uint32_t>(size - 1);
    checkFastPathsAgree(input, 1, end);
  }

  uint32_t pos = 0;
  Span element;
  int guard = 0;
  while (nextListElement(input, all.end(), &pos, element) && ++guard < 100000) {
  }
  return 0;
}
