#pragma once

#include <string>
#include <string_view>

#include "src/net/endpoint.h"

// Messages and addresses shared by the tests that run the shield inside a real Pipeline.
namespace sipshield::testing {

inline net::Endpoint ep(std::string_view text) { return net::Endpoint::parse(text).value(); }

inline std::string invite(int n, std::string_view ua = "Kestrel Softphone 4.2") {
  const std::string id = std::to_string(n);
  return "INVITE sip:bob@192.0.2.10 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-" + id + "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=a" + id + "\r\n"
         "To: <sip:bob@example.com>\r\n"
         "Call-ID: call-" + id + "@test\r\n"
         "CSeq: 1 INVITE\r\n"
         "User-Agent: " + std::string(ua) + "\r\n"
         "Content-Length: 0\r\n\r\n";
}

}  // namespace sipshield::testing
