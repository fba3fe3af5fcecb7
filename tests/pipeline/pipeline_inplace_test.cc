// The pipeline's in-place mode (issue 5, DPDK zero copy): when the backend lends the received
// buffer (RxPacket::writable with head/tailroom), forwarded requests and responses are
// rewritten inside it and the TxPacket refers to that packet; the bytes equal the copy path's
// on every corpus request and its response. When the growth fits neither side, or the backend
// lends nothing (uring), the copy path is taken and the received bytes are left alone.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/pipeline/pipeline_test_util.h"

namespace sipshield {
namespace {

using testing::Harness;

const char* const kRequests[] = {
    "01_invite_sdp.sip", "05_ack.sip",   "06_bye.sip",         "08_register_initial.sip",
    "10_register_digest.sip", "12_options_keepalive.sip", "13_cancel.sip",
    "14_compact_message.sip", "15_folded_subscribe.sip", "18_notify_mwi.sip"};

// Out is one transmitted datagram and whether it referenced the received packet.
struct Out {
  std::string bytes;
  const RxPacket* in_place_of = nullptr;
  const uint8_t* data = nullptr;
};

// Room is how the buffer around a received message is lent (or not) to the pipeline.
struct Room {
  const char* description;
  bool lend;
  uint16_t headroom;
  uint16_t tailroom;
  bool expect_in_place_request;  // a request grows (our Via): needs room
};

const Room kRooms[] = {
    {"not lent (uring)", false, 0, 0, false},
    {"mbuf headroom", true, 128, 0, true},
    {"tailroom only", true, 0, 256, true},
    {"no room", true, 0, 0, false},
};

// runOne sends `message` from `source` with `room` and returns what went out; `arena` holds
// the received bytes (at offset 256) for the caller to inspect afterwards.
std::vector<Out> runOne(Harness& h, const std::string& message, const net::Endpoint& source,
                        const Room& room, std::vector<uint8_t>& arena, RxPacket& packet) {
  arena.assign(256 + message.size() + 256, 0);
  uint8_t* begin = arena.data() + 256;
  std::memcpy(begin, message.data(), message.size());
  packet = RxPacket{};
  packet.data = begin;
  packet.length = static_cast<uint32_t>(message.size());
  packet.source = source;
  if (room.lend) {
    packet.writable = begin;
    packet.headroom = room.headroom;
    packet.tailroom = room.tailroom;
  }
  h.tx().clear();
  h.pipeline().processBurst(std::span<const RxPacket>(&packet, 1), h.tx(), 2'000'000'000'000ull);
  std::vector<Out> out;
  for (const TxPacket& p : h.tx().ready()) {
    out.push_back({std::string(reinterpret_cast<const char*>(p.data), p.length), p.in_place_of,
                   p.data});
  }
  h.tx().clear();
  return out;
}

// A backend's answer to a forwarded request: its headers (our Via on top) as a 200 OK.
std::string responseTo(const std::string& forwarded) {
  const size_t start = forwarded.find("\r\n") + 2;
  const size_t end = forwarded.find("\r\n\r\n") + 2;
  std::string headers;
  size_t at = start;
  while (at < end) {
    const size_t eol = forwarded.find("\r\n", at) + 2;
    const std::string line = forwarded.substr(at, eol - at);
    const bool length = line.rfind("Content-Length:", 0) == 0 || line.rfind("l:", 0) == 0;
    const bool type = line.rfind("Content-Type:", 0) == 0 || line.rfind("c:", 0) == 0;
    if (!length && !type) {
      headers += line;
    }
    at = eol;
  }
  return "SIP/2.0 200 OK\r\n" + headers + "Content-Length: 0\r\n\r\n";
}

// Each corpus request and the response to it, in every room layout: same bytes as the copy
// path; in place exactly when lent and (for requests) room for the growth; the message's end
// (the body) did not move when it grew into the headroom or shrank.
TEST(PipelineInPlace, SameBytesAsCopyPathOnCorpus) {
  const net::Endpoint client = testing::ep("203.0.113.7:5070");
  int in_place = 0;
  for (const char* name : kRequests) {
    const std::string request = testing::corpus(name);
    // The copy path's bytes are the reference.
    Harness reference;
    const std::vector<testing::Sent> copied = reference.send(request, client);
    ASSERT_EQ(copied.size(), 1u) << name;
    const std::string response = responseTo(copied[0].bytes);
    const net::Endpoint backend = copied[0].destination;
    const std::vector<testing::Sent> copied_response = reference.send(response, backend);
    ASSERT_EQ(copied_response.size(), 1u) << name;
    for (const Room& room : kRooms) {
      SCOPED_TRACE(std::string(name) + ", " + room.description);
      Harness h;
      std::vector<uint8_t> arena;
      RxPacket packet;
      const std::vector<Out> out = runOne(h, request, client, room, arena, packet);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].bytes, copied[0].bytes);
      if (room.expect_in_place_request) {
        EXPECT_EQ(out[0].in_place_of, &packet);
        EXPECT_GE(out[0].data, arena.data() + 256 - room.headroom);
        if (room.headroom >= out[0].bytes.size() - request.size()) {
          EXPECT_EQ(out[0].data + out[0].bytes.size(), arena.data() + 256 + request.size());
        }
        ++in_place;
      } else {
        EXPECT_EQ(out[0].in_place_of, nullptr);
        EXPECT_EQ(std::memcmp(arena.data() + 256, request.data(), request.size()), 0);
      }
      // The response shrinks (our Via comes off): in place whenever the buffer is lent.
      const std::vector<Out> back = runOne(h, response, backend, room, arena, packet);
      ASSERT_EQ(back.size(), 1u);
      EXPECT_EQ(back[0].bytes, copied_response[0].bytes);
      if (room.lend) {
        EXPECT_EQ(back[0].in_place_of, &packet);
        EXPECT_EQ(back[0].data + back[0].bytes.size(), arena.data() + 256 + response.size());
        ++in_place;
      } else {
        EXPECT_EQ(back[0].in_place_of, nullptr);
      }
    }
  }
  EXPECT_GE(in_place, 40);
}

// A TxBatch slot used in place points back at its slot memory when claimed again (the copy
// path must never write into the received buffer of an earlier burst).
TEST(PipelineInPlace, ClaimRestoresSlotMemory) {
  TxBatch tx(2);
  TxPacket* first = tx.claim();
  ASSERT_NE(first, nullptr);
  uint8_t* slot = first->data;
  RxPacket packet;
  uint8_t buffer[16] = {};
  packet.writable = buffer;
  tx.commitInPlace(packet, buffer + 2, 10);
  ASSERT_EQ(tx.ready().size(), 1u);
  EXPECT_EQ(tx.ready()[0].in_place_of, &packet);
  EXPECT_EQ(tx.ready()[0].data, buffer + 2);
  tx.clear();
  TxPacket* again = tx.claim();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->data, slot);
  EXPECT_EQ(again->in_place_of, nullptr);
}

}  // namespace
}  // namespace sipshield
