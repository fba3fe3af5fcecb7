// The AVX2 chunk walk (parser/scan_chunk_walk.h) against the line walk it hands unusual
// messages to: on every corpus and test-data message, and on mutations of them (truncations,
// byte flips, inserted CR, LF, NUL, SP, HTAB, colon and other bytes, repeated headers, long
// lines and names, small header arrays and size limits), scan() with the AVX2 walk must give
// the same verdict and the same fields as scan() with the line walk alone. Inputs are
// exact-size allocations so that ASan catches any read past the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "parser/header_lookup.h"
#include "parser/scan_kernel.h"
#include "parser/scan_steps.h"
#include "parser/sip_message.h"
#include "tests/parser/test_util.h"

namespace sipshield::parser {
namespace {

using testing::corpusPath;
using testing::messagePath;
using testing::readFile;

// The header array holds more than 255 lines (the chunk walk's 8-bit counts); most checks
// use the default capacity.
constexpr uint16_t kArraySize = 320;
constexpr uint16_t kCapacity = kDefaultHeaderCapacity;

// WalkGuard makes scan() use `walk` for one scope (the AVX2 kernel stays selected).
class WalkGuard {
 public:
  explicit WalkGuard(WalkFn walk) : previous_(detail::g_walk) { detail::g_walk = walk; }
  ~WalkGuard() { detail::g_walk = previous_; }
  WalkGuard(const WalkGuard&) = delete;
  WalkGuard& operator=(const WalkGuard&) = delete;

 private:
  WalkFn previous_;
};

struct Outcome {
  ScanResult result;
  ParsedMessage<kArraySize> parsed;
};

// scanWith scans `input` (copied into an exact-size buffer) with `walk` and a header array of
// `capacity` entries.
void scanWith(WalkFn walk, const std::string& input, uint16_t capacity, const ScanLimits& limits,
              Outcome& outcome) {
  std::vector<char> bytes(input.begin(), input.end());
  SipMessage& msg = outcome.parsed.message;
  msg.header_capacity = capacity;
  // The same stale state before both scans: any field a walk leaves unset compares equal.
  std::memset(static_cast<void*>(outcome.parsed.header_array), 0xA5,
              sizeof(outcome.parsed.header_array));
  std::memset(msg.first_index, 0x5A, sizeof(msg.first_index));
  std::memset(msg.occurrences, 0x5A, sizeof(msg.occurrences));
  msg.kind = MessageKind::Request;
  msg.start_line = {};
  msg.message_offset = msg.headers_end = msg.body_offset = 7;
  WalkGuard guard(walk);
  outcome.result = scan(ByteView(bytes.data(), bytes.size()), msg, limits);
}

bool sameSpan(Span a, Span b) { return a.offset == b.offset && a.length == b.length; }

// expectSame compares every output of the two scans; returns false (with a failure naming
// `what`) on the first difference.
bool expectSame(const Outcome& lines, const Outcome& chunks, const std::string& what) {
  const ScanResult& a = lines.result;
  const ScanResult& b = chunks.result;
  const SipMessage& x = lines.parsed.message;
  const SipMessage& y = chunks.parsed.message;
  bool same = a.status == b.status && a.error == b.error && a.error_offset == b.error_offset &&
              a.consumed == b.consumed && x.header_count == y.header_count && x.kind == y.kind &&
              x.method == y.method && x.status_code == y.status_code &&
              sameSpan(x.method_token, y.method_token) && sameSpan(x.request_uri, y.request_uri) &&
              sameSpan(x.reason_phrase, y.reason_phrase) && sameSpan(x.start_line, y.start_line) &&
              x.message_offset == y.message_offset && x.headers_end == y.headers_end &&
              x.body_offset == y.body_offset && x.body_length == y.body_length &&
              x.content_length == y.content_length &&
              std::memcmp(x.first_index, y.first_index, sizeof(x.first_index)) == 0 &&
              std::memcmp(x.occurrences, y.occurrences, sizeof(x.occurrences)) == 0;
  for (int i = 0; same && i < x.header_count; ++i) {
    same = x.headers[i].id == y.headers[i].id && sameSpan(x.headers[i].name, y.headers[i].name) &&
           sameSpan(x.headers[i].value, y.headers[i].value);
  }
  EXPECT_TRUE(same) << what << ": line walk " << scanErrorName(a.error) << "@" << a.error_offset
                    << " (" << x.header_count << " headers), AVX2 walk " << scanErrorName(b.error)
                    << "@" << b.error_offset << " (" << y.header_count << " headers)";
  return same;
}

class ChunkWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!setScanIsa(ScanIsa::Avx2)) {
      GTEST_SKIP() << "no AVX2 on this CPU";
    }
  }
  void TearDown() override { (void)setScanIsa(bestScanIsa()); }

  // check scans `input` both ways and compares; counts the comparisons.
  bool check(const std::string& input, const std::string& what, uint16_t capacity = kCapacity,
             const ScanLimits& limits = {}) {
    scanWith(walkAvx2Lines, input, capacity, limits, *lines_);
    scanWith(walkAvx2, input, capacity, limits, *chunks_);
    ++checked_;
    return expectSame(*lines_, *chunks_, what);
  }

  std::unique_ptr<Outcome> lines_ = std::make_unique<Outcome>();
  std::unique_ptr<Outcome> chunks_ = std::make_unique<Outcome>();
  size_t checked_ = 0;
};

