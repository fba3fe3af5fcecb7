#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "lb/result.h"

namespace sipshield::lb {

// SnapshotPublisher<T> publishes immutable snapshots (e.g. DispatchSnapshot) from one control
// thread to many worker threads, with quiescent-state-based reclamation (QSBR, the scheme of
// DPDK's rte_rcu_qsbr):
//
//   reader (a worker, id from registerReader()):
//     const T* s = pub.current();        // at the start of a burst; no lock, no refcount
//     ... use s for the whole burst ...
//     pub.quiescent(id);                 // after the burst: "I hold no snapshot pointer now"
//
//   writer (the single control thread):
//     pub.publish(std::move(next));      // swaps the pointer, retires the old snapshot
//     pub.reclaim();                     // frees retired snapshots no reader can still hold
//
// Reclamation rule: a snapshot retired at epoch E is freed only once every online reader has
// called quiescent() after the swap (its recorded epoch >= E). A reader that stops polling
// (idle or exiting) must call offline() so it does not hold back reclamation, and online()
// before its next current(). Readers never allocate, lock, or write shared cache lines other
// than their own slot.
//
// Thread-safety: current/quiescent/online/offline may be called by readers concurrently, each
// with its own id. publish/reclaim/registerReader are for one writer thread at a time. The
// destructor frees everything and requires that no reader is still running.
template <typename T>
class SnapshotPublisher {
 public:
  // SnapshotPublisher makes a publisher for at most `max_readers` readers holding `initial`
  // (which may be null: current() then returns null until the first publish()).
  explicit SnapshotPublisher(uint32_t max_readers, std::unique_ptr<const T> initial = nullptr)
      : readers_(new ReaderSlot[max_readers == 0 ? 1 : max_readers]),
        max_readers_(max_readers == 0 ? 1 : max_readers) {
    current_.store(initial.release(), std::memory_order_release);
  }
  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;
  ~SnapshotPublisher() {
    delete current_.load(std::memory_order_acquire);
    for (auto& r : retired_) {
      delete r.snapshot;
    }
  }

  // registerReader returns a new reader id (online at the current epoch), or
  // ResourceExhausted when max_readers are already registered. Writer/startup side.
  [[nodiscard]] Result<uint32_t> registerReader() {
    if (registered_ == max_readers_) {
      return Status(StatusCode::ResourceExhausted, "snapshot publisher: too many readers");
    }
    const uint32_t id = registered_;
    readers_[id].epoch.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    // Publish the slot after it is initialised; reclaim() reads only slots below this count.
    registered_count_.store(id + 1, std::memory_order_seq_cst);
    ++registered_;
    return id;
  }

  // current returns the latest published snapshot (or null before the first). Reader side:
  // the pointer stays valid until this reader's next quiescent() or offline().
  [[nodiscard]] const T* current() const { return current_.load(std::memory_order_acquire); }

  // quiescent tells the writer that reader `id` holds no snapshot pointer now. Call it once per
  // burst (it is one load and one store to the reader's own cache line).
  void quiescent(uint32_t id) {
    readers_[id].epoch.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
  }

  // offline marks reader `id` as not holding snapshots until online(); reclamation ignores it.
  void offline(uint32_t id) { readers_[id].epoch.store(kOffline, std::memory_order_release); }

  // online makes reader `id` count again; call it before the next current().
  void online(uint32_t id) {
    readers_[id].epoch.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    // Order the slot store before the reader's next load of current_ (store-load, Dekker).
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

  // publish makes `next` the current snapshot and retires the previous one; then reclaims what
  // it can. Writer side; allocates (the retired list).
  void publish(std::unique_ptr<const T> next) {
    const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
    const uint64_t tag = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (old != nullptr) {
      retired_.push_back(Retired{old, tag});
    }
    reclaim();
  }

  // reclaim frees every retired snapshot that no reader can still hold. Writer side.
  // Returns how many snapshots are still waiting.
  size_t reclaim() {
    const uint64_t safe = minReaderEpoch();
    size_t kept = 0;
    for (auto& r : retired_) {
      if (r.tag <= safe) {
        delete r.snapshot;
      } else {
        retired_[kept++] = r;
      }
    }
    retired_.resize(kept);
    return kept;
  }

  // pendingCount returns the number of retired snapshots not yet freed (tests, metrics).
  [[nodiscard]] size_t pendingCount() const { return retired_.size(); }

 private:
  static constexpr uint64_t kOffline = std::numeric_limits<uint64_t>::max();

  struct alignas(64) ReaderSlot {
    std::atomic<uint64_t> epoch{kOffline};
  };
  struct Retired {
    const T* snapshot;
    uint64_t tag;
  };

  uint64_t minReaderEpoch() const {
    uint64_t min_epoch = kOffline;
    const uint32_t n = registered_count_.load(std::memory_order_seq_cst);
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t e = readers_[i].epoch.load(std::memory_order_seq_cst);
      min_epoch = e < min_epoch ? e : min_epoch;
    }
    return min_epoch;
  }

  alignas(64) std::atomic<const T*> current_{nullptr};
  alignas(64) std::atomic<uint64_t> epoch_{1};
  std::unique_ptr<ReaderSlot[]> readers_;
  const uint32_t max_readers_;
  uint32_t registered_ = 0;
  std::atomic<uint32_t> registered_count_{0};
  std::vector<Retired> retired_;
};

}  // namespace sipshield::lb
