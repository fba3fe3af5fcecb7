// net_pcap in, net_pcap out, against the io_uring backend (issue 5): the corpus requests as a
// capture replayed through the DPDK backend on a net_pcap port, then the responses a backend
// sends to what was forwarded; the same datagrams through the io_uring backend on loopback
// sockets. Every datagram either backend sends must be the other's, byte for byte, to the same
// address. Both sides use the same addresses (127.0.57.0/24, which the net_pcap port owns only
// in its capture files) and pipelines built alike (dpdk_testing::World).
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "parser/validate.h"
#include "src/io/uring/uring_backend.h"
#include "tests/dpdk/dpdk_test_util.h"

namespace sipshield {
namespace {

using namespace dpdk_testing;

const net::Endpoint kListen = ep("127.0.57.1:5060");
const net::Endpoint kClient = ep("127.0.57.2:5070");
const std::vector<std::string> kBackends = {"127.0.57.31:5060", "127.0.57.32:5060"};
const net::MacAddress kClientMac = mac(0x02);
const net::MacAddress kBackendMacs[2] = {mac(0x31), mac(0x32)};

// The corpus requests a client sends (CaptureInCaptureOutMatchesPipeline's set and more).
const std::vector<std::string> kRequests = {
    "01_invite_sdp.sip",        "05_ack.sip",           "06_bye.sip",
    "08_register_initial.sip",  "10_register_digest.sip", "12_options_keepalive.sip",
    "13_cancel.sip",            "14_compact_message.sip", "15_folded_subscribe.sip",
    "17_scanner_options.sip",   "18_notify_mwi.sip"};

// Sent is one UDP datagram: who sent it to whom, and its payload.
struct Sent {
  net::Endpoint from;
  net::Endpoint to;
  std::string payload;

