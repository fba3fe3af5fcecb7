#include "load_tool_common.h"

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>

namespace sipshield::bench {

bool parseU64(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    return false;
  }
  *out = v;
  return true;
}

bool parseDouble(const char* text, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= 0)) {
    return false;
  }
  *out = v;
  return true;
}

bool parseBufferBytes(const char* text, int* out) {
  uint64_t bytes = 0;
  if (!parseU64(text, &bytes) || bytes > kMaxSocketBufferBytes) {
    return false;
  }
  *out = static_cast<int>(bytes);
  return true;
}

bool parseHostPort(const std::string& text, sockaddr_storage* addr, socklen_t* len) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    // More than one ':' is an IPv6 address without brackets: refuse rather than guess.
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint64_t p = 0;
  if (!parseU64(port.c_str(), &p) || p == 0 || p > 65535) {
    return false;
  }
  std::memset(addr, 0, sizeof(*addr));
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool isLoopback(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

bool isBenchmarkNet(const sockaddr_storage& addr) {
  if (addr.ss_family != AF_INET) {
    return false;
  }
  uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr);
  return (a & 0xfffe0000u) == 0xc6120000u;
}

bool isAllowedLoadAddress(const sockaddr_storage& addr, bool allow_benchmark_net) {
  return isLoopback(addr) || (allow_benchmark_net && isBenchmarkNet(addr));
}

double nowS() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

size_t headerValueStart(std::string_view line, std::string_view name) {
  if (line.size() <= name.size()) {
    return std::string_view::npos;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i]))) {
      return std::string_view::npos;
    }
  }
  size_t i = name.size();
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
    ++i;
  }
  if (i >= line.size() || line[i] != ':') {
    return std::string_view::npos;
  }
  ++i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
    ++i;
  }
  return i;
}

int openUdpSocket(int family, int sndbuf, int rcvbuf, RcvbufMode mode) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  // Buffer sizes are best effort: a capped buffer still works, it only drops sooner.
  if (mode == RcvbufMode::Plain ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  return fd;
}

JsonLine& JsonLine::addText(const char* key, std::string_view value) {
  std::string quoted = "\"";
  quoted += value;
  quoted += '"';
  addRaw(key, quoted);
  return *this;
}

JsonLine& JsonLine::addU64(const char* key, uint64_t value) {
  char text[32];
  const int n = std::snprintf(text, sizeof(text), "%" PRIu64, value);
  addRaw(key, std::string_view(text, static_cast<size_t>(n)));
  return *this;
}

JsonLine& JsonLine::addInt(const char* key, int value) {
  char text[16];
  const int n = std::snprintf(text, sizeof(text), "%d", value);
  addRaw(key, std::string_view(text, static_cast<size_t>(n)));
  return *this;
}

JsonLine& JsonLine::addFixed(const char* key, double value, int decimals) {
  // "%f" of the largest double is 309 digits; with a sign, a point and at most 9 decimals
  // the text always fits, so nothing is ever cut.
  char text[352];
  const int n = std::snprintf(text, sizeof(text), "%.*f", std::clamp(decimals, 0, 9), value);
  addRaw(key, std::string_view(text, static_cast<size_t>(n)));
  return *this;
}

JsonLine& JsonLine::addBool(const char* key, bool value) {
  addRaw(key, value ? "true" : "false");
  return *this;
}

void JsonLine::addRaw(const char* key, std::string_view value) {
  text_ += text_.empty() ? "{\"" : ",\"";
  text_ += key;
  text_ += "\":";
  text_ += value;
}

void JsonLine::print(std::FILE* out) const {
  std::fprintf(out, "%s}\n", text_.empty() ? "{" : text_.c_str());
  std::fflush(out);
}

}  // namespace sipshield::bench
