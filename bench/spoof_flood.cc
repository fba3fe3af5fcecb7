// spoof_flood: a spoofed-source SIP flood on loopback, for the DoS-shield tests and benchmarks.
//
// It writes whole IPv4/UDP datagrams through a raw socket (IP_HDRINCL), each from a different
// source address in 127.0.0.0/8, alternating INVITE and REGISTER (or one of them), with
// sendmmsg, as fast as it can or at a given rate, and prints one JSON line at the end. Source
// number i (counted from --first-source) is 127.0.0.0 + a bijection of i over 24 bits, so the
// first 2^24 sources are all distinct; --sources N cycles over N of them. Sources inside an
// --avoid prefix (the test's real callers and backends) are skipped.
//
// Standalone (no project library) and loopback-only: the target must be in 127.0.0.0/8.
// Needs CAP_NET_RAW. Bounded: --count packets or --duration seconds, whichever comes first.
//
// Usage: spoof_flood --target 127.0.0.1:5060 [--count N] [--duration S] [--rate PPS]
//                    [--sources N] [--first-source I] [--methods invite,register]
//                    [--avoid 127.0.9.0/24]...

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint64_t kMaxCount = 100'000'000;
constexpr double kMaxDurationS = 600.0;
constexpr int kBatch = 64;
constexpr size_t kMaxDatagram = 2048;
constexpr uint32_t kSourceSpace = 1u << 24;  // 127.0.0.0/8
// An odd multiplier is a bijection modulo 2^24: distinct indices give distinct sources.
constexpr uint32_t kSpread = 0x9E3779B1u;

struct Options {
  sockaddr_in target{};
  uint64_t count = 200'000;
  double duration_s = 15.0;
  double rate = 0;  // packets per second; 0 = flat out
  uint32_t sources = kSourceSpace;
  uint32_t first_source = 0;
  bool invite = true;
  bool reg = true;
  std::vector<std::pair<uint32_t, uint32_t>> avoid;  // (network, mask), host order
};

double nowS() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "spoof_flood: %s\nusage: spoof_flood --target 127.0.0.1:5060 [--count N] "
               "[--duration S] [--rate PPS] [--sources N] [--first-source I] "
               "[--methods invite,register] [--avoid 127.0.9.0/24]...\n",
               why);
  std::exit(2);
}

bool parsePrefix(const char* text, uint32_t& network, uint32_t& mask) {
  std::string s(text);
  int length = 32;
  if (const size_t slash = s.find('/'); slash != std::string::npos) {
    length = std::atoi(s.c_str() + slash + 1);
    s.resize(slash);
  }
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1 || length < 0 || length > 32) {
    return false;
  }
  mask = length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  network = ntohl(a.s_addr) & mask;
  return true;
}

