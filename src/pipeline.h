#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "filters/filter_chain.h"
#include "lb/affinity_table.h"
#include "lb/dispatcher.h"
#include "lb/message_editor.h"
#include "lb/proxy_rewrite.h"
#include "lb/snapshot_publisher.h"
#include "parser/validate.h"
#include "src/packet.h"
#include "src/pipeline_counters.h"
#include "src/runtime.h"

namespace sipshield {

// Pipeline is one worker's per-packet path (DESIGN.md "The path of one packet"): scan and
// validate, then forward as an RFC 3261 §16.11 stateless proxy — requests from clients to the
// backend chosen by the Call-ID, responses back down their Via path after checking that our
// signed Via is on top, requests from backends (record-route mode) by their Route/R-URI.
//
// One Pipeline per worker thread; the I/O backend calls processBurst() once per burst. No
// allocation, no lock, no syscall in processBurst(): every buffer is a member sized at
// construction. The snapshot is read once per burst and released (quiescent) after it.
class Pipeline final : public BurstHandler {
 public:
  static constexpr uint16_t kMaxTrackedBackends = 256;

  // Pipeline reads snapshots from `publisher` as reader `reader_id` and shares `affinity` (may
  // be null: stateless hashing) with the other workers. Both must outlive the pipeline.
  // `shield_sizes` fixes the DoS shield's per-worker tables (allocated here, once).
  Pipeline(lb::SnapshotPublisher<RuntimeSnapshot>& publisher, uint32_t reader_id,
           lb::AffinityTable* affinity, const filters::StateSizes& shield_sizes = {});

  void processBurst(std::span<const RxPacket> packets, TxBatch& tx, uint64_t now_ns) override;
  void idle(TxBatch& tx, uint64_t now_ns) override;

  // counters are this worker's; safe to read from another thread.
  [[nodiscard]] const PipelineCounters& counters() const { return counters_; }
  // dispatchStats are the dispatcher's counters (read racily by the control plane; advisory).
  [[nodiscard]] const lb::DispatchStats& dispatchStats() const { return dispatcher_.stats(); }
  // backend503s counts 503 responses relayed from backend `index`: a passive health signal.
  [[nodiscard]] uint64_t backend503s(uint16_t index) const {
    return index < kMaxTrackedBackends ? backend_503_[index].load(std::memory_order_relaxed) : 0;
  }
  // forwardedTo counts requests sent to backend `index`.
  [[nodiscard]] uint64_t forwardedTo(uint16_t index) const {
    return index < kMaxTrackedBackends ? backend_requests_[index].load(std::memory_order_relaxed)
                                       : 0;
  }

  // --- DoS shield (issue 4) ---
  // shield is this worker's filter chain: per-rule counters, counts by reason, ban events
  // (see filters::FilterChain for which members another thread may call).
  [[nodiscard]] const filters::FilterChain& shield() const { return shield_; }
  [[nodiscard]] filters::FilterChain& shield() { return shield_; }
  // --- end DoS shield ---

  // setUnderFlood switches off affinity inserts (STYLE.md: under flood, do less).
  void setUnderFlood(bool under_flood) { dispatcher_.setUnderFlood(under_flood); }

