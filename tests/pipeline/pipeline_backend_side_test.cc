// The backend side ([server] backend_listen): requests to backends leave from the backend
// socket and name it in Via, responses and backend requests go to clients from the client
// socket, and a request that changes sockets is double record-routed (RFC 5658), the popping
// side taking both of our Route elements off again.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/pipeline/pipeline_test_util.h"

namespace sipshield::testing {
namespace {

// Local indexes: listen = {192.0.2.10, [2001:db8::10]} (0, 1), backend_listen = {10.0.0.100} (2).
constexpr uint8_t kClientV4 = 0;
constexpr uint8_t kBackendSide = 2;
constexpr std::string_view kClientRr = "Record-Route: <sip:192.0.2.10:5060;lr>\r\n";
constexpr std::string_view kBackendRr = "Record-Route: <sip:10.0.0.100:5060;lr>\r\n";
constexpr std::string_view kCallId = "a84b4c76e66710b2c9f1d7e3@192.168.14.37";

HarnessOptions backendSide() {
  HarnessOptions options;
  options.backend_listen = {"10.0.0.100:5060"};
  options.record_route = true;
  return options;
}

// headerLines returns every line of `bytes` (before the blank line) that starts with `name`.
std::string headerLines(const std::string& bytes, std::string_view name) {
  std::string out;
  size_t line = bytes.find("\r\n") + 2;
  while (line < bytes.size()) {
    const size_t end = bytes.find("\r\n", line);
    if (end == std::string::npos || end == line) {
      break;
    }
    if (bytes.compare(line, name.size(), name) == 0) {
      out += bytes.substr(line, end + 2 - line);
    }
    line = end + 2;
  }
  return out;
}

TEST(PipelineBackendSide, InviteLeavesByTheBackendSocketDoubleRecordRouted) {
  Harness h(backendSide());
  const std::string invite = corpus("01_invite_sdp.sip");
  const std::vector<Sent> sent = h.send(invite, ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].local_index, kBackendSide);
  EXPECT_GE(h.backendOf(sent[0].destination), 0);
  Scanned out(sent[0].bytes);
  ASSERT_TRUE(out.complete());
  EXPECT_EQ(out.topHost(), "10.0.0.100");
  // Ours on top: the backend's route set starts at the address it can reach.
  EXPECT_EQ(headerLines(sent[0].bytes, "Record-Route"),
            std::string(kBackendRr) + std::string(kClientRr) +
                "Record-Route: <sip:203.0.113.41;lr;ftag=9fxced76sl>\r\n"
                "Record-Route: <sip:198.51.100.20;transport=tcp;lr>\r\n");
}

TEST(PipelineBackendSide, WithoutRecordRouteOnlyTheViaChanges) {
  HarnessOptions options = backendSide();
  options.record_route = false;
  Harness h(options);
  const std::string invite = corpus("01_invite_sdp.sip");
  const std::vector<Sent> sent = h.send(invite, ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].local_index, kBackendSide);
  EXPECT_EQ(Scanned(sent[0].bytes).topHost(), "10.0.0.100");
  EXPECT_EQ(headerLines(sent[0].bytes, "Record-Route"), headerLines(invite, "Record-Route"));
}

TEST(PipelineBackendSide, ResponseGoesToTheClientFromTheClientSocket) {
  Harness h(backendSide());
  const std::string invite = corpus("01_invite_sdp.sip");
  const std::vector<Sent> forwarded = h.send(invite, ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(forwarded.size(), 1u);
  // The backend answers with the request's headers (our Via on top) under a status line.
  std::string ok = forwarded[0].bytes;
  ok.replace(0, ok.find("\r\n"), "SIP/2.0 200 OK");
  const std::vector<Sent> sent = h.send(ok, forwarded[0].destination, kBackendSide);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].local_index, kClientV4);
  EXPECT_EQ(sent[0].destination, ep("203.0.113.41:5060"));
  EXPECT_EQ(Scanned(sent[0].bytes).topHost(), "203.0.113.41");
}

std::string bye(std::string_view route) {
  return replaceOnce(std::string(kBackendByeTemplate), "@ROUTE@", route);
}