// completesAlone: does the chunk walk complete `text` by itself (not handing it over)?
bool completesAlone(const std::string& text) {
  std::vector<char> exact(text.begin(), text.end());
  auto parsed = std::make_unique<ParsedMessage<kCapacity>>();
  detail::resetScanFields(parsed->message);
  parsed->message.message_offset = 0;
  ScanResult result;
  return walkAvx2Chunk(exact.data(), static_cast<uint32_t>(exact.size()), 0, parsed->message,
                       ScanLimits{}, result) &&
         result.ok();
}

std::vector<std::string> seedMessages() {
  std::vector<std::string> seeds;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(corpusPath(""))) {
    if (entry.path().extension() == ".sip") {
      paths.push_back(entry.path().string());
    }
  }
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(messagePath("")))) {
    if (entry.path().extension() == ".sip") {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    seeds.push_back(readFile(path));
  }
  return seeds;
}

// The chunk walk must complete the corpus by itself (else it would only cost time), with the
// line walk's results.
TEST_F(ChunkWalkTest, CompletesTheCorpusAlone) {
  const std::vector<std::string> seeds = seedMessages();
  ASSERT_GE(seeds.size(), 18u);
  for (const char* name : testing::kCorpusNames) {
    const std::string bytes = readFile(corpusPath(name));
    std::vector<char> exact(bytes.begin(), bytes.end());
    ParsedMessage<kCapacity> parsed;
    detail::resetScanFields(parsed.message);
    parsed.message.message_offset = 0;
    ScanResult result;
    ASSERT_TRUE(walkAvx2Chunk(exact.data(), static_cast<uint32_t>(exact.size()), 0, parsed.message,
                              ScanLimits{}, result))
        << name;
    EXPECT_TRUE(result.ok()) << name;
    check(bytes, name);
  }
}

// Every prefix, every byte replaced or preceded by each interesting byte.
TEST_F(ChunkWalkTest, TruncationsAndByteEdits) {
  const char kBytes[] = {'\r', '\n', '\0', ' ', '\t', ':', '\x7f', '\x80', 'a', ',', '\x01'};
  for (const std::string& seed : seedMessages()) {
    for (size_t n = 0; n <= seed.size(); ++n) {
      ASSERT_TRUE(check(seed.substr(0, n), "prefix " + std::to_string(n)));
    }
    for (size_t at = 0; at < seed.size(); ++at) {
      for (char c : kBytes) {
        std::string replaced = seed;
        replaced[at] = c;
        ASSERT_TRUE(check(replaced, "byte " + std::to_string(at) + " set to " +
                                        std::to_string(static_cast<unsigned char>(c))));
        std::string inserted = seed;
        inserted.insert(at, 1, c);
        ASSERT_TRUE(check(inserted, "byte " + std::to_string(static_cast<unsigned char>(c)) +
                                        " inserted at " + std::to_string(at)));
      }
    }
  }
}

