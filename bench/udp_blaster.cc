// udp_blaster: a UDP SIP load generator for end-to-end measurements of a balancer.
//
// It sends one message template (a realistic INVITE with SDP by default) to a loopback
// target with sendmmsg, giving every message a distinct Call-ID and top-Via branch, and
// prints one JSON line at the end. It is a standalone tool: it uses no project library so it
// builds even when the rest of the tree is broken, and it is deliberately loopback-only (a
// load generator must never be pointed at somebody else's network by accident).
//
// Usage: udp_blaster --target HOST:PORT [options]   (see --help)

#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "load_tool_common.h"

// Inside sipshield::bench so the shared helpers (load_tool_common.h) need no qualification.
namespace sipshield::bench {
namespace {

// Hard caps keep every run bounded even when a script passes a silly value.
constexpr double kMaxDurationS = 600.0;
constexpr double kDefaultDurationS = 10.0;
constexpr int kMaxBurst = 1024;
constexpr int kMaxSourcePorts = 256;
constexpr size_t kMaxMessageBytes = 65000;
// Fixed widths keep the message length constant, so offsets computed once stay valid.
constexpr int kCounterHexDigits = 16;
constexpr int kRunHexDigits = 8;

// Built-in template: the shape of /work/shared/corpus/01_invite_sdp.sip (three Vias,
// Record-Route, SDP body). Content-Length is recomputed from the body when it is loaded, and
// the top Via is replaced by our own loopback sent-by (see buildTemplate).
constexpr std::string_view kDefaultTemplate =
    "INVITE sip:4155550142@203.0.113.45:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 203.0.113.41:5060;branch=z9hG4bK7e1c0a.3f9b2d44a0e1\r\n"
    "Via: SIP/2.0/TCP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK5a2d91f.0\r\n"
    "Via: SIP/2.0/UDP 192.168.14.37:5062;received=192.0.2.88;rport=41834;"
    "branch=z9hG4bK-524287-1---a8d3c0e9f1b6774d\r\n"
    "Max-Forwards: 67\r\n"
    "Record-Route: <sip:203.0.113.41;lr;ftag=9fxced76sl>\r\n"
    "Record-Route: <sip:198.51.100.20;transport=tcp;lr>\r\n"
    "From: \"Marta Ilves\" <sip:marta@voice.kestrel.example>;tag=9fxced76sl\r\n"
    "To: <sip:+14155550142@sip.harborline.example>\r\n"
    "Call-ID: a84b4c76e66710b2c9f1d7e3@192.168.14.37\r\n"
    "CSeq: 20 INVITE\r\n"
    "Contact: <sip:marta@192.0.2.88:41834;transport=udp;ob>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: Kestrel Softphone 4.2.1\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 0\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 3917424873 3917424873 IN IP4 192.0.2.88\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.88\r\n"
    "t=0 0\r\n"
    "m=audio 40376 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

volatile sig_atomic_t g_stop = 0;

void onSignal(int /*sig*/) { g_stop = 1; }

struct Options {
  std::string target;
  std::string template_path;
  std::string bind_host;  // empty: the loopback address of the target's family
  double rate = 0;        // messages/s, 0 = flat out
  uint64_t count = 0;     // 0 = no count limit (duration still bounds the run)
  double duration_s = 0;  // 0 = kDefaultDurationS when count is also 0
  int burst = 32;
  int source_ports = 1;
  uint64_t call_ids = 0;  // 0 = every message has a new Call-ID
  int sndbuf = 4 * 1024 * 1024;
  int rcvbuf = 1024 * 1024;
  bool allow_non_loopback = false;
  bool quiet = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: udp_blaster --target HOST:PORT [options]\n"
               "  --target H:P          destination, IPv4 or [IPv6]:port; loopback only\n"
               "  --template FILE       SIP message to send (default: built-in INVITE+SDP)\n"
               "  --rate N              messages/s, 0 = flat out (default 0)\n"
               "  --count N             stop after N messages (default: no count limit)\n"
               "  --duration S          stop after S seconds (default %.0f, cap %.0f)\n"
               "  --burst N             sendmmsg vector size (default 32, max %d)\n"
               "  --source-ports K      send from K sockets/ports (default 1, max %d)\n"
               "  --call-ids N          cycle through N distinct Call-IDs (default: all new)\n"
               "  --bind HOST           source address (default 127.0.0.1 or ::1)\n"
               "  --sndbuf B            SO_SNDBUF bytes (default 4194304)\n"
               "  --rcvbuf B            SO_RCVBUF bytes (default 1048576)\n"
               "  --buff-size B         set both SO_SNDBUF and SO_RCVBUF\n"
               "  --allow-non-loopback  also allow targets in 198.18.0.0/15 (benchmark net)\n"
               "  --quiet               no progress on stderr\n"
               "Prints one JSON line: sent, send_errors, replies, elapsed_s, rate.\n",
               kDefaultDurationS, kMaxDurationS, kMaxBurst, kMaxSourcePorts);
}

// A message template with the byte offsets of the fixed-width fields we rewrite per message.
struct Template {
  std::string bytes;
  size_t call_id_counter_off = 0;  // kCounterHexDigits hex digits
  size_t branch_counter_off = 0;   // kCounterHexDigits hex digits
};

// Builds the sendable template: normalises line ends to CRLF, replaces the Call-ID value by a
// fixed-width placeholder, replaces the top Via by `via_host`:5060;rport with a fixed-width
// branch placeholder, and rewrites Content-Length to the real body length. Returns an error
// string, empty on success.
std::string buildTemplate(std::string raw, uint32_t run_id, const std::string& via_host,
                          Template* out) {
  // Normalise bare LF to CRLF: template files are often edited with ordinary editors.
  std::string norm;
  norm.reserve(raw.size() + 64);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
      norm += '\r';
    }
    norm += raw[i];
  }
  size_t hdr_end = norm.find("\r\n\r\n");
  if (hdr_end == std::string::npos) {
    // A header block with no body and no blank line: add the blank line.
    while (norm.size() >= 2 && norm.compare(norm.size() - 2, 2, "\r\n") == 0) {
      norm.resize(norm.size() - 2);
    }
    norm += "\r\n\r\n";
    hdr_end = norm.size() - 4;
  }
  std::string body = norm.substr(hdr_end + 4);
  std::string head = norm.substr(0, hdr_end + 2);  // keeps the CRLF of the last header

  char run_hex[kRunHexDigits + 1];
  std::snprintf(run_hex, sizeof(run_hex), "%08" PRIx32, run_id);
  const std::string counter_placeholder(kCounterHexDigits, '0');

  std::string out_head;
  bool have_call_id = false;
  bool have_via = false;
  bool have_clen = false;
  size_t call_id_off = 0;
  size_t branch_off = 0;
  size_t pos = 0;
  bool first_line = true;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (first_line) {
      first_line = false;
      out_head += line + "\r\n";
      continue;
    }
    size_t v = std::string::npos;
    if (!have_call_id && ((v = headerValueStart(line, "Call-ID")) != std::string::npos ||
                          (v = headerValueStart(line, "i")) != std::string::npos)) {
      have_call_id = true;
      std::string prefix = line.substr(0, v);
      call_id_off = out_head.size() + prefix.size();
      out_head += prefix + counter_placeholder + "-" + run_hex + "@blaster.invalid\r\n";
      continue;
    }
    if (!have_clen && ((v = headerValueStart(line, "Content-Length")) != std::string::npos ||
                       (v = headerValueStart(line, "l")) != std::string::npos)) {
      have_clen = true;
      out_head += line.substr(0, v) + std::to_string(body.size()) + "\r\n";
      continue;
    }
    if (!have_via && ((v = headerValueStart(line, "Via")) != std::string::npos ||
                      (v = headerValueStart(line, "v")) != std::string::npos)) {
      have_via = true;
      // The top Via is replaced whole by our own loopback sent-by with rport: whatever the
      // template says, responses then come back to the sending socket and never leave
      // loopback. Only the first value of a comma-joined Via line is the top Via.
      size_t comma = line.find(',', v);
      std::string rest = comma == std::string::npos ? "" : line.substr(comma);
      std::string before = line.substr(0, v) + "SIP/2.0/UDP " + via_host + ":5060;rport;" +
                           "branch=z9hG4bK" + run_hex + "-";
      branch_off = out_head.size() + before.size();
      out_head += before + counter_placeholder + rest + "\r\n";
      continue;
    }
    out_head += line + "\r\n";
  }
  if (!have_call_id) {
    return "template has no Call-ID header";
  }
  if (!have_via) {
    return "template has no Via header";
  }
  if (!have_clen) {
    out_head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out->bytes = out_head + "\r\n" + body;
  out->call_id_counter_off = call_id_off;
  out->branch_counter_off = branch_off;
  if (out->bytes.size() > kMaxMessageBytes) {
    return "template too large for one UDP datagram";
  }
  return "";
}

