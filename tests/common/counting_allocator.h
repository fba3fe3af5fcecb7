#pragma once

#include <atomic>
#include <cstdint>

// Linking tests/common/counting_allocator.cc into a test binary replaces every global
// operator new/delete with versions that count allocations, so a test can prove a code path
// allocates nothing (DESIGN.md: no allocation per packet). One binary per use: the
// replacement is global.
extern std::atomic<uint64_t> g_allocations;

// allocationCount returns how many allocations the process has made so far.
inline uint64_t allocationCount() { return g_allocations.load(std::memory_order_relaxed); }