// Random multi-byte edits, erasures and insertions.
TEST_F(ChunkWalkTest, RandomMutations) {
  std::mt19937 rng(20261207);
  std::string alphabet = "\r\n\r\n: \t,;a=-\x7f\x80";
  alphabet.push_back('\0');
  for (const std::string& seed : seedMessages()) {
    for (int round = 0; round < 3000; ++round) {
      ASSERT_TRUE(check(testing::mutate(seed, rng, alphabet), "mutation " + std::to_string(round)));
    }
  }
}

// Header arrays and size limits around the message's own counts, and stream framing.
TEST_F(ChunkWalkTest, CapacitiesLimitsAndFraming) {
  for (const std::string& seed : seedMessages()) {
    for (uint16_t capacity = 0; capacity <= 24; ++capacity) {
      ASSERT_TRUE(check(seed, "capacity " + std::to_string(capacity), capacity));
    }
    for (uint32_t limit : {0u, 1u, 20u, 64u, 100u, 200u, 300u, 400u, 500u}) {
      ScanLimits limits;
      limits.max_message_bytes = limit;
      ASSERT_TRUE(check(seed, "limit " + std::to_string(limit), kCapacity, limits));
      limits.framing = Framing::Stream;
      ASSERT_TRUE(check(seed, "stream limit " + std::to_string(limit), kCapacity, limits));
    }
    for (uint32_t cut = 1; cut < 200 && cut < seed.size(); cut += 7) {
      ScanLimits limits;
      limits.max_message_bytes = static_cast<uint32_t>(seed.size()) - cut;
      ASSERT_TRUE(check(seed, "limit size-" + std::to_string(cut), kCapacity, limits));
    }
    // A size limit at each line end of the header block, either framing (a datagram longer
    // than its limit never reaches the walk, so only the stream framing walks past it).
    for (size_t eol = seed.find("\r\n");
         eol != std::string::npos && eol < seed.find("\r\n\r\n") + 4;
         eol = seed.find("\r\n", eol + 1)) {
      for (size_t limit = eol > 2 ? eol - 2 : 0; limit <= eol + 3; ++limit) {
        ScanLimits limits;
        limits.max_message_bytes = static_cast<uint32_t>(limit);
        limits.framing = Framing::Stream;
        ASSERT_TRUE(
            check(seed, "stream limit at line end " + std::to_string(limit), kCapacity, limits));
      }
    }
    ScanLimits stream;
    stream.framing = Framing::Stream;
    ASSERT_TRUE(check(seed, "stream", kCapacity, stream));
    ASSERT_TRUE(check("\r\n\r\n" + seed + seed, "two on a stream", kCapacity, stream));
    ASSERT_TRUE(check("\r\n" + seed, "leading CRLF"));
  }
}