Options parse(int argc, char** argv) {
  Options o;
  o.target.sin_family = AF_INET;
  static const option kLong[] = {{"target", required_argument, nullptr, 't'},
                                 {"count", required_argument, nullptr, 'n'},
                                 {"duration", required_argument, nullptr, 'd'},
                                 {"rate", required_argument, nullptr, 'r'},
                                 {"sources", required_argument, nullptr, 's'},
                                 {"first-source", required_argument, nullptr, 'f'},
                                 {"methods", required_argument, nullptr, 'm'},
                                 {"avoid", required_argument, nullptr, 'a'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  bool have_target = false;
  for (int c; (c = getopt_long(argc, argv, "", kLong, nullptr)) != -1;) {
    switch (c) {
      case 't': {
        std::string t(optarg);
        const size_t colon = t.rfind(':');
        if (colon == std::string::npos ||
            inet_pton(AF_INET, t.substr(0, colon).c_str(), &o.target.sin_addr) != 1) {
          usage("--target must be IPv4:PORT");
        }
        o.target.sin_port = htons(static_cast<uint16_t>(std::atoi(t.c_str() + colon + 1)));
        have_target = true;
        break;
      }
      case 'n': o.count = std::strtoull(optarg, nullptr, 10); break;
      case 'd': o.duration_s = std::atof(optarg); break;
      case 'r': o.rate = std::atof(optarg); break;
      case 's': o.sources = static_cast<uint32_t>(std::strtoul(optarg, nullptr, 10)); break;
      case 'f': o.first_source = static_cast<uint32_t>(std::strtoul(optarg, nullptr, 10)); break;
      case 'm': {
        const std::string_view m(optarg);
        o.invite = m.find("invite") != std::string_view::npos;
        o.reg = m.find("register") != std::string_view::npos;
        if (!o.invite && !o.reg) {
          usage("--methods takes invite, register or both");
        }
        break;
      }
      case 'a': {
        uint32_t network = 0;
        uint32_t mask = 0;
        if (!parsePrefix(optarg, network, mask)) {
          usage("--avoid takes an IPv4 prefix such as 127.0.9.0/24");
        }
        o.avoid.emplace_back(network, mask);
        break;
      }
      default: usage("bad option");
    }
  }
  if (!have_target) {
    usage("--target is required");
  }
  // Loopback only: spoofed packets must never leave the machine.
  if ((ntohl(o.target.sin_addr.s_addr) >> 24) != 127) {
    usage("the target must be in 127.0.0.0/8");
  }
  if (o.count == 0 || o.count > kMaxCount || o.duration_s <= 0 || o.duration_s > kMaxDurationS ||
      o.sources == 0 || o.sources > kSourceSpace) {
    usage("--count 1..1e8, --duration 0..600 s, --sources 1..2^24");
  }
  return o;
}

// Message is one datagram: IPv4 header + UDP header + SIP text with a fixed-width counter.
struct Message {
  uint8_t bytes[kMaxDatagram];
  size_t length = 0;
  size_t counter_offset = 0;  // 16 hex digits patched per packet (Call-ID and branch)
};

Message build(const Options& o, bool invite) {
  const char* method = invite ? "INVITE" : "REGISTER";
  char target[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &o.target.sin_addr, target, sizeof(target));
  const unsigned port = ntohs(o.target.sin_port);
  char sip[1024];
  const int n = std::snprintf(
      sip, sizeof(sip),
      "%s sip:%s@%s:%u SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.1.1.1:5060;branch=z9hG4bK0000000000000000\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:flood@%s>;tag=f1\r\n"
      "To: <sip:%s@%s>\r\n"
      "Call-ID: 0000000000000000@flood\r\n"
      "CSeq: 1 %s\r\n"
      "Contact: <sip:flood@127.1.1.1:5060>\r\n"
      "User-Agent: Kestrel Softphone 4.2\r\n"
      "Content-Length: 0\r\n\r\n",
      method, invite ? "4155550142" : "flood", target, port, target,
      invite ? "4155550142" : "flood", target, method);
  Message m{};  // zeroed: every IP/UDP header field not set below must be 0 (no fragment bits)
  const size_t header = sizeof(iphdr) + sizeof(udphdr);
  std::memcpy(m.bytes + header, sip, static_cast<size_t>(n));
  m.length = header + static_cast<size_t>(n);
  const std::string_view text(sip, static_cast<size_t>(n));
  m.counter_offset = header + text.find("Call-ID: ") + 9;
  auto* ip = reinterpret_cast<iphdr*>(m.bytes);
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<uint16_t>(m.length));  // the kernel checks, then keeps it
  ip->daddr = o.target.sin_addr.s_addr;                  // saddr per packet; checksum: kernel
  auto* udp = reinterpret_cast<udphdr*>(m.bytes + sizeof(iphdr));
  udp->dest = o.target.sin_port;
  udp->len = htons(static_cast<uint16_t>(m.length - sizeof(iphdr)));
  udp->check = 0;  // no UDP checksum (allowed over IPv4)
  return m;
}

void putHex(uint8_t* out, uint64_t value) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(kHex[value & 0xf]);
    value >>= 4;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) {
    std::fprintf(stderr, "spoof_flood: raw socket: %s (needs CAP_NET_RAW)\n",
                 std::strerror(errno));
    return 1;
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
  int sndbuf = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

  const Message templates[2] = {build(o, true), build(o, false)};
  static Message batch[kBatch];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  sockaddr_in dest = o.target;
  dest.sin_port = 0;  // raw sockets ignore the port
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {batch[i].bytes, 0};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_name = &dest;
    msgs[i].msg_hdr.msg_namelen = sizeof(dest);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  const double start = nowS();
  const double deadline = start + o.duration_s;
  uint64_t sent = 0;
  uint64_t errors = 0;
  uint64_t skipped = 0;
  uint64_t index = 0;  // source number, before --first-source and cycling
  uint64_t sequence = 0;
  while (sent < o.count) {
    const double now = nowS();
    if (now >= deadline) {
      break;
    }
    if (o.rate > 0 && static_cast<double>(sent) > (now - start) * o.rate) {
      continue;  // paced: spin until the schedule allows the next batch
    }
    int fill = 0;
    while (fill < kBatch && sent + static_cast<uint64_t>(fill) < o.count) {
      const uint32_t number = static_cast<uint32_t>(
          (o.first_source + index % o.sources) % kSourceSpace);
      ++index;
      const uint32_t offset = (number * kSpread) & (kSourceSpace - 1);
      const uint32_t source = (127u << 24) | offset;
      bool avoided = (offset & 0xff) == 0 || (offset & 0xff) == 0xff;
      for (const auto& [network, mask] : o.avoid) {
        avoided = avoided || (source & mask) == network;
      }
      if (avoided || source == ntohl(o.target.sin_addr.s_addr)) {
        ++skipped;
        continue;
      }
      const bool invite = o.invite && (!o.reg || (sequence & 1) == 0);
      const Message& t = templates[invite ? 0 : 1];
      Message& m = batch[fill];
      std::memcpy(m.bytes, t.bytes, t.length);
      m.length = t.length;
      putHex(m.bytes + t.counter_offset, sequence++);
      auto* ip = reinterpret_cast<iphdr*>(m.bytes);
      ip->saddr = htonl(source);
      auto* udp = reinterpret_cast<udphdr*>(m.bytes + sizeof(iphdr));
      udp->source = htons(static_cast<uint16_t>(1024 + (sequence % 60000)));
      iov[fill].iov_len = m.length;
      ++fill;
    }
    const int done = sendmmsg(fd, msgs, static_cast<unsigned>(fill), 0);
    if (done < 0) {
      ++errors;
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
        std::fprintf(stderr, "spoof_flood: sendmmsg: %s\n", std::strerror(errno));
        break;
      }
      continue;
    }
    sent += static_cast<uint64_t>(done);
    errors += static_cast<uint64_t>(fill - done);
  }
  const double seconds = nowS() - start;
  const uint64_t distinct = index < o.sources ? index - skipped : o.sources;
  std::printf("{\"sent\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"seconds\":%.3f,\"pps\":%.0f,"
              "\"sources_used\":%" PRIu64 ",\"first_source\":%u}\n",
              sent, errors, seconds, seconds > 0 ? static_cast<double>(sent) / seconds : 0.0,
              distinct, o.first_source);
  close(fd);
  return 0;
}
