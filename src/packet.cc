#include "src/packet.h"

#include <new>

namespace sipshield {

TxBatch::TxBatch(uint32_t slots)
    : slots_(slots),
      // Default-initialised (not zeroed) so the kernel only backs the pages a worker touches.
      memory_(new uint8_t[static_cast<size_t>(slots) * kSlotBytes]),
      packets_(new TxPacket[slots]) {
  for (uint32_t i = 0; i < slots_; ++i) {
    packets_[i].data = slotMemory(i);
  }
}

TxBatch::~TxBatch() {
  delete[] packets_;
  delete[] memory_;
}

TxPacket* TxBatch::claim() {
  if (count_ == slots_) {
    return nullptr;
  }
  // A claimed but never committed slot is handed out again, so reset what the last user left.
  TxPacket* packet = &packets_[count_];
  packet->data = slotMemory(count_);  // an in-place use pointed it elsewhere
  packet->length = 0;
  packet->destination = net::Endpoint{};
  packet->local_index = 0;
  packet->in_place_of = nullptr;
  packet->unchanged_tail = 0;
  return packet;
}

void TxBatch::commit(uint32_t length) {
  if (count_ == slots_) {
    return;  // nothing was claimed: claim() returned nullptr
  }
  packets_[count_].length = length <= kSlotBytes ? length : kSlotBytes;
  ++count_;
}

void TxBatch::commitInPlace(const RxPacket& source, uint8_t* data, uint32_t length,
                            uint32_t unchanged_tail) {
  if (count_ == slots_) {
    return;  // nothing was claimed: claim() returned nullptr
  }
  TxPacket& packet = packets_[count_];
  packet.data = data;
  packet.length = length;
  packet.in_place_of = &source;
  packet.unchanged_tail = unchanged_tail;
  ++count_;
}

}  // namespace sipshield