  bool operator<(const Sent& other) const {
    return std::pair(to.toString(), payload) < std::pair(other.to.toString(), other.payload);
  }
  bool operator==(const Sent& other) const {
    return to == other.to && payload == other.payload;
  }
};

std::string corpus(const std::string& name) {
  std::ifstream in(std::string(SIPSHIELD_CORPUS_DIR) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

net::MacAddress macOf(const net::Endpoint& endpoint) {
  for (size_t i = 0; i < kBackends.size(); ++i) {
    if (endpoint.ip == ep(kBackends[i]).ip) {
      return kBackendMacs[i];
    }
  }
  return kClientMac;
}

void writeCapture(const std::string& path, const std::vector<Bytes>& frames) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
  for (const Bytes& frame : frames) {
    pcap_pkthdr header{};
    header.caplen = header.len = static_cast<uint32_t>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

std::vector<Bytes> readCapture(const std::string& path) {
  std::vector<Bytes> frames;
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* reader = pcap_open_offline(path.c_str(), error);
  EXPECT_NE(reader, nullptr) << error;
  if (reader == nullptr) {
    return frames;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(reader, &header, &data) == 1) {
    frames.emplace_back(data, data + header->caplen);
  }
  pcap_close(reader);
  return frames;
}

// ScratchDir is a fresh directory under /tmp, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    char name[] = "/tmp/sipshield-pcap-XXXXXX";
    path_ = mkdtemp(name) != nullptr ? name : "";
  }
  ~ScratchDir() {
    if (!path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

// appendFrames adds `frames` to the capture at `path` (its file header already written).
void appendFrames(const std::string& path, const std::vector<Bytes>& frames) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  for (const Bytes& frame : frames) {
    // pcap's record header: seconds, microseconds, captured and original length (host order,
    // as pcap_dump writes them).
    const uint32_t header[4] = {1, 0, static_cast<uint32_t>(frame.size()),
                                static_cast<uint32_t>(frame.size())};
    out.write(reinterpret_cast<const char*>(header), sizeof(header));
    out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
  }
}

// throughPcapPort replays `datagrams` as Ethernet frames from a capture through a DPDK backend
// on a net_pcap port (after ARP requests from the client and both backends, so it knows their
// MACs) and returns the UDP datagrams it wrote to the output capture. Every one must carry
// valid IP and UDP checksums.
std::vector<Sent> throughPcapPort(const ScratchDir& dir, const std::string& leg,
                                  const std::vector<Sent>& datagrams) {
  // The frames must be addressed to the port's MAC, which net_pcap picks when the port is
  // made. So the capture starts empty (its file header only; net_pcap opens it then) and the
  // frames are appended once the port exists, before anything polls it.
  const std::string in = dir.file(leg + "-in.pcap");
  const std::string out = dir.file(leg + "-out.pcap");
  writeCapture(in, {});

  World world(kBackends, {kListen});
  io::DpdkBackendConfig config;
  config.ports = {io::DpdkPort{"net_pcap_" + leg + ",rx_pcap=" + in + ",tx_pcap=" + out}};
  config.addresses = {*io::parseDpdkAddress("127.0.57.1/24")};
  config.listen = {kListen};
  config.spawn_threads = false;
  config.mbufs_per_worker = 2047;
  std::vector<Sent> sent;
  {
    io::DpdkBackend backend(config);
    const Status status = backend.start([&](int) { return world.pipeline(); });
    EXPECT_TRUE(status.isOk()) << status.toString();
    if (!status.isOk()) {
      return sent;
    }
    const net::MacAddress port_mac = backend.layout().ports[0].mac;
    std::vector<Bytes> frames;
    frames.push_back(ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                              arp(1, kClientMac, "127.0.57.2", {}, "127.0.57.1")));
    for (size_t i = 0; i < kBackends.size(); ++i) {
      const std::string address = kBackends[i].substr(0, kBackends[i].find(':'));
      frames.push_back(ethernet(net::MacAddress::broadcast(), kBackendMacs[i],
                                net::kEtherTypeArp,
                                arp(1, kBackendMacs[i], address, {}, "127.0.57.1")));
    }
    uint16_t id = 1;
    for (const Sent& d : datagrams) {
      frames.push_back(ethernet(port_mac, macOf(d.from), net::kEtherTypeIpv4,
                                ipUdp(d.from, d.to, d.payload, id++)));
    }
    appendFrames(in, frames);
    uint64_t now_ns = 1'000'000'000'000ull;
    for (int quiet = 0; quiet < 8;) {
      now_ns += 1'000'000;
      quiet = backend.pollWorker(0, now_ns) == 0 ? quiet + 1 : 0;
    }
    EXPECT_EQ(backend.counters().get(io::DpdkCounter::RxFrames), frames.size());
    backend.stop();  // closes the port: the output capture is complete
  }
  for (const Datagram& d : dpdk_testing::datagrams(readCapture(out))) {
    EXPECT_TRUE(d.ip_checksum_ok);
    EXPECT_TRUE(d.udp_checksum_ok);
    sent.push_back({d.udp.source, d.udp.destination, d.payload});
  }
  return sent;
}

// Socket is a UDP socket bound to a loopback endpoint.
class Socket {
 public:
  explicit Socket(const net::Endpoint& at) : at_(at) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage address;
    const socklen_t length = at.toSockaddr(address);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Socket() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const net::Endpoint& at() const { return at_; }
  bool sendTo(const net::Endpoint& to, const std::string& payload) const {
    sockaddr_storage address;
    const socklen_t length = to.toSockaddr(address);
    return sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&address),
                  length) == static_cast<ssize_t>(payload.size());
  }

 private:
  net::Endpoint at_;
  int fd_ = -1;
};

// throughUring sends `datagrams` from sockets bound to their sources to an io_uring backend
// on loopback, in order, and returns what arrives at any of `receivers` (endpoints the DPDK
// leg sent to): until `expected` datagrams came (at most 10 s), then 200 ms more for any
// extra one.
std::vector<Sent> throughUring(const std::vector<Sent>& datagrams,
                               const std::vector<net::Endpoint>& receivers, size_t expected) {
  std::vector<Sent> sent;
  World world(kBackends, {kListen});
  io::UringBackendConfig config;
  config.workers = 1;
  config.worker.listen = {kListen};
  io::UringBackend backend(config);
  const Status status = backend.start([&](int) { return world.pipeline(); });
  EXPECT_TRUE(status.isOk()) << status.toString();
  if (!status.isOk()) {
    return sent;
  }
  std::map<std::string, std::unique_ptr<Socket>> sockets;
  auto socketAt = [&](const net::Endpoint& at) -> Socket& {
    auto& slot = sockets[at.toString()];
    if (!slot) {
      slot = std::make_unique<Socket>(at);
      EXPECT_TRUE(slot->ok()) << "cannot bind " << at.toString();
    }
    return *slot;
  };
  for (const net::Endpoint& r : receivers) {
    (void)socketAt(r);
  }
  auto collect = [&](int quiet_ms) {
    std::vector<pollfd> fds;
    std::vector<Socket*> order;
    for (auto& [key, socket] : sockets) {
      fds.push_back({socket->fd(), POLLIN, 0});
      order.push_back(socket.get());
    }
    while (poll(fds.data(), fds.size(), quiet_ms) > 0) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if ((fds[i].revents & POLLIN) == 0) {
          continue;
        }
        char buffer[65536];
        sockaddr_storage from{};
        socklen_t from_length = sizeof(from);
        const ssize_t n = recvfrom(fds[i].fd, buffer, sizeof(buffer), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_length);
        if (n > 0) {
          sent.push_back({net::Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&from)),
                          order[i]->at(), std::string(buffer, static_cast<size_t>(n))});
        }
      }
    }
  };
  for (const Sent& d : datagrams) {
    EXPECT_TRUE(socketAt(d.from).sendTo(d.to, d.payload));
    collect(10);
  }
  for (int waited_ms = 0; sent.size() < expected && waited_ms < 10000; waited_ms += 100) {
    collect(100);
  }
  collect(200);
  backend.stop();
  return sent;
}

