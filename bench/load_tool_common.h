#pragma once

// Helpers shared by the end-to-end load tools (bench/udp_blaster.cc, bench/udp_sink.cc):
// option parsing, address parsing and the loopback-only policy, UDP sockets with buffer sizes,
// a monotonic clock, SIP header-name matching and the one-line JSON reports. Like the tools,
// this file uses no project library, so they still build when the rest of the tree does not.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sipshield::bench {

// kMaxSocketBufferBytes caps --sndbuf/--rcvbuf/--buff-size: 1 GiB, far past any rmem_max.
constexpr uint64_t kMaxSocketBufferBytes = uint64_t{1} << 30;

// parseU64 reads a whole decimal string with no sign into `out`. Thread-safe (errno is
// per-thread). Returns false, leaving `out` alone, on empty input, trailing characters, a
// '-' or overflow.
[[nodiscard]] bool parseU64(const char* text, uint64_t* out);

// parseDouble reads a whole non-negative number (strtod syntax) into `out`. Thread-safe.
// Returns false, leaving `out` alone, on empty input, trailing characters, a negative value,
// NaN or overflow.
[[nodiscard]] bool parseDouble(const char* text, double* out);

// parseBufferBytes reads a socket buffer size 0..kMaxSocketBufferBytes into `out`.
// Thread-safe. Returns false, leaving `out` alone, when parseU64 fails or the value is larger.
[[nodiscard]] bool parseBufferBytes(const char* text, int* out);

// parseHostPort parses "1.2.3.4:5060" or "[::1]:5060" (IP literals, port 1..65535) into
// `addr` and its length into `len`. Thread-safe. Returns false on anything else (`addr` may
// then be zeroed).
[[nodiscard]] bool parseHostPort(const std::string& text, sockaddr_storage* addr, socklen_t* len);

// isLoopback is true for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. Thread-safe.
[[nodiscard]] bool isLoopback(const sockaddr_storage& addr);

// isBenchmarkNet is true for the RFC 2544 benchmark range 198.18.0.0/15, the only
// non-loopback space the tools agree to load. Thread-safe.
[[nodiscard]] bool isBenchmarkNet(const sockaddr_storage& addr);

// isAllowedLoadAddress is the tools' address policy: loopback always, the benchmark range only
// when `allow_benchmark_net` (--allow-non-loopback). Thread-safe.
[[nodiscard]] bool isAllowedLoadAddress(const sockaddr_storage& addr, bool allow_benchmark_net);

// nowS returns CLOCK_MONOTONIC in seconds. Thread-safe.
[[nodiscard]] double nowS();

// headerValueStart checks, ignoring case, that `line` starts with header `name` followed by
// optional blanks and ':'. Thread-safe. Returns the offset of the value (after the colon and
// blanks), or npos when `line` is not that header.
[[nodiscard]] size_t headerValueStart(std::string_view line, std::string_view name);

// RcvbufMode says how openUdpSocket sets SO_RCVBUF.
enum class RcvbufMode {
  Plain,  // SO_RCVBUF: the kernel caps it at net.core.rmem_max
  Force,  // SO_RCVBUFFORCE, which lets root go past rmem_max; SO_RCVBUF when that fails
};

// openUdpSocket creates a close-on-exec UDP socket of `family` and asks for `sndbuf` and
// `rcvbuf` bytes of buffer (best effort: the kernel may cap them). Thread-safe. Returns the
// descriptor, or -1 with errno set when socket() fails.
[[nodiscard]] int openUdpSocket(int family, int sndbuf, int rcvbuf, RcvbufMode mode);

// JsonLine builds the one-line JSON object a tool prints as its report, fields in the order
// added. Keys and text values are written as given, so they must not need JSON escaping. Not
// thread-safe; allocates (reports only, never per packet).
class JsonLine {
 public:
  // addText adds "key":"value".
  JsonLine& addText(const char* key, std::string_view value);
  // addU64 adds "key":value in decimal.
  JsonLine& addU64(const char* key, uint64_t value);
  // addInt adds "key":value in decimal.
  JsonLine& addInt(const char* key, int value);
  // addFixed adds "key":value with `decimals` (0..9, clamped) digits after the point, as
  // printf "%.*f" prints it.
  JsonLine& addFixed(const char* key, double value, int decimals);
  // addBool adds "key":true or "key":false.
  JsonLine& addBool(const char* key, bool value);
  // print writes the object and a newline to `out` and flushes it, so a script reading the
  // pipe sees each line as soon as it is printed.
  void print(std::FILE* out) const;

 private:
  void addRaw(const char* key, std::string_view value);

  std::string text_;
};

}  // namespace sipshield::bench
