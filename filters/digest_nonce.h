#pragma once

#include <string_view>

namespace sipshield::filters {

// findDigestNonce finds the nonce of a Digest challenge (WWW-Authenticate /
// Proxy-Authenticate, RFC 3261 §22.4 and RFC 2617 §3.2.1) or of Digest credentials
// (Authorization / Proxy-Authorization, RFC 2617 §3.2.2) in one header value such as
// `Digest realm="a", nonce="b64nonce", algorithm=MD5`. The parser has no auth-param parser,
// so this small one lives here: it walks the comma-separated auth-params (token or
// quoted-string values, backslash escapes skipped, whitespace and case of the parameter name
// ignored) and never reads past `value`.
//
// Thread-safe, allocation-free. `nonce` is set to the value as sent (between the quotes for a
// quoted-string, escapes kept: challenge and answer are compared as the same bytes). Returns
// false when the scheme is not Digest, there is no nonce, or its value is empty or malformed
// (an unterminated quoted-string).
[[nodiscard]] bool findDigestNonce(std::string_view value, std::string_view& nonce);

}  // namespace sipshield::filters
