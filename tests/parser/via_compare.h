#pragma once

// expectSameVia: the via-parm fast path (parseViaParm) and the general grammar
// (detail::parseViaParmGeneral) give the same verdict, stop offset and fields on
// [begin, end) of `s`, read from an exact-size copy so ASan catches reads past the end.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "parser/via.h"

namespace sipshield::parser {

// expectSameViaEntry: every field of two parsed via-parms is equal (`context` names the input).
inline void expectSameViaEntry(const ViaEntry& a, const ViaEntry& b, const std::string& context) {
  auto same = [](Span x, Span y) { return x.offset == y.offset && x.length == y.length; };
  EXPECT_TRUE(same(a.whole, b.whole)) << context;
  EXPECT_TRUE(same(a.protocol, b.protocol)) << context;
  EXPECT_TRUE(same(a.transport, b.transport)) << context;
  EXPECT_TRUE(same(a.host, b.host)) << context;
  EXPECT_EQ(a.port, b.port) << context;
  EXPECT_TRUE(same(a.branch, b.branch)) << context;
  EXPECT_TRUE(same(a.received, b.received)) << context;
  EXPECT_TRUE(same(a.maddr, b.maddr)) << context;
  EXPECT_TRUE(same(a.ttl, b.ttl)) << context;
  EXPECT_EQ(a.has_rport, b.has_rport) << context;
  EXPECT_EQ(a.rport, b.rport) << context;
  EXPECT_TRUE(same(a.rport_param, b.rport_param)) << context;
  EXPECT_TRUE(same(a.params, b.params)) << context;
}

inline void expectSameVia(const std::string& s, uint32_t begin, uint32_t end) {
  std::vector<char> bytes(s.begin(), s.end());  // exact size for ASan
  ByteView buffer(bytes.data(), bytes.size());
  ViaEntry fast;
  ViaEntry general;
  uint32_t fast_stop = 0xDEAD;
  uint32_t general_stop = 0xDEAD;
  bool fast_ok = parseViaParm(buffer, begin, end, fast, &fast_stop);
  bool general_ok = detail::parseViaParmGeneral(buffer, begin, end, general, &general_stop);
  ASSERT_EQ(fast_ok, general_ok) << s;
  ASSERT_EQ(fast_stop, general_stop) << s;
  if (!fast_ok) {
    return;
  }
  expectSameViaEntry(fast, general, s);
}

}  // namespace sipshield::parser
