#include "filters/count_min.h"

#include <bit>
#include <cstring>

#include "filters/address.h"

namespace sipshield::filters {

CountMinSketch::CountMinSketch(uint32_t width, uint32_t depth) {
  const uint32_t w = std::bit_ceil(width < 16 ? 16u : width);
  mask_ = w - 1;
  depth_ = depth < 1 ? 1 : (depth > kMaxDepth ? kMaxDepth : depth);
  counters_ = std::make_unique<uint32_t[]>(size_t{depth_} * w);
}

uint32_t CountMinSketch::column(uint64_t key, uint32_t row) const {
  // Row hashes from one 64-bit hash (Kirsch-Mitzenmacher double hashing), remixed per row.
  const uint64_t h = mix64(key + row * 0x9e3779b97f4a7c15ull);
  return static_cast<uint32_t>(h) & mask_;
}

uint32_t CountMinSketch::add(uint64_t key) {
  uint32_t* cells[kMaxDepth];
  uint32_t minimum = UINT32_MAX;
  for (uint32_t r = 0; r < depth_; ++r) {
    cells[r] = &counters_[size_t{r} * (mask_ + 1) + column(key, r)];
    minimum = *cells[r] < minimum ? *cells[r] : minimum;
  }
  if (minimum == UINT32_MAX) {
    return minimum;  // saturated
  }
  const uint32_t next = minimum + 1;
  for (uint32_t r = 0; r < depth_; ++r) {
    if (*cells[r] < next) {
      *cells[r] = next;  // conservative update: only the rows at the minimum move
    }
  }
  return next;
}

uint32_t CountMinSketch::estimate(uint64_t key) const {
  uint32_t minimum = UINT32_MAX;
  for (uint32_t r = 0; r < depth_; ++r) {
    const uint32_t v = counters_[size_t{r} * (mask_ + 1) + column(key, r)];
    minimum = v < minimum ? v : minimum;
  }
  return minimum;
}

void CountMinSketch::clear() {
  std::memset(counters_.get(), 0, memoryBytes());
}

}  // namespace sipshield::filters