 private:
  void handleRequest(const RxPacket& packet, parser::ByteView in, TxBatch& tx, uint64_t now_ms);
  void handleResponse(const RxPacket& packet, parser::ByteView in, TxBatch& tx);
  // reply sends a stateless response to the request's sender (RFC 3261 §18.2.2, RFC 3581).
  // Returns whether the reply was queued (false: counted as a drop already).
  bool reply(const RxPacket& packet, parser::ByteView in, uint16_t status,
             std::string_view reason, uint32_t retry_after_s, TxBatch& tx);
  // emit claims a transmit slot, lets `write(uint8_t* out) -> size_t` fill it (0 = does not
  // fit) and queues it for `destination` from listen socket `local`. Counts a full batch or an
  // oversized result as a drop and returns false; returns true when the datagram is queued.
  template <typename Write>
  bool emit(TxBatch& tx, const net::Endpoint& destination, int local, Write&& write) {
    TxPacket* out = tx.claim();
    if (out == nullptr) {
      counters_.add(PipelineCounter::DroppedTxFull);
      return false;
    }
    const size_t length = write(out->data);
    if (length == 0) {
      counters_.add(PipelineCounter::DroppedTooLarge);
      return false;
    }
    out->destination = destination;
    out->local_index = static_cast<uint8_t>(local);
    tx.commit(static_cast<uint32_t>(length));
    return true;
  }
  // emitEdited queues `in` with the edits editor_ holds for `destination` from `local`: in
  // place when the backend lent the received buffer (packet.writable) and the growth fits
  // around it, so the backend transmits that buffer; else copied into a slot (write()).
  // Counts and returns like emit().
  bool emitEdited(TxBatch& tx, const RxPacket& packet, parser::ByteView in,
                  const net::Endpoint& destination, int local) {
    if (packet.writable != nullptr && packet.writable == packet.data) {
      TxPacket* out = tx.claim();
      if (out == nullptr) {
        counters_.add(PipelineCounter::DroppedTxFull);
        return false;
      }
      if (static_cast<int64_t>(in.size) + editor_.growth() > kMaxUdpPayload) {
        counters_.add(PipelineCounter::DroppedTooLarge);
        return false;
      }
      // Bytes after Content-Length (cut off in `in`) are free room too.
      const lb::MessageEditor::InPlace done = editor_.applyInPlace(
          packet.writable, in.size, packet.headroom,
          packet.tailroom + (packet.length - static_cast<uint32_t>(in.size)));
      if (done.data != nullptr) {
        out->destination = destination;
        out->local_index = static_cast<uint8_t>(local);
        tx.commitInPlace(packet, done.data, static_cast<uint32_t>(done.length),
                         static_cast<uint32_t>(done.unchanged_tail));
        return true;
      }
    }
    return emit(tx, destination, local,
                [&](uint8_t* out) { return editor_.write(in, out, kMaxUdpPayload); });
  }
  // routeFromBackend finds the next hop of a request a backend sends toward a client.
  bool routeFromBackend(parser::ByteView in, lb::RequestEdits& edits, net::Endpoint& next);
  [[nodiscard]] bool topViaIsOurs(parser::ByteView in) const;
  // popOwnRoutes sets `edits` to pop the leading Route elements that address us (§16.4; two
  // after double record-routing) and returns the URI of the element after them in
  // `after_ours` (false when there is none).
  bool popOwnRoutes(parser::ByteView in, lb::RequestEdits& edits, parser::Span& after_ours);
  [[nodiscard]] bool uriIsOurs(parser::ByteView in, parser::Span uri) const;
  // recordRouteLines is our Record-Route for a request leaving by listen socket `out_local`
  // that came in on `in_local`: one line, or two when they differ (RFC 5658).
  std::string_view recordRouteLines(int out_local, int in_local);
  void bump(std::atomic<uint64_t>* table, int index) {
    if (index >= 0 && index < kMaxTrackedBackends) {
      auto& v = table[index];
      v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
  }

  lb::SnapshotPublisher<RuntimeSnapshot>& publisher_;
  uint32_t reader_id_;
  const RuntimeSnapshot* snapshot_ = nullptr;
  lb::Dispatcher dispatcher_;
  lb::MessageEditor editor_;
  // A scanned packet waiting to be forwarded. Two slots let packet i+1 be scanned, and its
  // affinity bucket prefetched, before packet i is forwarded: the bucket's cache miss overlaps
  // the forwarding work instead of stalling it (VPP's one-packet-ahead prefetch).
  struct ScanSlot {
    parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
    parser::SipSummary summary;
    parser::ScanResult result;
    filters::PacketMeta meta;
    uint64_t key = 0;         // dispatch key (requests)
    int from_backend = -1;    // index of the backend that sent the packet, or -1
    bool dropped = false;     // dropped (and counted) by the shield before scanning
  };
  // scanAhead runs the pre-parse shield, the scan and, for a request, the dispatch key and its
  // prefetch; forward() does the rest for the packet scanned into `slot`.
  void scanAhead(const RxPacket& packet, ScanSlot& slot, uint64_t now_ms);
  void forward(const RxPacket& packet, ScanSlot& slot, TxBatch& tx, uint64_t now_ms);
  // How this burst's messages are checked: [shield.sanity] check_every_via, else Used.
  parser::ViaCheck via_check_ = parser::ViaCheck::Used;
  ScanSlot slots_[2];
  ScanSlot* current_ = &slots_[0];  // the slot forward() works on
  // Our Via line: "Via: SIP/2.0/UDP " + host (<= 253, config-checked) + ":port;branch=" +
  // branch + CRLF fits with room to spare.
  char via_line_[512];
  // Two Record-Route lines (double record-routing), each "Record-Route: <sip:" + host (<= 253)
  // + ":port;lr>" + CRLF.
  char record_route_lines_[640];
  char source_text_[64];
  PipelineCounters counters_;
  filters::FilterChain shield_;  // DoS shield: rules from the snapshot, state per worker
  std::atomic<uint64_t> backend_503_[kMaxTrackedBackends] = {};
  std::atomic<uint64_t> backend_requests_[kMaxTrackedBackends] = {};
};

}  // namespace sipshield