// The callee's BYE follows its route set: the backend-side address, then the client-side one.
TEST(PipelineBackendSide, BackendRequestPopsBothOfOurRoutes) {
  const struct {
    const char* desc;
    std::string route;
    std::string expected_route;
    std::string destination;
  } rows[] = {
      {"both joined, nothing after: the Request-URI",
       "Route: <sip:10.0.0.100:5060;lr>, <sip:192.0.2.10:5060;lr>\r\n", "",
       "198.51.100.7:5070"},
      {"one per line, then the client's proxy",
       "Route: <sip:10.0.0.100:5060;lr>\r\nRoute: <sip:192.0.2.10:5060;lr>\r\n"
       "Route: <sip:198.51.100.8:5071;lr>\r\n",
       "Route: <sip:198.51.100.8:5071;lr>\r\n", "198.51.100.8:5071"},
      {"joined with the client's proxy",
       "Route: <sip:10.0.0.100:5060;lr>, <sip:192.0.2.10:5060;lr>, <sip:198.51.100.8:5071;lr>\r\n",
       "Route: <sip:198.51.100.8:5071;lr>\r\n", "198.51.100.8:5071"},
      {"only one of ours (single record-route by an older peer)",
       "Route: <sip:10.0.0.100:5060;lr>\r\n", "", "198.51.100.7:5070"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.desc);
    Harness h(backendSide());
    const std::vector<Sent> sent = h.send(bye(r.route), ep("10.0.0.1:5060"), kBackendSide);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].local_index, kClientV4);
    EXPECT_EQ(sent[0].destination, ep(r.destination));
    EXPECT_EQ(headerLines(sent[0].bytes, "Route"), r.expected_route);
    EXPECT_EQ(headerLines(sent[0].bytes, "Record-Route"), "");  // in-dialog: no Record-Route
    Scanned out(sent[0].bytes);
    ASSERT_TRUE(out.complete());
    EXPECT_EQ(out.topHost(), "192.0.2.10");
  }
}

// The caller's BYE carries the reverse: client side first. Both go; the dispatcher picks the
// call's backend, which gets it from the backend socket.
TEST(PipelineBackendSide, ClientRequestPopsBothOfOurRoutes) {
  Harness h(backendSide());
  const std::string invite = corpus("01_invite_sdp.sip");
  const std::vector<Sent> first = h.send(invite, ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(first.size(), 1u);
  std::string client_bye = replaceOnce(bye("Route: <sip:192.0.2.10:5060;lr>, "
                                           "<sip:10.0.0.100:5060;lr>, <sip:10.0.0.7;lr>\r\n"),
                                       "10.0.0.1:5060;branch=z9hG4bKbk1",
                                       "203.0.113.41:5060;branch=z9hG4bKcl1");
  const std::vector<Sent> sent = h.send(client_bye, ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].local_index, kBackendSide);
  EXPECT_EQ(sent[0].destination, first[0].destination);  // the same call, the same backend
  EXPECT_EQ(headerLines(sent[0].bytes, "Route"), "Route: <sip:10.0.0.7;lr>\r\n");
  EXPECT_EQ(Scanned(sent[0].bytes).callId(), kCallId);
}

// Without backend_listen, a request that crosses address families changes sockets too: an
// IPv4 caller and an IPv6 backend each get the address of their own family.
TEST(PipelineBackendSide, FamilyBridgingIsDoubleRecordRouted) {
  HarnessOptions options;
  options.backends = {"[2001:db8::1]:5060"};
  options.record_route = true;
  Harness h(options);
  const std::vector<Sent> sent =
      h.send(corpus("01_invite_sdp.sip"), ep("203.0.113.41:5060"), kClientV4);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].local_index, 1);
  const std::string rr = headerLines(sent[0].bytes, "Record-Route");
  EXPECT_EQ(rr.rfind("Record-Route: <sip:[2001:db8::10]:5060;lr>\r\n"
                     "Record-Route: <sip:192.0.2.10:5060;lr>\r\n",
                     0),
            0u)
      << rr;
}

TEST(PipelineBackendSide, LocalForPrefersTheSideThenTheFamily) {
  ServerConfig server;
  server.listen = {ep("192.0.2.10:5060"), ep("[2001:db8::10]:5060")};
  server.backend_listen = {ep("10.0.0.100:5060")};
  RuntimeSnapshot snapshot;
  snapshot.locals = buildLocals(server, socketAddresses(server));
  ASSERT_EQ(snapshot.locals.size(), 3u);
  EXPECT_FALSE(snapshot.locals[0].backend_side);
  EXPECT_TRUE(snapshot.locals[2].backend_side);
  EXPECT_EQ(snapshot.localFor(ep("10.0.0.1:5060"), Toward::Backends), 2);
  EXPECT_EQ(snapshot.localFor(ep("203.0.113.1:5060"), Toward::Clients), 0);
  // No IPv6 socket on the backend side: the client side's serves.
  EXPECT_EQ(snapshot.localFor(ep("[2001:db8::1]:5060"), Toward::Backends), 1);
  EXPECT_TRUE(snapshot.isLocal("10.0.0.100", 5060));
}

}  // namespace
}  // namespace sipshield::testing
