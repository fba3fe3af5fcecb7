#include "src/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace sipshield {
namespace {

// Slots are distinct, kSlotBytes long, and ready() lists committed packets in order.
TEST(TxBatch, ClaimCommitInOrder) {
  TxBatch batch(4);
  EXPECT_EQ(batch.capacity(), 4u);
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_TRUE(batch.ready().empty());
  std::set<uint8_t*> seen;
  for (uint32_t i = 0; i < 3; ++i) {
    TxPacket* packet = batch.claim();
    ASSERT_NE(packet, nullptr);
    EXPECT_TRUE(seen.insert(packet->data).second);
    std::memset(packet->data, static_cast<int>('a' + i), TxBatch::kSlotBytes);  // whole slot
    packet->destination = *net::Endpoint::parse("127.0.0.1:5000");
    packet->destination.port = static_cast<uint16_t>(5000 + i);
    packet->local_index = static_cast<uint8_t>(i);
    batch.commit(10 + i);
  }
  ASSERT_EQ(batch.size(), 3u);
  const std::span<TxPacket> ready = batch.ready();
  ASSERT_EQ(ready.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ready[i].length, 10 + i);
    EXPECT_EQ(ready[i].destination.port, 5000 + i);
    EXPECT_EQ(ready[i].local_index, i);
    EXPECT_EQ(ready[i].data[0], 'a' + i);
    EXPECT_EQ(ready[i].data[TxBatch::kSlotBytes - 1], 'a' + i);  // slots do not overlap
  }
}

// A full batch refuses claims; commit without a successful claim changes nothing.
TEST(TxBatch, FullRefusesClaim) {
  TxBatch batch(2);
  ASSERT_NE(batch.claim(), nullptr);
  batch.commit(1);
  EXPECT_FALSE(batch.full());
  ASSERT_NE(batch.claim(), nullptr);
  batch.commit(2);
  EXPECT_TRUE(batch.full());
  EXPECT_EQ(batch.claim(), nullptr);
  batch.commit(99);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.ready()[1].length, 2u);
}

// An uncommitted claim is handed out again, reset, and never sent.
TEST(TxBatch, UncommittedClaimIsReused) {
  TxBatch batch(2);
  TxPacket* first = batch.claim();
  ASSERT_NE(first, nullptr);
  first->local_index = 7;
  first->destination.port = 9;
  first->length = 5;
  EXPECT_EQ(batch.size(), 0u);
  TxPacket* again = batch.claim();
  EXPECT_EQ(again, first);
  EXPECT_EQ(again->local_index, 0);
  EXPECT_EQ(again->destination.port, 0);
  EXPECT_EQ(again->length, 0u);
}

// clear() empties the batch for the next burst; lengths above a slot are clamped.
TEST(TxBatch, ClearAndClamp) {
  TxBatch batch(1);
  ASSERT_NE(batch.claim(), nullptr);
  batch.commit(TxBatch::kSlotBytes + 1);
  EXPECT_EQ(batch.ready()[0].length, TxBatch::kSlotBytes);
  batch.clear();
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_FALSE(batch.full());
  EXPECT_NE(batch.claim(), nullptr);
}

TEST(TxBatch, ZeroSlotsIsAlwaysFull) {
  TxBatch batch(0);
  EXPECT_TRUE(batch.full());
  EXPECT_EQ(batch.claim(), nullptr);
}

}  // namespace
}  // namespace sipshield
