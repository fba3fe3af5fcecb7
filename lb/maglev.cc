#include "lb/maglev.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace sipshield::lb {
namespace {

// Distinct XXH3 seeds give the two independent hashes of the paper's offset/skip.
constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

struct Permutation {
  uint32_t offset;
  uint32_t skip;
};

Permutation permutationOf(const MaglevBackend& b, uint32_t m) {
  // Hash a fixed little-endian layout so tables are identical on every host.
  uint8_t buf[12];
  for (int i = 0; i < 4; ++i) {
    buf[i] = static_cast<uint8_t>(b.id >> (8 * i));
  }
  for (int i = 0; i < 8; ++i) {
    buf[4 + i] = static_cast<uint8_t>(b.seed >> (8 * i));
  }
  const uint64_t h1 = XXH3_64bits_withSeed(buf, sizeof(buf), kOffsetSeed);
  const uint64_t h2 = XXH3_64bits_withSeed(buf, sizeof(buf), kSkipSeed);
  return Permutation{static_cast<uint32_t>(h1 % m), static_cast<uint32_t>(h2 % (m - 1) + 1)};
}

Status validate(std::span<const MaglevBackend> backends, uint32_t table_size) {
  if (backends.empty()) {
    return Status(StatusCode::InvalidArgument, "maglev: no backends");
  }
  if (backends.size() > kMaxMaglevBackends) {
    return Status(StatusCode::InvalidArgument,
                  "maglev: more than " + std::to_string(kMaxMaglevBackends) + " backends");
  }
  if (table_size > kMaxMaglevTableSize || !isPrime(table_size)) {
    return Status(StatusCode::InvalidArgument,
                  "maglev: table size " + std::to_string(table_size) + " is not a prime <= " +
                      std::to_string(kMaxMaglevTableSize));
  }
  if (table_size < backends.size()) {
    return Status(StatusCode::InvalidArgument, "maglev: table smaller than the backend count");
  }
  const bool any_weight = std::any_of(backends.begin(), backends.end(),
                                      [](const MaglevBackend& b) { return b.weight > 0; });
  if (!any_weight) {
    return Status(StatusCode::InvalidArgument, "maglev: every backend has weight 0");
  }
  return Status();
}

// Scratch holds the per-backend walk state so the fallback builder reuses one allocation.
struct Scratch {
  std::vector<Permutation> perm;
  std::vector<uint32_t> pos;
  std::vector<uint64_t> credit;
  std::vector<uint16_t> order;  // backends taking turns, in index order
};

// fill runs the weighted Maglev population with backend `excluded` (or kNoBackend) treated as
// weight 0. Precondition: validate() passed and at least one other backend has weight > 0.
// With `watch` (the full table) it stops as soon as every slot `excluded` owned in `watch` is
// filled, leaving other slots possibly unfilled: the fallback build only reads those slots.
// (The last watched slot is usually filled late, so this saves only ~5-10%.)
void fill(std::span<const MaglevBackend> backends, uint32_t m, uint16_t excluded,
          Scratch& scratch, std::vector<uint16_t>& out,
          std::span<const uint16_t> watch = {}) {
  const size_t n = backends.size();
  scratch.order.clear();
  uint64_t max_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    if (backends[i].weight > 0 && i != excluded) {
      scratch.order.push_back(static_cast<uint16_t>(i));
      max_weight = std::max<uint64_t>(max_weight, backends[i].weight);
    }
  }
  scratch.pos.assign(n, 0);
  scratch.credit.assign(n, 0);
  for (uint16_t i : scratch.order) {
    scratch.pos[i] = scratch.perm[i].offset;
  }
  out.assign(m, kNoBackend);
  uint32_t filled = 0;
  uint32_t watched_left = 0;
  if (!watch.empty()) {
    for (uint16_t e : watch) {
      watched_left += e == excluded ? 1 : 0;
    }
  }
  while (true) {
    for (uint16_t i : scratch.order) {
      scratch.credit[i] += backends[i].weight;
      // The heaviest backend takes exactly one turn per round; lighter ones take a turn once
      // their accumulated credit reaches max_weight, so turns are proportional to weight.
      while (scratch.credit[i] >= max_weight) {
        scratch.credit[i] -= max_weight;
        const uint32_t skip = scratch.perm[i].skip;
        uint32_t c = scratch.pos[i];
        while (out[c] != kNoBackend) {
          c += skip;
          if (c >= m) {
            c -= m;
          }
        }
        out[c] = i;
        const uint32_t out_slot = c;
        c += skip;
        if (c >= m) {
          c -= m;
        }
        scratch.pos[i] = c;
        if (++filled == m) {
          return;
        }
        if (watched_left != 0 && watch[out_slot] == excluded && --watched_left == 0) {
          return;
        }
      }
    }
  }
}

void preparePermutations(std::span<const MaglevBackend> backends, uint32_t m, Scratch& scratch) {
  scratch.perm.resize(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    scratch.perm[i] = permutationOf(backends[i], m);
  }
}

}  // namespace

bool isPrime(uint32_t n) {
  if (n < 2) {
    return false;
  }
  if (n % 2 == 0) {
    return n == 2;
  }
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) {
      return false;
    }
  }
  return true;
}

Result<std::vector<uint16_t>> buildMaglevTable(std::span<const MaglevBackend> backends,
                                               uint32_t table_size) {
  Status st = validate(backends, table_size);
  if (!st.ok()) {
    return st;
  }
  Scratch scratch;
  preparePermutations(backends, table_size, scratch);
  std::vector<uint16_t> table;
  fill(backends, table_size, kNoBackend, scratch, table);
  return table;
}

Result<std::vector<uint16_t>> buildMaglevFallback(std::span<const MaglevBackend> backends,
                                                  std::span<const uint16_t> table,
                                                  uint32_t table_size) {
  Status st = validate(backends, table_size);
  if (!st.ok()) {
    return st;
  }
  if (table.size() != table_size) {
    return Status(StatusCode::InvalidArgument, "maglev: table does not match table_size");
  }
  std::vector<uint16_t> fallback(table_size, kNoBackend);
  size_t owners = 0;
  for (const MaglevBackend& b : backends) {
    owners += b.weight > 0 ? 1 : 0;
  }
  if (owners < 2) {
    return fallback;
  }
  Scratch scratch;
  preparePermutations(backends, table_size, scratch);
  std::vector<uint16_t> without;
  for (size_t b = 0; b < backends.size(); ++b) {
    if (backends[b].weight == 0) {
      continue;
    }
    fill(backends, table_size, static_cast<uint16_t>(b), scratch, without, table);
    for (uint32_t s = 0; s < table_size; ++s) {
      if (table[s] == b) {
        fallback[s] = without[s];
      }
    }
  }
  return fallback;
}

Result<MaglevTable> MaglevTable::build(std::span<const MaglevBackend> backends,
                                       uint32_t table_size, bool with_fallback) {
  auto primary = buildMaglevTable(backends, table_size);
  if (!primary.ok()) {
    return primary.status();
  }
  MaglevTable t;
  t.size_ = table_size;
  t.primary_ = std::move(primary).value();
  if (with_fallback) {
    auto fb = buildMaglevFallback(backends, t.primary_, table_size);
    if (!fb.ok()) {
      return fb.status();
    }
    t.fallback_ = std::move(fb).value();
  }
  return t;
}

}  // namespace sipshield::lb
