#include "src/net/endpoint.h"

#include <arpa/inet.h>

#include <bit>
#include <cstring>

namespace sipshield::net {

namespace {

// Longest literal inet_pton must see: a full IPv6 address with an embedded IPv4 tail is 45
// characters; anything longer cannot be an address.
constexpr size_t kMaxLiteral = 46;

constexpr char kHex[] = "0123456789abcdef";

// kDecimalBytes[v] holds the decimal digits of v (no leading zeros) in its low bytes, in
// order, and their count in the top byte: one load and one 4-byte store per octet instead of
// divisions (the fast path formats a datagram's source address for `received=`).
struct DecimalBytes {
  uint32_t entry[256];
};

constexpr DecimalBytes makeDecimalBytes() {
  DecimalBytes t{};
  for (uint32_t v = 0; v < 256; ++v) {
    uint32_t digits = 0;
    uint32_t count = 0;
    auto put = [&](uint32_t d) { digits |= ('0' + d) << (8 * count++); };
    if (v >= 100) {
      put(v / 100);
    }
    if (v >= 10) {
      put(v / 10 % 10);
    }
    put(v % 10);
    t.entry[v] = digits | (count << 24);
  }
  return t;
}

constexpr DecimalBytes kDecimalBytes = makeDecimalBytes();
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "writeV4 stores digits little-endian");

// writeV4 writes a dotted quad and returns its length (7..15). It stores 4 bytes per octet, so
// `out` needs 16 writable bytes; the spare byte past the last digit is left for the caller's
// terminator to overwrite.
size_t writeV4(char* out, const uint8_t* bytes) {
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    const uint32_t entry = kDecimalBytes.entry[bytes[i]];
    std::memcpy(out + n, &entry, sizeof(entry));  // little-endian: the digits first
    n += entry >> 24;
    if (i < 3) {
      out[n++] = '.';
    }
  }
  return n;
}

// parseDottedQuad reads exactly "a.b.c.d" with 1 to 3 digits per octet, no leading zero and no
// octet above 255 (what inet_pton(AF_INET) accepts, so the two never disagree on an address
// this accepts) into `out`, the four octets as one word in memory order (written once, as a
// whole). False for anything else, which inet_pton then judges.
bool parseDottedQuad(std::string_view text, uint32_t& out) {
  size_t i = 0;
  uint32_t word = 0;  // the octets in memory order, stored once
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= text.size() || text[i] != '.') {
        return false;
      }
      ++i;
    }
    const size_t first = i;
    uint32_t value = 0;
    while (i < text.size() && i - first < 3 && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    const size_t digits = i - first;
    if (digits == 0 || value > 255 || (digits > 1 && text[first] == '0')) {
      return false;
    }
    word |= value << (8 * octet);
  }
  if (i != text.size()) {
    return false;
  }
  out = word;
  return true;
}

// writeHexGroup writes one 16-bit group in lower case without leading zeros (RFC 5952 §4.1,
// §4.3).
size_t writeHexGroup(char* out, uint16_t group) {
  size_t n = 0;
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned nibble = (group >> shift) & 0xF;
    if (nibble != 0 || started || shift == 0) {
      out[n++] = kHex[nibble];
      started = true;
    }
  }
  return n;
}

// writeV6 prints the RFC 5952 canonical form: the longest run (first on ties) of two or more
// zero groups becomes "::", and IPv4-mapped addresses keep their dotted tail (§5).
size_t writeV6(char* out, const uint8_t* bytes) {
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) {
    groups[i] = static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  int best_start = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) {
      ++j;
    }
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) {
    best_start = -1;  // §4.2.2: a single zero group is not compressed
  }
  const bool v4_mapped = best_start == 0 && best_len == 5 && groups[5] == 0xFFFF;
  const int hex_groups = v4_mapped ? 6 : 8;

  size_t n = 0;
  for (int i = 0; i < hex_groups;) {
    if (i == best_start) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len;
      continue;
    }
    if (i > 0 && i != best_start + best_len) {
      out[n++] = ':';
    }
    n += writeHexGroup(out + n, groups[i]);
    ++i;
  }
  if (v4_mapped) {
    out[n++] = ':';
    n += writeV4(out + n, bytes + 12);
  }
  return n;
}

}  // namespace

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress address;
  address.family = AF_INET;
  address.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  address.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  address.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  address.bytes[3] = static_cast<uint8_t>(host_order);
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  IpAddress address;
  if (!parseInto(text, address)) {
    return std::nullopt;
  }
  return address;
}