// Hand-made header blocks: repeated single-valued headers, white space around colons and
// values, empty values, folding, names and lines of every length around 24, 32 and 64, and
// each placed at the very end of the input.
TEST_F(ChunkWalkTest, UnusualLines) {
  const std::string start = "OPTIONS sip:a@example.com SIP/2.0\r\n";
  const std::string via = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n";
  const std::vector<std::string> lines = {"Call-ID: abc\r\n",
                                          "Call-ID: abc\r\nCall-ID: abc\r\n",
                                          "Call-ID: abc\r\ni: abd\r\n",
                                          "Call-ID:abc\r\n",
                                          "Call-ID : abc\r\n",
                                          "Call-ID:  abc\r\n",
                                          "Call-ID: abc \r\n",
                                          "Call-ID:\r\n",
                                          "Call-ID: \r\n",
                                          "Call-ID: a\r\n b\r\n",
                                          " folded\r\n",
                                          "Call-ID: a\r\n\t\r\n",
                                          "Subject: a\tb\r\n",
                                          "X: y\r\n",
                                          "x-\x80: y\r\n",
                                          "Max-Forwards: 70\r\nMax-Forwards: 70\r\n",
                                          "CSeq: 1 OPTIONS\r\n",
                                          "Content-Length: 0\r\n",
                                          "Content-Length: 5\r\n",
                                          "l: 0\r\nContent-Length: 0\r\n",
                                          ": empty name\r\n",
                                          "Bad Name: x\r\n",
                                          "To: <sip:b@example.com>\n",
                                          "To: a\rb\r\n",
                                          // Known names found by the ':' (folding maps CR
                                          // onto '-'), one with a CR or CRLF in the name.
                                          "CALL-id: abc\r\n",
                                          "Call\rID: abc\r\n",
                                          "Call\r\nID: abc\r\n",
                                          "Max\rForwards: 70\r\n",
                                          "Content-Length\r: 0\r\n",
                                          "\rall-ID: abc\r\n"};
  std::vector<std::string> headers = lines;
  for (size_t length = 18; length <= 40; ++length) {
    headers.push_back(std::string(length, 'N') + ": v\r\n");
  }
  for (size_t length : {1,  10, 25, 26, 27, 28, 29, 30, 31, 32, 33, 57, 58,  59,  60,  61,
                        62, 63, 64, 65, 90, 91, 92, 93, 94, 95, 96, 97, 127, 128, 129, 300}) {
    headers.push_back("Subject: " + std::string(length, 's') + "\r\n");
  }
  const std::string call_id = "Call-ID: c1@example.com\r\n";
  for (const std::string& header : headers) {
    for (const std::string& body : {std::string(), std::string("x"), std::string(40, 'b')}) {
      const std::string ending =
          body.empty() ? "\r\n"
                       : "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      ASSERT_TRUE(check(start + via + header + call_id + ending, header));
      ASSERT_TRUE(check(start + via + call_id + header + ending, header + " last"));
      ASSERT_TRUE(check(start + header + ending, header + " alone"));
      const std::string text = start + via + call_id + header + ending;
      for (size_t cut = 1; cut <= 40 && cut <= text.size(); ++cut) {
        ASSERT_TRUE(check(text.substr(0, text.size() - cut), header + " cut"));
      }
    }
  }
}

// Every known name, full and compact, in mixed letter case and one byte off (changed,
// dropped, doubled), in its own line and next to the ':' without ": ": the walk's name lookup
// (its own hash of the name's first three bytes and ": ") must find what the line walk finds.
// Known names in the common shape complete without the line walk.
TEST_F(ChunkWalkTest, EveryKnownNameAndNearMisses) {
  const std::string start = "OPTIONS sip:a@example.com SIP/2.0\r\n";
  const std::string rest = "Call-ID: c1@example.com\r\n\r\n";
  std::vector<std::string> names;
  for (const detail::HeaderInfo& h : detail::kHeaders) {
    names.emplace_back(h.name);
    if (h.compact != 0) {
      names.emplace_back(1, h.compact);
    }
  }
  std::mt19937 rng(7);
  for (const std::string& name : names) {
    std::vector<std::string> variants = {name};
    for (int round = 0; round < 4; ++round) {
      std::string mixed = name;
      for (char& c : mixed) {
        if (rng() % 2 == 0 && std::isalpha(static_cast<unsigned char>(c))) {
          c = static_cast<char>(c ^ 0x20);
        }
      }
      variants.push_back(mixed);
    }
    for (size_t at = 0; at < name.size(); ++at) {
      for (char c : {'x', '-', '\r', ':'}) {
        std::string changed = name;
        changed[at] = c;
        variants.push_back(changed);
      }
      variants.push_back(name.substr(0, at) + name.substr(at + 1));
      variants.push_back(name.substr(0, at + 1) + name.substr(at));
    }
    for (const std::string& variant : variants) {
      for (const std::string& line : {variant + ": v\r\n", variant + ":v\r\n",
                                      variant + ":\r\n", variant + ": \r\n"}) {
        ASSERT_TRUE(check(start + line + rest, line));
      }
    }
    ASSERT_TRUE(completesAlone(start + name + ": 0\r\n\r\n")) << name;
  }
}

