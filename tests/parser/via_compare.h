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
  auto same = [](Span a, Span b) { return a.offset == b.offset && a.length == b.length; };
  EXPECT_TRUE(same(fast.whole, general.whole)) << s;
  EXPECT_TRUE(same(fast.protocol, general.protocol)) << s;
  EXPECT_TRUE(same(fast.transport, general.transport)) << s;
  EXPECT_TRUE(same(fast.host, general.host)) << s;
  EXPECT_EQ(fast.port, general.port) << s;
  EXPECT_TRUE(same(fast.branch, general.branch)) << s;
  EXPECT_TRUE(same(fast.received, general.received)) << s;
  EXPECT_TRUE(same(fast.maddr, general.maddr)) << s;
  EXPECT_TRUE(same(fast.ttl, general.ttl)) << s;
  EXPECT_EQ(fast.has_rport, general.has_rport) << s;
  EXPECT_EQ(fast.rport, general.rport) << s;
  EXPECT_TRUE(same(fast.rport_param, general.rport_param)) << s;
  EXPECT_TRUE(same(fast.params, general.params)) << s;
}

}  // namespace sipshield::parser
