#include "filters/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace sipshield::filters {

Address maskAddress(const Address& address, uint8_t length) {
  Address out = address;
  const uint8_t width = address.maxLength();
  if (length >= width) {
    return out;
  }
  const uint8_t full = length / 8;
  const uint8_t bits = length % 8;
  if (bits != 0) {
    out.bytes[full] &= static_cast<uint8_t>(0xff00u >> bits);
  }
  const uint8_t first_zero = static_cast<uint8_t>(full + (bits != 0 ? 1 : 0));
  std::memset(out.bytes + first_zero, 0, 16 - first_zero);
  return out;
}

uint64_t hashPrefix(const Address& address, uint8_t length, uint64_t seed) {
  const Address masked = maskAddress(address, length);
  uint64_t hi;
  uint64_t lo;
  std::memcpy(&hi, masked.bytes, 8);
  std::memcpy(&lo, masked.bytes + 8, 8);
  const uint64_t tag = (uint64_t{masked.v6} << 8) | length;
  return mix64(hi ^ mix64(lo ^ mix64(seed ^ (tag * 0x9e3779b97f4a7c15ull))));
}

uint64_t hashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

bool parseAddress(std::string_view text, Address& out) {
  if (text.empty() || text.size() > 64) {
    return false;
  }
  const std::string copy(text);
  Address a;
  if (copy.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, copy.c_str(), a.bytes) != 1) {
      return false;
    }
    a.v6 = 1;
  } else if (inet_pton(AF_INET, copy.c_str(), a.bytes) != 1) {
    return false;
  }
  out = a;
  return true;
}

std::string parsePrefix(std::string_view text, Prefix& out) {
  const size_t slash = text.find('/');
  Address address;
  if (!parseAddress(text.substr(0, slash), address)) {
    return "not an IPv4/IPv6 address or CIDR prefix";
  }
  uint32_t length = address.maxLength();
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        length > address.maxLength()) {
      return "prefix length must be 0.." + std::to_string(address.maxLength());
    }
  }
  const Address masked = maskAddress(address, static_cast<uint8_t>(length));
  if (!(masked == address)) {
    return "host bits set past /" + std::to_string(length) + " (did you mean " +
           formatPrefix(Prefix{masked, static_cast<uint8_t>(length)}) + "?)";
  }
  out = Prefix{address, static_cast<uint8_t>(length)};
  return "";
}

std::string formatAddress(const Address& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes, text, sizeof(text));
  return text;
}

std::string formatPrefix(const Prefix& prefix) {
  std::string out = formatAddress(prefix.address);
  if (prefix.length != prefix.address.maxLength()) {
    out += '/';
    out += std::to_string(prefix.length);
  }
  return out;
}

}  // namespace sipshield::filters
