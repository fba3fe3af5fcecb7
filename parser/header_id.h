#pragma once

#include <cstdint>
#include <string_view>

namespace sipshield::parser {

// The headers the scanner recognises by name. Each row: enum value, canonical name, compact
// form (RFC 3261 §7.3.3 and the IANA SIP parameters registry; 0 = none), and whether RFC 3261
// allows only one value (a second line with a different value is a conflict, §20).
#define SIPSHIELD_HEADERS(X)                                 \
  X(Via, "Via", 'v', false)                                  \
  X(From, "From", 'f', true)                                 \
  X(To, "To", 't', true)                                     \
  X(CallId, "Call-ID", 'i', true)                            \
  X(CSeq, "CSeq", 0, true)                                   \
  X(MaxForwards, "Max-Forwards", 0, true)                    \
  X(ContentLength, "Content-Length", 'l', true)              \
  X(ContentType, "Content-Type", 'c', true)                  \
  X(Contact, "Contact", 'm', false)                          \
  X(Route, "Route", 0, false)                                \
  X(RecordRoute, "Record-Route", 0, false)                   \
  X(UserAgent, "User-Agent", 0, false)                       \
  X(Server, "Server", 0, false)                              \
  X(Authorization, "Authorization", 0, false)                \
  X(ProxyAuthorization, "Proxy-Authorization", 0, false)     \
  X(WwwAuthenticate, "WWW-Authenticate", 0, false)           \
  X(ProxyAuthenticate, "Proxy-Authenticate", 0, false)       \
  X(Expires, "Expires", 0, true)                             \
  X(Event, "Event", 'o', true)                               \
  X(AllowEvents, "Allow-Events", 'u', false)                 \
  X(Supported, "Supported", 'k', false)                      \
  X(Subject, "Subject", 's', false)                          \
  X(ContentEncoding, "Content-Encoding", 'e', false)         \
  X(ReferTo, "Refer-To", 'r', false)                         \
  X(ReferredBy, "Referred-By", 'b', false)                   \
  X(SessionExpires, "Session-Expires", 'x', false)           \
  X(RejectContact, "Reject-Contact", 'j', false)             \
  X(AcceptContact, "Accept-Contact", 'a', false)             \
  X(RequestDisposition, "Request-Disposition", 'd', false)   \
  X(Identity, "Identity", 'y', false)                        \
  X(Require, "Require", 0, false)                            \
  X(ProxyRequire, "Proxy-Require", 0, false)                 \
  X(Allow, "Allow", 0, false)                                \
  X(Accept, "Accept", 0, false)                              \
  X(RetryAfter, "Retry-After", 0, false)                     \
  X(Path, "Path", 0, false)

// HeaderId names a recognised header; Other is any extension header.
enum class HeaderId : uint8_t {
#define SIPSHIELD_HEADER_ENUM(name, text, compact, single) name,
  SIPSHIELD_HEADERS(SIPSHIELD_HEADER_ENUM)
#undef SIPSHIELD_HEADER_ENUM
  Other,
};

inline constexpr int kKnownHeaderCount = static_cast<int>(HeaderId::Other);

// headerName returns the canonical name of `id` ("Other" for extension headers).
[[nodiscard]] std::string_view headerName(HeaderId id);

// isSingleValued says whether RFC 3261 allows `id` only once per message.
[[nodiscard]] bool isSingleValued(HeaderId id);

// classifyHeaderName maps a header field name (full or compact form, any letter case, no
// surrounding white space) to its HeaderId; unknown names give HeaderId::Other. Thread-safe.
[[nodiscard]] HeaderId classifyHeaderName(const char* name, size_t length);

}  // namespace sipshield::parser
