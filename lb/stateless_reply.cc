#include "lb/stateless_reply.h"

#include <xxhash.h>

#include <cstring>

#include "lb/proxy_rewrite.h"

namespace sipshield::lb {
namespace {

// Writer appends to a fixed buffer; once anything does not fit, every later append is a no-op
// and the result is reported as 0.
struct Writer {
  uint8_t* out;
  size_t capacity;
  size_t length = 0;
  bool overflow = false;

  void put(std::string_view text) {
    if (overflow || length + text.size() > capacity) {
      overflow = true;
      return;
    }
    std::memcpy(out + length, text.data(), text.size());
    length += text.size();
  }
  void putNumber(uint64_t value) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    char forward[20];
    for (int i = 0; i < n; ++i) {
      forward[i] = digits[n - 1 - i];
    }
    put(std::string_view(forward, static_cast<size_t>(n)));
  }
  void putHex(uint64_t value) {
    static constexpr char kHex[] = "0123456789abcdef";
    char text[16];
    for (int i = 15; i >= 0; --i) {
      text[i] = kHex[value & 0xF];
      value >>= 4;
    }
    put(std::string_view(text, 16));
  }
};

}  // namespace

size_t buildStatelessReply(parser::ByteView request, const parser::SipMessage& message,
                           const parser::SipSummary& summary, const ReplySpec& spec,
                           uint8_t* out, size_t capacity) {
  Writer w{out, capacity};
  w.put("SIP/2.0 ");
  w.putNumber(spec.status);
  w.put(" ");
  w.put(spec.reason);
  w.put("\r\n");
  for (uint16_t i = 0; i < message.header_count; ++i) {
    const parser::HeaderField& field = message.headers[i];
    switch (field.id) {
      case parser::HeaderId::Via:
      case parser::HeaderId::From:
      case parser::HeaderId::CallId:
      case parser::HeaderId::CSeq: {
        parser::Span line = headerLine(request, field);
        w.put(request.view(line));
        break;
      }
      case parser::HeaderId::To: {
        if (&field != message.first(parser::HeaderId::To)) {
          break;
        }
        w.put("To: ");
        w.put(request.view(field.value));
        if (summary.to_tag.empty()) {
          // §8.2.6.2: a To-tag of our own; deterministic so retransmissions match.
          std::string_view call_id = request.view(summary.call_id);
          std::string_view from_tag = request.view(summary.from_tag);
          uint64_t h = XXH3_64bits_withSeed(call_id.data(), call_id.size(), spec.tag_seed);
          h = XXH3_64bits_withSeed(from_tag.data(), from_tag.size(), h);
          w.put(";tag=ss");
          w.putHex(h);
        }
        w.put("\r\n");
        break;
      }
      default:
        break;
    }
  }
  if (spec.retry_after_s != 0) {
    w.put("Retry-After: ");
    w.putNumber(spec.retry_after_s);
    w.put("\r\n");
  }
  w.put("Server: sipshield\r\nContent-Length: 0\r\n\r\n");
  return w.overflow ? 0 : w.length;
}

}  // namespace sipshield::lb
