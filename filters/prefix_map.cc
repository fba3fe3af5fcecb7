#include "filters/prefix_map.h"

#include <algorithm>

namespace sipshield::filters {
namespace {

template <typename U>
struct Interval {
  U start;
  U last;  // inclusive: a /0 covers the whole space without overflow
  uint8_t length;
  uint32_t value;
  size_t order;
};

// flatten turns nested prefixes into disjoint ranges [starts[i], starts[i+1]) each holding
// the value of its longest covering prefix (kNoMatch where none covers).
template <typename U>
void flatten(std::vector<Interval<U>>& intervals, std::vector<U>& starts,
             std::vector<uint32_t>& values) {
  // Outer prefixes before inner ones; for the same prefix, input order (later wins, inner).
  std::sort(intervals.begin(), intervals.end(), [](const Interval<U>& a, const Interval<U>& b) {
    if (a.start != b.start) {
      return a.start < b.start;
    }
    if (a.length != b.length) {
      return a.length < b.length;
    }
    return a.order < b.order;
  });
  starts.assign(1, U{0});
  values.assign(1, PrefixMap::kNoMatch);
  auto emit = [&](U position, uint32_t value) {
    if (starts.back() == position) {
      values.back() = value;
      // A range overwritten to its predecessor's value merges with it.
      if (values.size() >= 2 && values[values.size() - 2] == value) {
        starts.pop_back();
        values.pop_back();
      }
      return;
    }
    if (values.back() != value) {
      starts.push_back(position);
      values.push_back(value);
    }
  };
  std::vector<const Interval<U>*> stack;
  auto pop = [&]() {
    const Interval<U>* done = stack.back();
    stack.pop_back();
    if (done->last != static_cast<U>(~U{0})) {
      emit(static_cast<U>(done->last + 1), stack.empty() ? PrefixMap::kNoMatch : stack.back()->value);
    }
  };
  for (const Interval<U>& interval : intervals) {
    while (!stack.empty() && stack.back()->last < interval.start) {
      pop();
    }
    emit(interval.start, interval.value);
    stack.push_back(&interval);
  }
  while (!stack.empty()) {
    pop();
  }
}

template <typename U>
void buildIndex(const std::vector<U>& starts, int shift, std::vector<uint32_t>& index) {
  index.assign(65537, 0);
  size_t i = 0;
  for (uint32_t k = 0; k <= 65536; ++k) {
    const U block_start = static_cast<U>(static_cast<U>(k) << shift);
    while (i < starts.size() && (k == 65536 || starts[i] < block_start)) {
      ++i;
    }
    index[k] = static_cast<uint32_t>(i);
  }
}

template <typename U>
uint32_t search(const std::vector<U>& starts, const std::vector<uint32_t>& values,
                const std::vector<uint32_t>& index, U address, uint32_t block) {
  // The range holding the first address of the block may start before it: step back one.
  uint32_t lo = index[block];
  lo = lo == 0 ? 0 : lo - 1;
  const uint32_t hi = index[block + 1];
  const U* first = starts.data() + lo;
  const U* last = starts.data() + hi;
  const U* it = std::upper_bound(first, last, address);
  return values[static_cast<size_t>(it - starts.data()) - 1];
}

}  // namespace

PrefixMap::PrefixMap() { build({}); }

void PrefixMap::build(std::vector<Entry> entries) {
  std::vector<Interval<uint32_t>> v4;
  std::vector<Interval<Uint128>> v6;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const Address masked = maskAddress(e.prefix.address, e.prefix.length);
    if (masked.v6) {
      const Uint128 start = masked.v6Value();
      const Uint128 span_bits =
          e.prefix.length == 0 ? ~static_cast<Uint128>(0)
                               : (static_cast<Uint128>(1) << (128 - e.prefix.length)) - 1;
      v6.push_back({start, start | span_bits, e.prefix.length, e.value, i});
    } else {
      const uint32_t start = masked.v4Value();
      const uint32_t span_bits =
          e.prefix.length == 0 ? 0xffffffffu : (uint32_t{1} << (32 - e.prefix.length)) - 1;
      v4.push_back({start, start | span_bits, e.prefix.length, e.value, i});
    }
  }
  prefix_count_ = entries.size();
  flatten(v4, v4_starts_, v4_values_);
  flatten(v6, v6_starts_, v6_values_);
  buildIndex(v4_starts_, 16, v4_index_);
  buildIndex(v6_starts_, 112, v6_index_);
}

uint32_t PrefixMap::lookupV4(uint32_t address) const {
  return search(v4_starts_, v4_values_, v4_index_, address, address >> 16);
}

uint32_t PrefixMap::lookupV6(Uint128 address) const {
  return search(v6_starts_, v6_values_, v6_index_, address,
                static_cast<uint32_t>(address >> 112));
}

size_t PrefixMap::memoryBytes() const {
  return v4_starts_.size() * 4 + v4_values_.size() * 4 + v4_index_.size() * 4 +
         v6_starts_.size() * 16 + v6_values_.size() * 4 + v6_index_.size() * 4;
}

}  // namespace sipshield::filters