// Many short lines: more than 255, and header arrays that end inside a 32-byte chunk.
TEST_F(ChunkWalkTest, ManyLines) {
  const std::string start = "OPTIONS sip:a@example.com SIP/2.0\r\n";
  for (int count : {10, 60, 63, 64, 65, 254, 255, 256, 300}) {
    std::string text = start;
    for (int i = 0; i < count; ++i) {
      text += "v: a\r\n";
    }
    text += "\r\n";
    for (uint16_t capacity : {uint16_t{8}, uint16_t{13}, uint16_t{64}, kArraySize}) {
      ASSERT_TRUE(check(text, std::to_string(count) + " lines", capacity));
    }
  }
}

// Every byte value in a header value, at offsets in both 32-byte halves of the line-end
// bitmap's blocks and in the input's last partial block: the bitmap's special-byte test must
// agree with the line walk's for all 256 values (special: below SP but HTAB, and DEL).
TEST_F(ChunkWalkTest, EveryByteValueInTheLineEndBitmap) {
  const std::string message =
      "OPTIONS sip:a@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK-every-byte\r\n"
      "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
      "Call-ID: every-byte@example.com\r\nCSeq: 1 OPTIONS\r\n"
      "X-Value: 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
      "\r\n";
  ASSERT_TRUE(completesAlone(message));
  const size_t value = message.find("X-Value: ") + 9;
  for (size_t at : {value, value + 17, value + 31, value + 32, value + 50, value + 63,
                    message.size() - 5}) {
    for (int c = 0; c < 256; ++c) {
      std::string edited = message;
      edited[at] = static_cast<char>(c);
      ASSERT_TRUE(check(edited, "byte " + std::to_string(c) + " at " + std::to_string(at)));
    }
  }
}

// Header blocks longer than the walk's line-end bitmap (the first 2 KB): lines
// that start before its end and end past it, at every offset, long lines across it, a control
// byte just past it, and messages cut around it.
TEST_F(ChunkWalkTest, HeaderBlocksPastTheLineEndBitmap) {
  const std::string start = "OPTIONS sip:a@example.com SIP/2.0\r\n";
  const std::string call_id = "Call-ID: c1@example.com\r\n";
  for (size_t shift = 0; shift < 80; ++shift) {
    std::string headers = "X-Pad: " + std::string(shift + 1, 'p') + "\r\n";
    while (headers.size() < 2048 - 100) {
      headers += "X-Filler: " + std::string(60 + headers.size() % 37, 's') + "\r\n";
    }
    for (size_t long_line : {size_t{0}, size_t{150}, size_t{400}}) {
      std::string block = headers;
      if (long_line != 0) {
        block += "X-Long: " + std::string(long_line, 'l') + "\r\n";
      }
      for (int i = 0; i < 12; ++i) {
        block += "v: SIP/2.0/UDP h" + std::to_string(i) + ";branch=z9hG4bK" + std::to_string(i) +
                 "\r\n";
      }
      const std::string text = start + call_id + block + "\r\n";
      const std::string what = "shift " + std::to_string(shift) + " long " +
                               std::to_string(long_line);
      ASSERT_TRUE(completesAlone(text)) << what;
      ASSERT_TRUE(check(text, what));
      for (size_t cut : {size_t{1}, size_t{2}, size_t{3}, size_t{700}, size_t{1000}}) {
        ASSERT_TRUE(check(text.substr(0, text.size() - cut), what + " cut"));
      }
      // A control byte in a value just past the bitmap's end.
      std::string bad = text;
      const size_t past = start.size() + 2048 + shift % 7;
      if (past < bad.size() && bad[past] != '\r' && bad[past] != '\n') {
        bad[past] = '\x01';
        ASSERT_TRUE(check(bad, what + " control byte"));
      }
    }
  }
}

}  // namespace
}  // namespace sipshield::parser
