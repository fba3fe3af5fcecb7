// udp_sink: a counting UDP backend for end-to-end measurements of a balancer.
//
// It binds one loopback address, reads datagrams with recvmmsg, counts datagrams and bytes,
// optionally checks that each one starts with a SIP request line, counts distinct Call-IDs in
// a fixed-size table, and can answer each request (except ACK) with a minimal 200 OK that
// copies Via/From/To/Call-ID/CSeq so a stateless proxy can route it back. It runs for
// --duration or until SIGINT/SIGTERM and then prints one JSON line. Memory is fixed at start.
//
// Usage: udp_sink --listen HOST:PORT [options]   (see --help)

#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "load_tool_common.h"

// Inside sipshield::bench so the shared helpers (load_tool_common.h) need no qualification.
namespace sipshield::bench {
namespace {

constexpr double kMaxDurationS = 3600.0;
constexpr int kBatch = 64;
constexpr size_t kMaxDatagram = 65536;
constexpr size_t kMaxReply = 4096;
constexpr uint64_t kMaxCallIdSlots = uint64_t{1} << 26;  // 512 MiB of 8-byte slots, a cap

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_dump = 0;

void onStop(int /*sig*/) { g_stop = 1; }
void onDump(int /*sig*/) { g_dump = 1; }

struct Options {
  std::string listen;
  double duration_s = 0;  // 0 = until signal (still capped by kMaxDurationS)
  double stats_interval_s = 0;
  uint64_t call_id_slots = 0;  // 0 = do not count distinct Call-IDs
  bool verify = false;
  bool reply = false;
  int rcvbuf = 4 * 1024 * 1024;
  bool allow_non_loopback = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: udp_sink --listen HOST:PORT [options]\n"
               "  --listen H:P           bind address, IPv4 or [IPv6]:port; loopback only\n"
               "  --duration S           stop after S seconds (default: on SIGTERM/SIGINT;\n"
               "                         hard cap %.0f s)\n"
               "  --stats-interval S     print a cumulative JSON line every S seconds\n"
               "  --verify               check each datagram starts with a SIP request line\n"
               "  --count-call-ids N     count distinct Call-IDs in a fixed table of N slots\n"
               "                         (rounded up to a power of two; fills at 75%%)\n"
               "  --reply                answer requests (not ACK) with 200 OK\n"
               "  --rcvbuf B             SO_RCVBUF (and SO_SNDBUF) bytes (default 4194304)\n"
               "  --allow-non-loopback   also allow 198.18.0.0/15 (benchmark net)\n"
               "SIGUSR1 prints a snapshot line. The final line has \"type\":\"final\".\n",
               kMaxDurationS);
}

// RFC 3261 §7.1 Request-Line: Method SP Request-URI SP SIP-Version CRLF. Method is a token;
// we accept the token characters of §25.1 and require a non-empty URI without spaces.
bool isRequestLine(std::string_view d) {
  size_t i = 0;
  auto is_token = [](unsigned char c) {
    return std::isalnum(c) || std::strchr("-.!%*_+`'~", c) != nullptr;
  };
  while (i < d.size() && d[i] != ' ' && is_token(static_cast<unsigned char>(d[i]))) {
    ++i;
  }
  if (i == 0 || i >= d.size() || d[i] != ' ') {
    return false;
  }
  size_t uri = ++i;
  while (i < d.size() && d[i] != ' ' && d[i] != '\r' && d[i] != '\n' &&
         static_cast<unsigned char>(d[i]) > 0x20) {
    ++i;
  }
  if (i == uri || i >= d.size() || d[i] != ' ') {
    return false;
  }
  ++i;
  return d.substr(i, 9) == "SIP/2.0\r\n";
}

// If `line` is header `name` (full or compact form), returns the offset of its value.
size_t headerValue(std::string_view line, std::string_view name, std::string_view compact) {
  const size_t value = headerValueStart(line, name);
  if (value != std::string_view::npos || compact.empty()) {
    return value;
  }
  return headerValueStart(line, compact);
}

// Visits header lines (unfolded lines joined: a continuation line belongs to the previous
// header) and calls fn(full_header_text_including_continuations, first_line).
template <typename Fn>
void forEachHeader(std::string_view msg, Fn&& fn) {
  size_t pos = msg.find("\r\n");
  if (pos == std::string_view::npos) {
    return;
  }
  pos += 2;
  while (pos < msg.size()) {
    size_t eol = msg.find("\r\n", pos);
    if (eol == std::string_view::npos || eol == pos) {
      return;  // end of headers (blank line) or truncated
    }
    size_t end = eol;
    // Fold continuation lines (RFC 3261 §7.3.1) into this header.
    while (end + 2 < msg.size() && (msg[end + 2] == ' ' || msg[end + 2] == '\t')) {
      size_t next = msg.find("\r\n", end + 2);
      if (next == std::string_view::npos) {
        return;
      }
      end = next;
    }
    fn(msg.substr(pos, end - pos), msg.substr(pos, eol - pos));
    pos = end + 2;
  }
}

uint64_t hash64(std::string_view s) {
  // FNV-1a then a final mix: good enough spread for a counting table, and no dependency.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h = (h ^ c) * 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

// Fixed-size open-addressing set of 64-bit hashes. It stops inserting at 75% load so probes
// stay short; `full()` then tells the reader the count is a lower bound.
class CallIdSet {
 public:
  explicit CallIdSet(uint64_t slots) {
    uint64_t n = 1;
    while (n < slots && n < kMaxCallIdSlots) {
      n <<= 1;
    }
    slots_.assign(n, 0);
    mask_ = n - 1;
    limit_ = n / 4 * 3;
  }
  void insert(uint64_t h) {
    uint64_t i = h & mask_;
    while (true) {
      if (slots_[i] == h) {
        return;
      }
      if (slots_[i] == 0) {
        if (count_ >= limit_) {
          full_ = true;
          return;
        }
        slots_[i] = h;
        ++count_;
        return;
      }
      i = (i + 1) & mask_;
    }
  }
  uint64_t count() const { return count_; }
  bool full() const { return full_; }

 private:
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
  uint64_t limit_ = 0;
  uint64_t count_ = 0;
  bool full_ = false;
};

struct Counters {
  uint64_t received = 0;
  uint64_t bytes = 0;
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t not_sip = 0;
  uint64_t no_call_id = 0;
  uint64_t replies_sent = 0;
  uint64_t reply_errors = 0;
  uint64_t reply_skipped = 0;
};

// Builds a 200 OK for `req` into `out` (capacity kMaxReply). Returns its length, 0 if the
// request should not be answered (ACK, response, missing headers, too large).
size_t buildReply(std::string_view req, char* out, uint64_t tag_seed) {
  std::string_view method = req.substr(0, req.find(' '));
  if (method == "ACK") {
    return 0;
  }
  size_t len = 0;
  bool overflow = false;
  auto put = [&](std::string_view s) {
    if (len + s.size() > kMaxReply) {
      overflow = true;
      return;
    }
    std::memcpy(out + len, s.data(), s.size());
    len += s.size();
  };
  put("SIP/2.0 200 OK\r\n");
  int have = 0;  // bit 0 Via, 1 From, 2 To, 3 Call-ID, 4 CSeq
  forEachHeader(req, [&](std::string_view hdr, std::string_view first) {
    if (headerValue(first, "Via", "v") != std::string_view::npos) {
      have |= 1;
    } else if (headerValue(first, "From", "f") != std::string_view::npos) {
      have |= 2;
    } else if (headerValue(first, "To", "t") != std::string_view::npos) {
      have |= 4;
      put(hdr);
      // A 2xx creates a dialog and must carry a To tag (RFC 3261 §8.2.6.2).
      std::string lower(hdr);
      for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (lower.find(";tag=") == std::string::npos) {
        char tag[32];
        int n = std::snprintf(tag, sizeof(tag), ";tag=sink%" PRIx64, tag_seed);
        put(std::string_view(tag, static_cast<size_t>(n)));
      }
      put("\r\n");
      return;
    } else if (headerValue(first, "Call-ID", "i") != std::string_view::npos) {
      have |= 8;
    } else if (headerValue(first, "CSeq", "") != std::string_view::npos) {
      have |= 16;
    } else {
      return;
    }
    put(hdr);
    put("\r\n");
  });
  put("Content-Length: 0\r\n\r\n");
  if (overflow || have != 31) {
    return 0;
  }
  return len;
}

void printStats(const char* type, const Counters& c, const CallIdSet* ids, double elapsed,
                double active) {
  JsonLine()
      .addText("type", type)
      .addU64("received", c.received)
      .addU64("bytes", c.bytes)
      .addU64("requests", c.requests)
      .addU64("responses", c.responses)
      .addU64("not_sip", c.not_sip)
      .addU64("distinct_call_ids", ids != nullptr ? ids->count() : 0)
      .addBool("call_id_table_full", ids != nullptr && ids->full())
      .addU64("no_call_id", c.no_call_id)
      .addU64("replies_sent", c.replies_sent)
      .addU64("reply_errors", c.reply_errors)
      .addFixed("elapsed_s", elapsed, 3)
      .addFixed("active_s", active, 3)
      .addFixed("rate", active > 0 ? static_cast<double>(c.received) / active : 0.0, 0)
      .print(stdout);
}

// runSink is the whole tool; main only enters the namespace. Returns the exit status.
int runSink(int argc, char** argv) {
  Options opt;
  enum LongOnly {
    kOptStatsInterval = 1000,
    kOptCountCallIds,
    kOptRcvbuf,
    kOptAllowNonLoopback,
  };
  static const option kLong[] = {
      {"listen", required_argument, nullptr, 'l'},
      {"duration", required_argument, nullptr, 'd'},
      {"stats-interval", required_argument, nullptr, kOptStatsInterval},
      {"count-call-ids", required_argument, nullptr, kOptCountCallIds},
      {"verify", no_argument, nullptr, 'v'},
      {"reply", no_argument, nullptr, 'r'},
      {"rcvbuf", required_argument, nullptr, kOptRcvbuf},
      {"buff-size", required_argument, nullptr, kOptRcvbuf},
      {"allow-non-loopback", no_argument, nullptr, kOptAllowNonLoopback},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  int c = 0;
  while ((c = getopt_long_only(argc, argv, "l:d:vrh", kLong, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case 'l': opt.listen = optarg; break;
      case 'd': ok = parseDouble(optarg, &opt.duration_s); break;
      case kOptStatsInterval: ok = parseDouble(optarg, &opt.stats_interval_s); break;
      case kOptCountCallIds: ok = parseU64(optarg, &opt.call_id_slots); break;
      case 'v': opt.verify = true; break;
      case 'r': opt.reply = true; break;
      case kOptRcvbuf: ok = parseBufferBytes(optarg, &opt.rcvbuf); break;
      case kOptAllowNonLoopback: opt.allow_non_loopback = true; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "udp_sink: bad value for option: %s\n", optarg);
      return 2;
    }
  }
  if (optind != argc || opt.listen.empty()) {
    usage(stderr);
    return 2;
  }
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (!parseHostPort(opt.listen, &addr, &addr_len)) {
    std::fprintf(stderr, "udp_sink: cannot parse --listen '%s'\n", opt.listen.c_str());
    return 2;
  }
  if (!isAllowedLoadAddress(addr, opt.allow_non_loopback)) {
    std::fprintf(stderr, "udp_sink: refusing non-loopback address %s\n", opt.listen.c_str());
    return 2;
  }
  if (opt.duration_s <= 0 || opt.duration_s > kMaxDurationS) {
    opt.duration_s = kMaxDurationS;
  }

  // --rcvbuf sizes both buffers: the send side carries the --reply answers.
  int fd = openUdpSocket(addr.ss_family, opt.rcvbuf, opt.rcvbuf, RcvbufMode::Force);
  if (fd < 0) {
    std::perror("udp_sink: socket");
    return 1;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    std::fprintf(stderr, "udp_sink: bind %s: %s\n", opt.listen.c_str(), std::strerror(errno));
    return 1;
  }

  struct sigaction sa{};
  sa.sa_handler = onStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = onDump;
  sigaction(SIGUSR1, &sa, nullptr);

  // All buffers are allocated once here; the receive loop allocates only in the rare --reply
  // To-tag path (a small std::string), which is outside what the measurement needs.
  std::vector<char> rx(static_cast<size_t>(kBatch) * kMaxDatagram);
  std::vector<iovec> rx_iov(kBatch);
  std::vector<mmsghdr> rx_msgs(kBatch);
  std::vector<sockaddr_storage> rx_from(kBatch);
  std::vector<char> tx(static_cast<size_t>(kBatch) * kMaxReply);
  std::vector<iovec> tx_iov(kBatch);
  std::vector<mmsghdr> tx_msgs(kBatch);
  CallIdSet* ids = nullptr;
  CallIdSet ids_storage(opt.call_id_slots != 0 ? opt.call_id_slots : 1);
  if (opt.call_id_slots != 0) {
    ids = &ids_storage;
  }

  int rcvbuf_actual = 0;
  socklen_t optlen = sizeof(rcvbuf_actual);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_actual, &optlen);
  std::fprintf(stderr, "udp_sink: listening on %s rcvbuf=%d\n", opt.listen.c_str(),
               rcvbuf_actual);

  Counters cnt;
  const double t0 = nowS();
  const double t_end = t0 + opt.duration_s;
  double t_first = 0;
  double t_last = 0;
  double next_stats = opt.stats_interval_s > 0 ? t0 + opt.stats_interval_s : 0;
  uint64_t reply_seq = 0;

  while (!g_stop) {
    double now = nowS();
    if (now >= t_end) {
      break;
    }
    if (g_dump) {
      g_dump = 0;
      printStats("snapshot", cnt, ids, now - t0, t_last - t_first);
    }
    if (next_stats > 0 && now >= next_stats) {
      printStats("interval", cnt, ids, now - t0, t_last - t_first);
      next_stats += opt.stats_interval_s;
    }
    for (int i = 0; i < kBatch; ++i) {
      rx_iov[i] = {rx.data() + static_cast<size_t>(i) * kMaxDatagram, kMaxDatagram};
      rx_msgs[i] = {};
      rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
      rx_msgs[i].msg_hdr.msg_iovlen = 1;
      rx_msgs[i].msg_hdr.msg_name = &rx_from[i];
      rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    int n = recvmmsg(fd, rx_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      // Idle: block in poll for a short, bounded time so signals and deadlines are seen.
      pollfd pfd{fd, POLLIN, 0};
      poll(&pfd, 1, 100);
      continue;
    }
    now = nowS();
    if (cnt.received == 0) {
      t_first = now;
    }
    t_last = now;
    int n_tx = 0;
    for (int i = 0; i < n; ++i) {
      std::string_view d(static_cast<const char*>(rx_iov[i].iov_base), rx_msgs[i].msg_len);
      ++cnt.received;
      cnt.bytes += d.size();
      bool is_response = d.substr(0, 8) == "SIP/2.0 ";
      if (is_response) {
        ++cnt.responses;
      } else if (!opt.verify || isRequestLine(d)) {
        ++cnt.requests;
      } else {
        ++cnt.not_sip;
        continue;
      }
      if (ids != nullptr) {
        bool found = false;
        forEachHeader(d, [&](std::string_view hdr, std::string_view first) {
          if (found) {
            return;
          }
          size_t v = headerValue(first, "Call-ID", "i");
          if (v != std::string_view::npos) {
            std::string_view val = hdr.substr(v);
            while (!val.empty() && (val.back() == ' ' || val.back() == '\t')) {
              val.remove_suffix(1);
            }
            ids->insert(hash64(val));
            found = true;
          }
        });
        if (!found) {
          ++cnt.no_call_id;
        }
      }
      if (opt.reply && !is_response) {
        char* out = tx.data() + static_cast<size_t>(n_tx) * kMaxReply;
        size_t len = buildReply(d, out, reply_seq++);
        if (len == 0) {
          ++cnt.reply_skipped;
          continue;
        }
        tx_iov[n_tx] = {out, len};
        tx_msgs[n_tx] = {};
        tx_msgs[n_tx].msg_hdr.msg_iov = &tx_iov[n_tx];
        tx_msgs[n_tx].msg_hdr.msg_iovlen = 1;
        tx_msgs[n_tx].msg_hdr.msg_name = &rx_from[i];
        tx_msgs[n_tx].msg_hdr.msg_namelen = rx_msgs[i].msg_hdr.msg_namelen;
        ++n_tx;
      }
    }
    int done = 0;
    while (done < n_tx) {
      int r = sendmmsg(fd, tx_msgs.data() + done, static_cast<unsigned>(n_tx - done),
                       MSG_DONTWAIT);
      if (r <= 0) {
        // Count the rest as errors rather than retrying: the sink must keep draining.
        cnt.reply_errors += static_cast<uint64_t>(n_tx - done);
        break;
      }
      cnt.replies_sent += static_cast<uint64_t>(r);
      done += r;
    }
  }
  close(fd);
  printStats("final", cnt, ids, nowS() - t0, t_last - t_first);
  return 0;
}

}  // namespace
}  // namespace sipshield::bench

int main(int argc, char** argv) { return sipshield::bench::runSink(argc, argv); }