inline void writeHex(char* dst, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = kCounterHexDigits - 1; i >= 0; --i) {
    dst[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

void sleepUntil(double t_target) {
  double now = nowS();
  if (t_target <= now) {
    return;
  }
  double d = t_target - now;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(d);
  ts.tv_nsec = static_cast<long>((d - static_cast<double>(ts.tv_sec)) * 1e9);
  nanosleep(&ts, nullptr);
}

// runBlaster is the whole tool; main only enters the namespace. Returns the exit status.
int runBlaster(int argc, char** argv) {
  Options opt;
  enum LongOnly {
    kOptTemplate = 1000,
    kOptBurst,
    kOptSourcePorts,
    kOptCallIds,
    kOptBind,
    kOptSndbuf,
    kOptRcvbuf,
    kOptBuffSize,
    kOptAllowNonLoopback,
  };
  static const option kLong[] = {
      {"target", required_argument, nullptr, 't'},
      {"template", required_argument, nullptr, kOptTemplate},
      {"rate", required_argument, nullptr, 'r'},
      {"count", required_argument, nullptr, 'n'},
      {"duration", required_argument, nullptr, 'd'},
      {"burst", required_argument, nullptr, kOptBurst},
      {"source-ports", required_argument, nullptr, kOptSourcePorts},
      {"call-ids", required_argument, nullptr, kOptCallIds},
      {"bind", required_argument, nullptr, kOptBind},
      {"sndbuf", required_argument, nullptr, kOptSndbuf},
      {"rcvbuf", required_argument, nullptr, kOptRcvbuf},
      {"buff-size", required_argument, nullptr, kOptBuffSize},
      {"buff_size", required_argument, nullptr, kOptBuffSize},
      {"allow-non-loopback", no_argument, nullptr, kOptAllowNonLoopback},
      {"quiet", no_argument, nullptr, 'q'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  uint64_t u = 0;
  int c = 0;
  // getopt_long_only so sipp-style single-dash long options (-buff_size) work too.
  while ((c = getopt_long_only(argc, argv, "t:r:n:d:qh", kLong, nullptr)) != -1) {
    bool ok = true;
    switch (c) {
      case 't': opt.target = optarg; break;
      case kOptTemplate: opt.template_path = optarg; break;
      case 'r': ok = parseDouble(optarg, &opt.rate); break;
      case 'n': ok = parseU64(optarg, &opt.count); break;
      case 'd': ok = parseDouble(optarg, &opt.duration_s); break;
      case kOptBurst:
        ok = parseU64(optarg, &u) && u >= 1 && u <= kMaxBurst;
        opt.burst = static_cast<int>(u);
        break;
      case kOptSourcePorts:
        ok = parseU64(optarg, &u) && u >= 1 && u <= kMaxSourcePorts;
        opt.source_ports = static_cast<int>(u);
        break;
      case kOptCallIds: ok = parseU64(optarg, &opt.call_ids); break;
      case kOptBind: opt.bind_host = optarg; break;
      case kOptSndbuf: ok = parseBufferBytes(optarg, &opt.sndbuf); break;
      case kOptRcvbuf: ok = parseBufferBytes(optarg, &opt.rcvbuf); break;
      case kOptBuffSize:
        ok = parseBufferBytes(optarg, &opt.sndbuf);
        opt.rcvbuf = opt.sndbuf;
        break;
      case kOptAllowNonLoopback: opt.allow_non_loopback = true; break;
      case 'q': opt.quiet = true; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "udp_blaster: bad value for option: %s\n", optarg);
      return 2;
    }
  }
  if (optind != argc || opt.target.empty()) {
    usage(stderr);
    return 2;
  }

  sockaddr_storage dst{};
  socklen_t dst_len = 0;
  if (!parseHostPort(opt.target, &dst, &dst_len)) {
    std::fprintf(stderr, "udp_blaster: cannot parse target '%s'\n", opt.target.c_str());
    return 2;
  }
  if (!isAllowedLoadAddress(dst, opt.allow_non_loopback)) {
    std::fprintf(stderr,
                 "udp_blaster: refusing non-loopback target %s (only loopback, or "
                 "198.18.0.0/15 with --allow-non-loopback)\n",
                 opt.target.c_str());
    return 2;
  }
  if (opt.duration_s <= 0 && opt.count == 0) {
    opt.duration_s = kDefaultDurationS;
  }
  if (opt.duration_s <= 0 || opt.duration_s > kMaxDurationS) {
    opt.duration_s = kMaxDurationS;
  }

  std::string raw(kDefaultTemplate);
  if (!opt.template_path.empty()) {
    std::ifstream in(opt.template_path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "udp_blaster: cannot read %s\n", opt.template_path.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    raw = ss.str();
  }
  // A run id in every Call-ID and branch keeps runs apart when sinks count distinct ids.
  uint32_t run_id = static_cast<uint32_t>(getpid()) * 2654435761u ^
                    static_cast<uint32_t>(nowS() * 1e6);
  std::string bind_spec = opt.bind_host;
  if (bind_spec.empty()) {
    bind_spec = dst.ss_family == AF_INET ? "127.0.0.1" : "::1";
  }
  Template tpl;
  std::string err = buildTemplate(std::move(raw), run_id,
                                  dst.ss_family == AF_INET6 ? "[" + bind_spec + "]" : bind_spec,
                                  &tpl);
  if (!err.empty()) {
    std::fprintf(stderr, "udp_blaster: %s\n", err.c_str());
    return 2;
  }

  // One socket per source port; each is connect()ed so sendmmsg needs no address per message
  // and the kernel skips the route lookup per datagram.
  std::vector<int> socks;
  for (int i = 0; i < opt.source_ports; ++i) {
    int fd = openUdpSocket(dst.ss_family, opt.sndbuf, opt.rcvbuf, RcvbufMode::Plain);
    if (fd < 0) {
      std::perror("udp_blaster: socket");
      return 1;
    }
    sockaddr_storage src{};
    socklen_t src_len = 0;
    std::string bind_hp = dst.ss_family == AF_INET6 ? "[" + bind_spec + "]:1" : bind_spec + ":1";
    if (!parseHostPort(bind_hp, &src, &src_len) || src.ss_family != dst.ss_family) {
      std::fprintf(stderr, "udp_blaster: bad --bind '%s'\n", bind_spec.c_str());
      return 2;
    }
    if (src.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in&>(src).sin_port = 0;
    } else {
      reinterpret_cast<sockaddr_in6&>(src).sin6_port = 0;
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), src_len) != 0) {
      std::perror("udp_blaster: bind");
      return 1;
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&dst), dst_len) != 0) {
      std::perror("udp_blaster: connect");
      return 1;
    }
    socks.push_back(fd);
  }

  // Every slot of the send vector owns a private copy of the template; per message only the
  // two counters are rewritten in place, so the send loop allocates nothing.
  const size_t msg_len = tpl.bytes.size();
  const int burst = opt.burst;
  std::vector<char> bufs(static_cast<size_t>(burst) * msg_len);
  std::vector<iovec> iovs(static_cast<size_t>(burst));
  std::vector<mmsghdr> msgs(static_cast<size_t>(burst));
  for (int i = 0; i < burst; ++i) {
    char* b = bufs.data() + static_cast<size_t>(i) * msg_len;
    std::memcpy(b, tpl.bytes.data(), msg_len);
    iovs[static_cast<size_t>(i)] = {b, msg_len};
    msgs[static_cast<size_t>(i)] = {};
    msgs[static_cast<size_t>(i)].msg_hdr.msg_iov = &iovs[static_cast<size_t>(i)];
    msgs[static_cast<size_t>(i)].msg_hdr.msg_iovlen = 1;
  }
  // Replies (from a --reply sink via a proxy) are drained and counted so they never fill the
  // receive buffer; the drain buffer is one max-size datagram reused for all reads.
  std::vector<char> drain(65536);

  struct sigaction sa{};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  uint64_t sent = 0;
  uint64_t send_errors = 0;
  uint64_t replies = 0;
  uint64_t seq = 0;
  size_t sock_idx = 0;
  const double t0 = nowS();
  const double t_end = t0 + opt.duration_s;
  double next_progress = t0 + 1.0;
  uint64_t last_progress_sent = 0;

  while (!g_stop) {
    double now = nowS();
    if (now >= t_end) {
      break;
    }
    uint64_t attempted = sent + send_errors;
    if (opt.count != 0 && attempted >= opt.count) {
      break;
    }
    uint64_t n = static_cast<uint64_t>(burst);
    if (opt.count != 0 && opt.count - attempted < n) {
      n = opt.count - attempted;
    }
    if (opt.rate > 0) {
      // Pace by schedule, not by sleep per batch: the batch may go when its first message is
      // due; the whole run then averages the requested rate even with coarse sleeps.
      double due = t0 + static_cast<double>(attempted) / opt.rate;
      if (due > now) {
        sleepUntil(due < t_end ? due : t_end);
        continue;
      }
      uint64_t owed = static_cast<uint64_t>((now - t0) * opt.rate) + 1 - attempted;
      if (owed < n) {
        n = owed;
      }
    }
    for (uint64_t i = 0; i < n; ++i) {
      char* b = bufs.data() + i * msg_len;
      uint64_t id = seq + i;
      writeHex(b + tpl.call_id_counter_off, opt.call_ids != 0 ? id % opt.call_ids : id);
      writeHex(b + tpl.branch_counter_off, id);
    }
    int fd = socks[sock_idx];
    sock_idx = (sock_idx + 1) % socks.size();
    int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      // A refused/unreachable target or a full buffer costs the first message; skip it so
      // the run stays bounded and every message counts as either sent or an error.
      ++send_errors;
      ++seq;
    } else {
      sent += static_cast<uint64_t>(r);
      seq += static_cast<uint64_t>(r);
    }
    // Drain replies without blocking, one recv per socket per batch at most a few.
    for (int k = 0; k < 4; ++k) {
      ssize_t got = recv(fd, drain.data(), drain.size(), MSG_DONTWAIT);
      if (got < 0) {
        break;
      }
      ++replies;
    }
    if (!opt.quiet && now >= next_progress) {
      std::fprintf(stderr, "udp_blaster: t=%.1fs sent=%" PRIu64 " (+%" PRIu64 "/s)\n",
                   now - t0, sent, sent - last_progress_sent);
      last_progress_sent = sent;
      next_progress += 1.0;
    }
  }
  const double elapsed = nowS() - t0;
  // Collect replies still in flight for a short, bounded moment.
  const double t_drain_end = nowS() + 0.2;
  while (nowS() < t_drain_end) {
    bool any = false;
    for (int fd : socks) {
      ssize_t got = recv(fd, drain.data(), drain.size(), MSG_DONTWAIT);
      if (got >= 0) {
        ++replies;
        any = true;
      }
    }
    if (!any) {
      usleep(10000);
    }
  }
  for (int fd : socks) {
    close(fd);
  }
  JsonLine()
      .addU64("sent", sent)
      .addU64("send_errors", send_errors)
      .addU64("replies", replies)
      .addFixed("elapsed_s", elapsed, 3)
      .addFixed("rate", elapsed > 0 ? sent / elapsed : 0.0, 0)
      .addU64("msg_bytes", msg_len)
      .addInt("burst", burst)
      .addInt("source_ports", opt.source_ports)
      .addFixed("target_rate", opt.rate, 0)
      .print(stdout);
  return 0;
}

}  // namespace
}  // namespace sipshield::bench

int main(int argc, char** argv) { return sipshield::bench::runBlaster(argc, argv); }