bool IpAddress::parseInto(std::string_view text, IpAddress& out) {
  static_assert(std::endian::native == std::endian::little, "octets are packed little-endian");
  uint32_t quad;
  if (parseDottedQuad(text, quad)) {
    // The common case, without the copy and the library call.
    out.family = AF_INET;
    std::memcpy(out.bytes, &quad, 4);
    std::memset(out.bytes + 4, 0, sizeof(out.bytes) - 4);
    return true;
  }
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') {
      return false;
    }
    text = text.substr(1, text.size() - 2);
    bracketed = true;
  }
  if (text.empty() || text.size() >= kMaxLiteral) {
    return false;
  }
  // inet_pton wants a NUL-terminated string; copying into a stack buffer keeps this
  // allocation-free. inet_pton rejects zone ids ("%eth0"), hostnames and octal/hex IPv4 forms.
  char literal[kMaxLiteral];
  std::memcpy(literal, text.data(), text.size());
  literal[text.size()] = '\0';
  uint8_t bytes[16] = {};
  if (!bracketed && inet_pton(AF_INET, literal, bytes) == 1) {
    out.family = AF_INET;
    std::memcpy(out.bytes, bytes, sizeof(bytes));
    return true;
  }
  if (inet_pton(AF_INET6, literal, bytes) == 1) {
    out.family = AF_INET6;
    std::memcpy(out.bytes, bytes, sizeof(bytes));
    return true;
  }
  return false;
}

size_t IpAddress::format(char* out, bool bracket_v6) const {
  size_t n = 0;
  if (isV4()) {
    n = writeV4(out, bytes);
  } else if (isV6()) {
    if (bracket_v6) {
      out[n++] = '[';
    }
    n += writeV6(out + n, bytes);
    if (bracket_v6) {
      out[n++] = ']';
    }
  }
  out[n] = '\0';  // at most 41 characters were written, so the terminator fits in 48
  return n;
}

std::string IpAddress::toString() const {
  char buffer[48];
  const size_t n = format(buffer, false);
  return std::string(buffer, n);
}

std::optional<Endpoint> Endpoint::parse(std::string_view text, uint16_t default_port) {
  std::string_view host = text;
  std::optional<uint16_t> port = default_port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = parsePort(rest.substr(1));
    }
  } else {
    const size_t first_colon = text.find(':');
    // Exactly one colon means "IPv4:port"; more than one is a bare IPv6 address, which cannot
    // carry a port without brackets (RFC 3986 §3.2.2).
    if (first_colon != std::string_view::npos && text.find(':', first_colon + 1) == text.npos) {
      host = text.substr(0, first_colon);
      port = parsePort(text.substr(first_colon + 1));
    }
  }
  if (!port) {
    return std::nullopt;
  }
  const std::optional<IpAddress> ip = IpAddress::parse(host);
  if (!ip) {
    return std::nullopt;
  }
  // "[1.2.3.4]" passes IpAddress::parse only as IPv6, so brackets always mean IPv6 here.
  Endpoint endpoint;
  endpoint.ip = *ip;
  endpoint.port = *port;
  return endpoint;
}

std::string Endpoint::toString() const {
  char buffer[56];
  size_t n = ip.format(buffer, true);
  buffer[n++] = ':';
  char digits[5];
  size_t d = 0;
  uint16_t value = port;
  do {
    digits[d++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (d > 0) {
    buffer[n++] = digits[--d];
  }
  return std::string(buffer, n);
}

socklen_t Endpoint::toSockaddr(sockaddr_storage& storage) const {
  std::memset(&storage, 0, sizeof(storage));
  if (ip.isV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes, 4);
    return sizeof(sockaddr_in);
  }
  if (ip.isV6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip.bytes, 16);
    return sizeof(sockaddr_in6);
  }
  return 0;
}

Endpoint Endpoint::fromSockaddr(const sockaddr* address) {
  Endpoint endpoint;
  if (address == nullptr) {
    return endpoint;
  }
  if (address->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, address, sizeof(sin));  // the caller's buffer may be unaligned
    endpoint.ip.family = AF_INET;
    std::memcpy(endpoint.ip.bytes, &sin.sin_addr, 4);
    endpoint.port = ntohs(sin.sin_port);
  } else if (address->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, address, sizeof(sin6));
    endpoint.ip.family = AF_INET6;
    std::memcpy(endpoint.ip.bytes, &sin6.sin6_addr, 16);
    endpoint.port = ntohs(sin6.sin6_port);
  }
  return endpoint;
}

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

}  // namespace sipshield::net
