// MessageEditor::applyInPlace against write(): on every corpus message, with random edit sets
// (inserts, replacements, removals, growing and shrinking), in a buffer with headroom only,
// tailroom only, both, or too little, the bytes must be identical to write()'s; growth that
// fits the headroom must leave everything after the last edit (the body) where it was, and a
// refusal must leave the buffer untouched. Also the real request/response rewrites
// (prepareRequest / prepareResponse) applied in place against rewriteRequest/rewriteResponse.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lb/message_editor.h"
#include "lb/proxy_rewrite.h"
#include "parser/validate.h"

namespace sipshield::lb {
namespace {

std::vector<std::pair<std::string, std::string>> corpusMessages() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : std::filesystem::directory_iterator(SIPSHIELD_CORPUS_DIR)) {
    if (entry.path().extension() != ".sip") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out.emplace_back(entry.path().filename().string(), s.str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Arena is a message inside a larger buffer with guard bytes beyond the rooms.
struct Arena {
  static constexpr size_t kGuard = 64;
  std::vector<uint8_t> bytes;
  size_t headroom;
  size_t tailroom;

  Arena(const std::string& message, size_t head, size_t tail)
      : bytes(kGuard + head + message.size() + tail + kGuard, 0xA5), headroom(head),
        tailroom(tail) {
    std::copy(message.begin(), message.end(),
              bytes.begin() + static_cast<ptrdiff_t>(kGuard + head));
  }
  uint8_t* begin() { return bytes.data() + kGuard + headroom; }
  [[nodiscard]] bool guardsIntact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (bytes[i] != 0xA5 || bytes[bytes.size() - 1 - i] != 0xA5) {
        return false;
      }
    }
    return true;
  }
};

struct RoomCase {
  const char* description;
  size_t headroom;
  size_t tailroom;
};

// Rooms around the message: the DPDK mbuf case (128 before), tail only, both, and none.
const RoomCase kRooms[] = {
    {"headroom only", 128, 0},
    {"tailroom only", 0, 512},
    {"both", 64, 512},
    {"neither", 0, 0},
    {"small both", 16, 16},
};

// randomEdits fills `editor` with 0..kMaxEdits non-overlapping edits over `length` bytes;
// their texts live in `texts`. `last_end` gets where the last edit ends (0 without edits).
void randomEdits(std::mt19937& rng, size_t length, MessageEditor& editor,
                 std::vector<std::string>& texts, uint32_t& last_end) {
  editor.clear();
  texts.clear();
  last_end = 0;
  std::uniform_int_distribution<int> count_dist(0, MessageEditor::kMaxEdits);
  const int count = count_dist(rng);
  std::vector<uint32_t> cuts;
  std::uniform_int_distribution<uint32_t> at(0, static_cast<uint32_t>(length));
  for (int i = 0; i < 2 * count; ++i) {
    cuts.push_back(at(rng));
  }
  std::sort(cuts.begin(), cuts.end());
  texts.reserve(static_cast<size_t>(count));
  std::uniform_int_distribution<int> text_length(0, 90);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::uniform_int_distribution<int> kind(0, 2);
  for (int i = 0; i < count; ++i) {
    uint32_t offset = cuts[static_cast<size_t>(2 * i)];
    uint32_t end = cuts[static_cast<size_t>(2 * i + 1)];
    const int k = kind(rng);
    if (k == 0) {
      end = offset;  // insert
    }
    std::string text;
    if (k != 2) {  // k == 2: remove
      text.resize(static_cast<size_t>(text_length(rng)));
      for (char& c : text) {
        c = static_cast<char>(letter(rng));
      }
    }
    texts.push_back(std::move(text));
    ASSERT_TRUE(editor.replace(offset, end - offset, texts.back()));
    last_end = end;
  }
}

// Random edit sets on every corpus message in every room layout give write()'s bytes.
TEST(MessageEditorInPlace, RandomEditsMatchWriteOnEveryCorpusMessage) {
  const auto messages = corpusMessages();
  ASSERT_GE(messages.size(), 18u);
  std::mt19937 rng(20261125);
  MessageEditor editor;
  std::vector<std::string> texts;
  std::vector<uint8_t> expected(70000);
  int applied_in_headroom = 0;
  int refused = 0;
  for (const auto& [name, message] : messages) {
    for (int round = 0; round < 200; ++round) {
      uint32_t last_end = 0;
      randomEdits(rng, message.size(), editor, texts, last_end);
      const size_t expected_length =
          editor.write(parser::ByteView(reinterpret_cast<const uint8_t*>(message.data()),
                                        message.size()),
                       expected.data(), expected.size());
      ASSERT_EQ(static_cast<int64_t>(expected_length),
                static_cast<int64_t>(message.size()) + editor.growth())
          << name;
      for (const RoomCase& room : kRooms) {
        SCOPED_TRACE(name + " round " + std::to_string(round) + " " + room.description);
        Arena arena(message, room.headroom, room.tailroom);
        const std::vector<uint8_t> before = arena.bytes;
        const MessageEditor::InPlace done =
            editor.applyInPlace(arena.begin(), message.size(), room.headroom, room.tailroom);
        const int64_t growth = editor.growth();
        const bool fits = growth <= 0 || static_cast<size_t>(growth) <= room.headroom ||
                          static_cast<size_t>(growth) <= room.tailroom;
        ASSERT_TRUE(arena.guardsIntact());
        if (!fits) {
          EXPECT_EQ(done.data, nullptr);
          EXPECT_EQ(arena.bytes, before);  // refused: untouched, the caller can still copy
          ++refused;
          continue;
        }
        ASSERT_NE(done.data, nullptr);
        ASSERT_EQ(done.length, expected_length);
        ASSERT_EQ(std::memcmp(done.data, expected.data(), expected_length), 0);
        ASSERT_GE(done.data, arena.begin() - room.headroom);
        ASSERT_LE(done.data + done.length, arena.begin() + message.size() + room.tailroom);
        if (growth <= 0 || static_cast<size_t>(growth) <= room.headroom) {
          // The tail after the last edit kept its place: the message ends where it ended,
          // and all of it is reported unchanged (a checksum of it is reused).
          EXPECT_EQ(done.data + done.length, arena.begin() + message.size());
          EXPECT_EQ(done.unchanged_tail, message.size() - last_end);
          ++applied_in_headroom;
        } else {
          EXPECT_EQ(done.unchanged_tail, 0u);  // everything after the first edit moved
        }
      }
    }
  }
  EXPECT_GT(applied_in_headroom, 1000);
  EXPECT_GT(refused, 100);
}

// Overlapping or out-of-range edits are refused and the buffer is left as it was.
TEST(MessageEditorInPlace, RefusesOverlapAndOutOfRange) {
  struct Row {
    const char* description;
    uint32_t offset_a, remove_a, offset_b, remove_b;
  };
  const Row rows[] = {
      {"overlap", 4, 6, 8, 2},
      {"past the end", 4, 2, 30, 5},
  };
  const std::string message = "INVITE sip:a@b SIP/2.0\r\n\r\n";  // 26 bytes
  for (const Row& row : rows) {
    SCOPED_TRACE(row.description);
    MessageEditor editor;
    ASSERT_TRUE(editor.replace(row.offset_a, row.remove_a, "xx"));
    ASSERT_TRUE(editor.replace(row.offset_b, row.remove_b, "yyyy"));
    Arena arena(message, 64, 64);
    const std::vector<uint8_t> before = arena.bytes;
    EXPECT_EQ(editor.applyInPlace(arena.begin(), message.size(), 64, 64).data, nullptr);
    EXPECT_EQ(arena.bytes, before);
  }
}

// The proxy's own rewrites (our Via on top, received/rport, Max-Forwards, Route pop; a
// response's top Via removed) in place, with an mbuf's 128 bytes of headroom: the bytes of
// rewriteRequest / rewriteResponse, and the body does not move.
TEST(MessageEditorInPlace, ProxyRewritesInPlaceMatchCopies) {
  const std::string via =
      "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK-0123456789abcdef0123456789\r\n";
  int requests = 0;
  int responses = 0;
  for (const auto& [name, message] : corpusMessages()) {
    SCOPED_TRACE(name);
    parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
    parser::SipSummary summary;
    const parser::ByteView in(reinterpret_cast<const uint8_t*>(message.data()), message.size());
    const parser::ScanResult result = parser::scanAndValidate(in, parsed.message, summary);
    if (result.status != parser::ScanStatus::Complete) {
      continue;
    }
    const parser::ByteView whole(in.data, result.consumed);
    MessageEditor copy_editor;
    MessageEditor editor;
    std::vector<uint8_t> expected(70000);
    size_t expected_length = 0;
    bool prepared = false;
    if (parsed.message.isRequest()) {
      if (summary.max_forwards == 0) {
        continue;
      }
      RequestEdits copy_edits;
      copy_edits.via_line = via;
      copy_edits.received = "203.0.113.77";
      copy_edits.rport = 5099;
      RequestEdits edits = copy_edits;
      expected_length = rewriteRequest(whole, parsed.message, summary, copy_edits, copy_editor,
                                       expected.data(), expected.size());
      prepared = prepareRequest(parsed.message, summary, edits, editor);
      ++requests;
      Arena arena(message.substr(0, whole.size), 128, 0);
      ASSERT_TRUE(prepared);
      const auto done = editor.applyInPlace(arena.begin(), whole.size, 128, 0);
      ASSERT_NE(done.data, nullptr);
      ASSERT_EQ(done.length, expected_length);
      EXPECT_EQ(std::memcmp(done.data, expected.data(), expected_length), 0);
      EXPECT_EQ(done.data + done.length, arena.begin() + whole.size);
    } else {
      parser::Span cut;
      if (!topViaRemoval(whole, parsed.message, summary, cut)) {
        continue;
      }
      expected_length =
          rewriteResponse(whole, cut, copy_editor, expected.data(), expected.size());
      ASSERT_TRUE(prepareResponse(cut, editor));
      ++responses;
      Arena arena(message.substr(0, whole.size), 0, 0);
      const auto done = editor.applyInPlace(arena.begin(), whole.size, 0, 0);
      ASSERT_NE(done.data, nullptr);
      ASSERT_EQ(done.length, expected_length);
      EXPECT_EQ(std::memcmp(done.data, expected.data(), expected_length), 0);
      EXPECT_EQ(done.data + done.length, arena.begin() + whole.size);  // body in place
    }
  }
  EXPECT_GE(requests, 8);
  EXPECT_GE(responses, 3);
}

}  // namespace
}  // namespace sipshield::lb