// responseTo builds the 200 OK (or nothing for an ACK) a backend returns for `request`, a
// request the balancer forwarded: every Via line, From, To (with a tag), Call-ID and CSeq
// copied as they came, names in whatever form they used.
std::optional<std::string> responseTo(const std::string& request) {
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  const parser::ByteView in(reinterpret_cast<const uint8_t*>(request.data()), request.size());
  if (parser::scanAndValidate(in, parsed.message, summary).status !=
          parser::ScanStatus::Complete ||
      !parsed.message.isRequest() || parsed.message.method == parser::Method::Ack) {
    return std::nullopt;
  }
  std::string out = "SIP/2.0 200 OK\r\n";
  auto line = [&](const parser::HeaderField& h) {
    return request.substr(h.name.offset, h.value.offset + h.value.length - h.name.offset);
  };
  const parser::SipMessage& m = parsed.message;
  for (parser::HeaderId id : {parser::HeaderId::Via, parser::HeaderId::From, parser::HeaderId::To,
                              parser::HeaderId::CallId, parser::HeaderId::CSeq}) {
    for (uint32_t i = 0; i < m.header_count; ++i) {
      if (m.headers[i].id != id) {
        continue;
      }
      out += line(m.headers[i]);
      if (id == parser::HeaderId::To && summary.to_tag.length == 0) {
        out += ";tag=uas-1";
      }
      out += "\r\n";
    }
  }
  return out + "Content-Length: 0\r\n\r\n";
}

// Requests, then the backends' responses to what was forwarded: both legs through both
// backends. The DPDK leg runs first; the io_uring leg listens where it sent (all loopback).
TEST(DpdkPcap, CaptureThroughNetPcapMatchesUringBackend) {
  std::string why;
  if (!ealReady(&why)) {
    GTEST_SKIP() << "DPDK EAL cannot start on this machine: " << why;
  }
  ScratchDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<Sent> requests;
  for (const std::string& name : kRequests) {
    requests.push_back({kClient, kListen, corpus(name)});
    ASSERT_FALSE(requests.back().payload.empty()) << name;
  }
  const std::vector<Sent> dpdk_requests = throughPcapPort(dir, "requests", requests);
  // All but the OPTIONS addressed to us were forwarded (that one is answered).
  ASSERT_GE(dpdk_requests.size(), requests.size() - 1);

  std::vector<Sent> responses;
  for (const Sent& forwarded : dpdk_requests) {
    if (forwarded.to == kClient) {
      continue;  // our own answer, not a forwarded request
    }
    if (auto response = responseTo(forwarded.payload)) {
      responses.push_back({forwarded.to, kListen, *response});
    }
  }
  ASSERT_GE(responses.size(), 6u);
  const std::vector<Sent> dpdk_responses = throughPcapPort(dir, "responses", responses);
  ASSERT_EQ(dpdk_responses.size(), responses.size());  // every one went back toward the client

  std::vector<net::Endpoint> receivers;
  for (const auto* list : {&dpdk_requests, &dpdk_responses}) {
    for (const Sent& d : *list) {
      // Only loopback: the io_uring leg must not send anywhere else.
      ASSERT_EQ(d.to.ip.bytes[0], 127) << d.to.toString();
      receivers.push_back(d.to);
    }
  }
  std::vector<Sent> uring_requests = throughUring(requests, receivers, dpdk_requests.size());
  std::vector<Sent> uring_responses =
      throughUring(responses, receivers, dpdk_responses.size());

  for (auto [dpdk, uring, what] :
       {std::tuple{dpdk_requests, uring_requests, "requests"},
        std::tuple{dpdk_responses, uring_responses, "responses"}}) {
    SCOPED_TRACE(what);
    for (const Sent& d : dpdk) {
      EXPECT_EQ(d.from, kListen);  // everything leaves from our address
    }
    std::sort(dpdk.begin(), dpdk.end());
    std::sort(uring.begin(), uring.end());
    ASSERT_EQ(dpdk.size(), uring.size());
    for (size_t i = 0; i < dpdk.size(); ++i) {
      EXPECT_EQ(dpdk[i].to, uring[i].to);
      EXPECT_EQ(dpdk[i].payload, uring[i].payload) << "to " << dpdk[i].to.toString();
    }
  }
}

}  // namespace
}  // namespace sipshield
