// DPDK backend on net_ring ports (no NIC, no hugepages): SIP forwarding compared byte for byte
// with the pipeline run directly, a capture in and a capture out, ARP / ICMP / ND answers,
// next-hop resolution with queueing and timeout, VLAN tags, IPv4 reassembly on receive and
// fragmentation on transmit, and what is counted instead of forwarded.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <rte_ip.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/io/dpdk/dpdk_tx_checksum.h"
#include "tests/dpdk/dpdk_test_util.h"

namespace sipshield {
namespace {

using namespace dpdk_testing;
using io::DpdkCounter;

const net::Endpoint kListen = ep("198.18.0.1:5060");
const net::Endpoint kListen6 = ep("[2001:db8::1]:5060");
const net::Endpoint kClient = ep("198.18.0.2:5070");
const std::vector<std::string> kBackends = {"198.18.1.31:5060", "198.18.1.32:5060"};
const net::MacAddress kClientMac = mac(0x02);
const net::MacAddress kBackendMacs[2] = {mac(0x31), mac(0x32)};

std::string corpus(const std::string& name) {
  std::ifstream in(std::string(SIPSHIELD_CORPUS_DIR) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Rig is one backend on one ring port, driven by the test thread (no worker threads).
class Rig {
 public:
  // `tap`: give the port an exception path to the kernel through a TAP of that name.
  explicit Rig(io::DpdkBackendConfig overrides = {}, uint16_t vlan = 0, std::string tap = "")
      : eal_(ealReady()), port_("rig"), world_(kBackends, {kListen, kListen6}) {
    if (!eal_ || !port_.ok()) {
      return;
    }
    io::DpdkBackendConfig config = overrides;
    config.ports = {io::DpdkPort{port_.name(), vlan}};
    config.ports[0].exception_tap = !tap.empty();
    config.ports[0].exception_name = tap;
    config.addresses = {*io::parseDpdkAddress("198.18.0.1/16"),
                        *io::parseDpdkAddress("2001:db8::1/64")};
    config.listen = {kListen, kListen6};
    config.spawn_threads = false;
    config.mbufs_per_worker = 2047;
    backend_ = std::make_unique<io::DpdkBackend>(config);
    status_ = backend_->start([this](int) -> std::unique_ptr<BurstHandler> {
      auto pipeline = world_.pipeline();
      pipeline_ = pipeline.get();
      return pipeline;
    });
  }
  ~Rig() {
    if (backend_) {
      backend_->stop();
    }
  }
  [[nodiscard]] const Status& status() const { return status_; }
  RingPort& port() { return port_; }
  io::DpdkBackend& backend() { return *backend_; }
  [[nodiscard]] net::MacAddress mac() const { return backend_->layout().ports[0].mac; }
  [[nodiscard]] uint64_t counter(DpdkCounter c) const { return backend_->counters().get(c); }

  // run injects `frames`, polls until the port has been quiet for a while, and returns what
  // the backend sent.
  std::vector<Bytes> run(const std::vector<Bytes>& frames, uint64_t advance_ms = 1) {
    for (const Bytes& f : frames) {
      EXPECT_TRUE(port_.inject(f));
    }
    for (int quiet = 0; quiet < 8;) {
      now_ns_ += advance_ms * 1000000;
      quiet = backend_->pollWorker(0, now_ns_) == 0 ? quiet + 1 : 0;
    }
    return port_.sent();
  }
  // learnBackends answers as if both backends and the client had ARPed for us.
  void learnNeighbours() {
    std::vector<Bytes> frames;
    frames.push_back(ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                              arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.1")));
    for (int i = 0; i < 2; ++i) {
      frames.push_back(ethernet(
          net::MacAddress::broadcast(), kBackendMacs[i], net::kEtherTypeArp,
          arp(1, kBackendMacs[i], kBackends[i].substr(0, kBackends[i].find(':')), {},
              "198.18.0.1")));
    }
    EXPECT_EQ(run(frames).size(), 3u);  // three ARP replies
  }

 private:
  bool eal_;  // first: the ring port needs the EAL
  RingPort port_;
  World world_;
  std::unique_ptr<io::DpdkBackend> backend_;
  Pipeline* pipeline_ = nullptr;
  Status status_ = Status(StatusCode::kUnavailable, "port not created");
  uint64_t now_ns_ = 1'000'000'000'000ull;
};

#define REQUIRE_RIG(rig)                                                     \
  do {                                                                       \
    std::string why;                                                         \
    if (!ealReady(&why)) {                                                   \
      GTEST_SKIP() << "DPDK EAL cannot start on this machine: " << why;       \
    }                                                                        \
    ASSERT_TRUE((rig).status().isOk()) << (rig).status().toString();         \
  } while (0)

// Reference runs the same datagrams through a pipeline directly (no I/O).
std::vector<std::pair<net::Endpoint, std::string>> reference(
    const std::vector<std::string>& messages, const net::Endpoint& source) {
  World world(kBackends, {kListen, kListen6});
  auto pipeline = world.pipeline();
  TxBatch tx(64);
  std::vector<std::pair<net::Endpoint, std::string>> out;
  uint64_t now_ns = 1'000'000'000'000ull;
  for (const std::string& m : messages) {
    RxPacket packet;
    packet.data = reinterpret_cast<const uint8_t*>(m.data());
    packet.length = static_cast<uint32_t>(m.size());
    packet.source = source;
    packet.ttl = 64;
    now_ns += 1000000;
    pipeline->processBurst(std::span<const RxPacket>(&packet, 1), tx, now_ns);
    for (const TxPacket& p : tx.ready()) {
      out.emplace_back(p.destination, std::string(reinterpret_cast<char*>(p.data), p.length));
    }
    tx.clear();
  }
  return out;
}

// A large INVITE: the corpus INVITE with its SDP grown by `extra` bytes of a= lines.
std::string bigInvite(size_t extra) {
  std::string invite = corpus("01_invite_sdp.sip");
  const size_t body = invite.find("\r\n\r\n") + 4;
  std::string sdp = invite.substr(body);
  while (sdp.size() < invite.size() - body + extra) {
    sdp += "a=x-padding:0123456789012345678901234567890123456789\r\n";
  }
  std::string head = invite.substr(0, body);
  const size_t cl = head.find("Content-Length:");
  const size_t eol = head.find("\r\n", cl);
  head.replace(cl, eol - cl, "Content-Length: " + std::to_string(sdp.size()));
  return head + sdp;
}

const std::vector<std::string> kRequests = {
    "01_invite_sdp.sip", "05_ack.sip",   "06_bye.sip",         "08_register_initial.sip",
    "12_options_keepalive.sip", "13_cancel.sip", "14_compact_message.sip", "18_notify_mwi.sip"};

// ---------------------------------------------------------------------------------------------

// ARP requests for our address are answered from our MAC, and the asker is learned.
TEST(DpdkBackend, AnswersArpAndLearnsTheAsker) {
  Rig rig;
  REQUIRE_RIG(rig);
  auto out = rig.run({ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                               arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.1"))});
  ASSERT_EQ(out.size(), 1u);
  net::L2Frame l2;
  ASSERT_TRUE(net::parseEthernet(out[0].data(), static_cast<uint32_t>(out[0].size()), l2));
  EXPECT_EQ(l2.destination, kClientMac);
  EXPECT_EQ(l2.source, rig.mac());
  net::ArpMessage reply;
  ASSERT_TRUE(net::parseArp(out[0].data() + l2.l3_offset, net::kArpBytes, reply));
  EXPECT_EQ(reply.op, net::kArpReply);
  EXPECT_EQ(reply.sender_mac, rig.mac());
  EXPECT_EQ(std::memcmp(reply.sender_ip, ip("198.18.0.1").bytes, 4), 0);
  EXPECT_EQ(reply.target_mac, kClientMac);
  net::MacAddress learned;
  ASSERT_TRUE(rig.backend().neighbours()->lookup(ip("198.18.0.2"), learned));
  EXPECT_EQ(learned, kClientMac);
  EXPECT_EQ(rig.counter(DpdkCounter::ArpRepliesSent), 1u);
}

// ARP for someone else's address gets no answer and creates no entry.
TEST(DpdkBackend, IgnoresArpForOtherHosts) {
  Rig rig;
  REQUIRE_RIG(rig);
  auto out = rig.run({ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                               arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.99"))});
  EXPECT_TRUE(out.empty());
  net::MacAddress learned;
  EXPECT_FALSE(rig.backend().neighbours()->lookup(ip("198.18.0.2"), learned));
}

// An ICMP echo request to us comes back as an echo reply with valid checksums.
TEST(DpdkBackend, AnswersIcmpEcho) {
  Rig rig;
  REQUIRE_RIG(rig);
  Bytes icmp = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
  net::store16(icmp.data() + 2, net::checksumFold(net::checksumAdd(icmp.data(), icmp.size(), 0)));
  Bytes packet(20 + icmp.size());
  const net::IpAddress from = ip("198.18.0.2");
  const net::IpAddress to = ip("198.18.0.1");
  net::Ipv4Fields f;
  f.source = from.bytes;
  f.destination = to.bytes;
  f.protocol = net::kIpProtoIcmp;
  f.payload_length = static_cast<uint16_t>(icmp.size());
  (void)net::writeIpv4(packet.data(), f);
  std::memcpy(packet.data() + 20, icmp.data(), icmp.size());
  auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, packet)});
  ASSERT_EQ(out.size(), 1u);
  const uint8_t* l3 = out[0].data() + 14;
  EXPECT_EQ(std::memcmp(l3 + 12, ip("198.18.0.1").bytes, 4), 0);
  EXPECT_EQ(std::memcmp(l3 + 16, ip("198.18.0.2").bytes, 4), 0);
  EXPECT_EQ(net::ipv4HeaderChecksum(l3, 20), 0);
  EXPECT_EQ(l3[20], 0);  // echo reply
  EXPECT_EQ(net::checksumFold(net::checksumAdd(l3 + 20, icmp.size(), 0)), 0);
  EXPECT_EQ(std::memcmp(l3 + 28, "ping", 4), 0);
  EXPECT_EQ(rig.counter(DpdkCounter::EchoReplies), 1u);
}

// A neighbour solicitation for our IPv6 address is answered with a solicited advertisement.
TEST(DpdkBackend, AnswersNeighbourSolicitation) {
  Rig rig;
  REQUIRE_RIG(rig);
  const net::IpAddress client = ip("2001:db8::2");
  const net::IpAddress target = ip("2001:db8::1");
  const net::IpAddress group = net::solicitedNodeMulticast(target);
  Bytes packet(40 + net::kNeighbourMessageBytes);
  (void)net::writeIpv6(packet.data(), client.bytes, group.bytes, net::kIpProtoIcmpv6, 255,
                       net::kNeighbourMessageBytes);
  (void)net::writeNeighbourMessage(packet.data() + 40, net::kIcmpv6NeighbourSolicitation,
                                   client, group, target, kClientMac, false);
  auto out = rig.run({ethernet(net::MacAddress::ipv6Multicast(group), kClientMac,
                               net::kEtherTypeIpv6, packet)});
  ASSERT_EQ(out.size(), 1u);
  const uint8_t* l3 = out[0].data() + 14;
  EXPECT_EQ(std::memcmp(out[0].data(), kClientMac.bytes, 6), 0);
  EXPECT_EQ(std::memcmp(l3 + 8, target.bytes, 16), 0);
  EXPECT_EQ(std::memcmp(l3 + 24, client.bytes, 16), 0);
  EXPECT_EQ(l3[7], 255);
  net::NeighbourMessage na;
  ASSERT_TRUE(net::parseNeighbourMessage(l3 + 40, net::load16(l3 + 4), na));
  EXPECT_EQ(na.type, net::kIcmpv6NeighbourAdvertisement);
  EXPECT_TRUE(na.solicited);
  EXPECT_EQ(na.target, target);
  EXPECT_EQ(na.link_address, rig.mac());
  EXPECT_EQ(net::checksumFold(net::checksumAdd(
                l3 + 40, net::kNeighbourMessageBytes,
                net::pseudoHeaderSum(target, client, net::kIpProtoIcmpv6,
                                     net::kNeighbourMessageBytes))),
            0);
  net::MacAddress learned;
  EXPECT_TRUE(rig.backend().neighbours()->lookup(client, learned));
}

// Pcap in, pcap out: the corpus requests as a capture go through the ring port and the
// captured output carries, byte for byte, what the pipeline writes for the same datagrams,
// in frames with correct addresses and checksums.
TEST(DpdkBackend, CaptureInCaptureOutMatchesPipeline) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.learnNeighbours();
  std::vector<std::string> messages;
  for (const std::string& name : kRequests) {
    messages.push_back(corpus(name));
    ASSERT_FALSE(messages.back().empty()) << name;
  }
  // Write the input capture, then replay it through the port.
  char dir_template[] = "/tmp/sipshield-dpdk-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string in_path = std::string(dir_template) + "/in.pcap";
  const std::string out_path = std::string(dir_template) + "/out.pcap";
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, in_path.c_str());
  ASSERT_NE(dumper, nullptr);
  uint16_t id = 100;
  for (const std::string& m : messages) {
    Bytes frame = ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                           ipUdp(kClient, kListen, m, id++));
    pcap_pkthdr header{};
    header.caplen = header.len = static_cast<uint32_t>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  std::vector<Bytes> input;
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* reader = pcap_open_offline(in_path.c_str(), error);
  ASSERT_NE(reader, nullptr) << error;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(reader, &header, &data) == 1) {
    input.emplace_back(data, data + header->caplen);
  }
  pcap_close(reader);
  ASSERT_EQ(input.size(), messages.size());
  // One message per burst, as the reference sees them.
  std::vector<Bytes> output;
  for (const Bytes& frame : input) {
    for (Bytes& f : rig.run({frame})) {
      output.push_back(std::move(f));
    }
  }
  dead = pcap_open_dead(DLT_EN10MB, 65535);
  dumper = pcap_dump_open(dead, out_path.c_str());
  ASSERT_NE(dumper, nullptr);
  for (const Bytes& frame : output) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<uint32_t>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  // Read the output capture back and compare with the pipeline run directly.
  std::vector<Bytes> captured;
  reader = pcap_open_offline(out_path.c_str(), error);
  ASSERT_NE(reader, nullptr) << error;
  while (pcap_next_ex(reader, &header, &data) == 1) {
    captured.emplace_back(data, data + header->caplen);
  }
  pcap_close(reader);
  unlink(in_path.c_str());
  unlink(out_path.c_str());
  rmdir(dir_template);

  const auto expected = reference(messages, kClient);
  const auto got = datagrams(captured);
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_GE(got.size(), messages.size() - 1);  // every request but none is forwarded
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("datagram " + std::to_string(i));
    EXPECT_EQ(got[i].payload, expected[i].second);
    EXPECT_EQ(got[i].udp.destination, expected[i].first);
    EXPECT_EQ(got[i].udp.source, kListen);
    EXPECT_TRUE(got[i].ip_checksum_ok);
    EXPECT_TRUE(got[i].udp_checksum_ok);
    EXPECT_EQ(got[i].l2.source, rig.mac());
    const int backend = got[i].udp.destination == ep(kBackends[0]) ? 0 : 1;
    EXPECT_EQ(got[i].l2.destination, kBackendMacs[backend]);
  }
  EXPECT_EQ(rig.counter(DpdkCounter::Datagrams), messages.size());
  EXPECT_EQ(rig.counter(DpdkCounter::TxDatagrams), expected.size());
  // Every forwarded request went out in the mbuf it came in: equal bytes prove in place ==
  // the copy path.
  EXPECT_EQ(rig.counter(DpdkCounter::TxInPlace), expected.size());
  EXPECT_EQ(rig.counter(DpdkCounter::TxCopied), 0u);
  // The requests longer than net::kChecksumMarkBytes took their body's UDP sum from the
  // receive check (the checksums above hold either way).
  const auto longer = static_cast<uint64_t>(std::count_if(
      messages.begin(), messages.end(),
      [](const std::string& m) { return m.size() + 8 > net::kChecksumMarkBytes; }));
  EXPECT_GT(longer, 2u);
  EXPECT_GE(rig.counter(DpdkCounter::TxChecksumReused), longer - 1);
  EXPECT_LE(rig.counter(DpdkCounter::TxChecksumReused), longer);
}

// The INVITE is rewritten and sent in its own mbuf: same mbuf out as in, the SDP body at the
// address it was received at (only the start line and the headers before the last edit
// moved, into the headroom), and the bytes the pipeline writes on the copy path. With
// in_place_tx off the same bytes go out in a new mbuf.
TEST(DpdkBackend, InviteForwardedInPlace) {
  struct Row {
    const char* description;
    bool in_place;
  };
  const Row rows[] = {{"in place", true}, {"copy", false}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.description);
    io::DpdkBackendConfig config;
    config.in_place_tx = row.in_place;
    Rig rig(config);
    REQUIRE_RIG(rig);
    rig.learnNeighbours();
    const std::string invite = corpus("01_invite_sdp.sip");
    const size_t body = invite.find("\r\n\r\n") + 4;
    auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                                 ipUdp(kClient, kListen, invite, 9))});
    const auto expected = reference({invite}, kClient);
    const auto got = datagrams(out);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(expected.size(), 1u);
    EXPECT_EQ(got[0].payload, expected[0].second);
    EXPECT_TRUE(got[0].ip_checksum_ok);
    EXPECT_TRUE(got[0].udp_checksum_ok);
    ASSERT_EQ(rig.port().lastSent().size(), 1u);
    const auto& in = rig.port().injected().back();
    const auto& sent = rig.port().lastSent()[0];
    // Where the body starts in the sent frame (Ethernet + IPv4 + UDP = 42 bytes of headers).
    const size_t sent_body = 42 + expected[0].second.find("\r\n\r\n") + 4;
    if (row.in_place) {
      EXPECT_EQ(sent.mbuf, in.mbuf);
      EXPECT_EQ(sent.data + sent_body, in.data + 42 + body);
      EXPECT_LT(sent.data, in.data);  // grew into the headroom
      EXPECT_EQ(rig.counter(DpdkCounter::TxInPlace), 1u);
      EXPECT_EQ(rig.counter(DpdkCounter::TxCopied), 0u);
    } else {
      EXPECT_NE(sent.mbuf, in.mbuf);
      EXPECT_EQ(rig.counter(DpdkCounter::TxInPlace), 0u);
      EXPECT_EQ(rig.counter(DpdkCounter::TxCopied), 1u);
    }
  }
}

// A datagram that arrives in one frame but outgrows the MTU with our Via cannot go out in its
// mbuf: it is copied and fragmented, with the same bytes.
TEST(DpdkBackend, InPlaceFallsBackToCopyWhenFragmenting) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.learnNeighbours();
  // 1500 - 20 - 8 = 1472 bytes fit one frame; our Via (and received=) push it over.
  size_t extra = 1472 - corpus("01_invite_sdp.sip").size();
  std::string invite = bigInvite(extra);
  while (invite.size() > 1472) {
    invite = bigInvite(extra -= 8);
  }
  ASSERT_LE(invite.size(), 1472u);
  ASSERT_GT(invite.size(), 1400u);
  auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                               ipUdp(kClient, kListen, invite, 10))});
  const auto expected = reference({invite}, kClient);
  ASSERT_EQ(expected.size(), 1u);
  ASSERT_GT(expected[0].second.size(), 1472u);
  const auto got = datagrams(out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, expected[0].second);
  EXPECT_TRUE(got[0].udp_checksum_ok);
  EXPECT_EQ(got[0].frames, 2u);
  EXPECT_EQ(rig.counter(DpdkCounter::TxInPlace), 0u);
  EXPECT_EQ(rig.counter(DpdkCounter::TxCopied), 1u);
}

// A fragmented INVITE is reassembled, forwarded like the whole datagram, and fragmented again
// on the way out because it exceeds the MTU.
TEST(DpdkBackend, ReassemblesAndFragments) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.learnNeighbours();
  const std::string invite = bigInvite(3000);
  ASSERT_GT(invite.size(), 3000u);
  std::vector<Bytes> frames;
  for (const Bytes& f : fragmentsV4(ipUdp(kClient, kListen, invite, 777), 1500)) {
    frames.push_back(ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, f));
  }
  ASSERT_GE(frames.size(), 3u);
  std::swap(frames[0], frames[2]);  // out of order on the wire
  auto out = rig.run(frames);
  const auto expected = reference({invite}, kClient);
  ASSERT_EQ(expected.size(), 1u);
  const auto got = datagrams(out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, expected[0].second);
  EXPECT_TRUE(got[0].udp_checksum_ok);
  EXPECT_GE(got[0].frames, 3u);
  for (const Bytes& f : out) {
    EXPECT_LE(f.size(), 14u + 1500u);
  }
  EXPECT_EQ(rig.counter(DpdkCounter::Reassembled), 1u);
  EXPECT_EQ(rig.counter(DpdkCounter::FragmentsReceived), frames.size());
  EXPECT_EQ(rig.counter(DpdkCounter::FragmentsSent), got[0].frames);
  EXPECT_EQ(rig.counter(DpdkCounter::TxCopied), 1u);  // reassembled: no single mbuf to reuse
}

// A fragmented datagram that is not SIP for us (another port: a big DNS or probe answer to
// the host) is reassembled and handed on whole, to the exception path when the port has one
// (here none: counted and freed). Every fragment mbuf goes back to its pool: the chain is
// owned exactly once whichever way it goes.
TEST(DpdkBackend, ReassembledNonSipGoesToTheKernelPath) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.learnNeighbours();
  const unsigned available = rte_mempool_avail_count(rig.port().pool());
  const std::string payload(3000, 'd');
  std::vector<Bytes> frames;
  for (const Bytes& f : fragmentsV4(ipUdp(kClient, ep("198.18.0.1:5353"), payload, 778), 1500)) {
    frames.push_back(ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, f));
  }
  ASSERT_GE(frames.size(), 3u);
  EXPECT_TRUE(rig.run(frames).empty());
  EXPECT_EQ(rig.counter(DpdkCounter::Reassembled), 1u);
  EXPECT_EQ(rig.counter(DpdkCounter::NotForFastPath), 1u);
  EXPECT_EQ(rig.counter(DpdkCounter::Datagrams), 0u);
  EXPECT_EQ(rte_mempool_avail_count(rig.port().pool()), available);
}

// PrivateNetns moves the calling thread into a new network namespace (the DPDK calls of a
// Rig run on it: spawn_threads is off) and back when it goes out of scope, so a TAP the test
// creates and the addresses it sets live only there.
class PrivateNetns {
 public:
  PrivateNetns() : original_(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
    entered_ = original_ >= 0 && ::unshare(CLONE_NEWNET) == 0;
  }
  ~PrivateNetns() {
    if (entered_) {
      (void)::setns(original_, CLONE_NEWNET);
    }
    if (original_ >= 0) {
      ::close(original_);
    }
  }
  [[nodiscard]] bool entered() const { return entered_; }

 private:
  int original_;
  bool entered_ = false;
};

// The same with an exception path, in a network namespace of the test's own: the kernel
// behind the TAP gets the reassembled datagram whole and a socket there reads all of it.
TEST(DpdkBackend, ReassembledNonSipReachesAKernelSocket) {
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "/dev/net/tun is missing: no TAP exception path here";
  }
  PrivateNetns netns;
  if (!netns.entered()) {
    GTEST_SKIP() << "cannot create a network namespace (needs CAP_SYS_ADMIN)";
  }
  const std::string tap = "sstfrag" + std::to_string(::getpid() % 10000);
  int socket_fd = -1;
  {
    Rig rig({}, 0, tap);
    REQUIRE_RIG(rig);
    ASSERT_EQ(std::system(("ip link set lo up && ip addr add 198.18.0.1/16 dev " + tap +
                           " && ip link set " + tap + " up").c_str()),
              0);
    socket_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_storage address{};
    const socklen_t length = ep("198.18.0.1:5353").toSockaddr(address);
    ASSERT_EQ(::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), length), 0);
    const std::string payload = "fragmented to the kernel " + std::string(2975, 'k');
    std::vector<Bytes> frames;
    for (const Bytes& f :
         fragmentsV4(ipUdp(kClient, ep("198.18.0.1:5353"), payload, 779), 1500)) {
      frames.push_back(ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, f));
    }
    ASSERT_GE(frames.size(), 3u);
    (void)rig.run(frames);
    std::string got(65536, '\0');
    ssize_t n = -1;
    for (int i = 0; i < 100 && n < 0; ++i) {
      n = ::recv(socket_fd, got.data(), got.size(), 0);
      if (n < 0) {
        (void)rig.run({});  // keep polling: the TAP's queue is flushed by the worker
        ::usleep(10000);
      }
    }
    ::close(socket_fd);
    ASSERT_EQ(n, static_cast<ssize_t>(payload.size()));
    got.resize(static_cast<size_t>(n));
    EXPECT_EQ(got, payload);
    EXPECT_EQ(rig.counter(DpdkCounter::Reassembled), 1u);
    EXPECT_EQ(rig.counter(DpdkCounter::ToKernel), 3u) << "in fragments that fit the TAP";
  }
}

// An unknown next hop is resolved by ARP: the datagram waits, the ARP request goes out, the
// reply releases the datagram to the right MAC.
TEST(DpdkBackend, ResolvesNextHopThenSends) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.run({ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                    arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.1"))});
  const std::string invite = corpus("01_invite_sdp.sip");
  auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                               ipUdp(kClient, kListen, invite))});
  ASSERT_EQ(out.size(), 1u);  // only the ARP request
  net::L2Frame l2;
  ASSERT_TRUE(net::parseEthernet(out[0].data(), static_cast<uint32_t>(out[0].size()), l2));
  ASSERT_EQ(l2.ether_type, net::kEtherTypeArp);
  EXPECT_EQ(l2.destination, net::MacAddress::broadcast());
  net::ArpMessage request;
  ASSERT_TRUE(net::parseArp(out[0].data() + 14, net::kArpBytes, request));
  EXPECT_EQ(request.op, net::kArpRequest);
  const auto expected = reference({invite}, kClient);
  ASSERT_EQ(expected.size(), 1u);
  char target[48];
  net::IpAddress asked = ip("0.0.0.0");
  std::memcpy(asked.bytes, request.target_ip, 4);
  asked.format(target, false);
  EXPECT_EQ(asked, expected[0].first.ip) << target;
  EXPECT_EQ(rig.counter(DpdkCounter::NeighbourWaits), 1u);
  const int backend = expected[0].first == ep(kBackends[0]) ? 0 : 1;
  out = rig.run({ethernet(rig.mac(), kBackendMacs[backend], net::kEtherTypeArp,
                          arp(2, kBackendMacs[backend], kBackends[backend].substr(0, 11),
                              rig.mac(), "198.18.0.1"))});
  const auto got = datagrams(out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].l2.destination, kBackendMacs[backend]);
  EXPECT_EQ(got[0].payload, expected[0].second);
}

// A next hop that never answers: the waiting datagram is dropped after the timeout and counted.
TEST(DpdkBackend, DropsWhenTheNextHopNeverAnswers) {
  io::DpdkBackendConfig config;
  config.resolve_timeout_ms = 50;
  Rig rig(config);
  REQUIRE_RIG(rig);
  rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                    ipUdp(kClient, kListen, corpus("06_bye.sip")))});
  EXPECT_EQ(rig.counter(DpdkCounter::NeighbourWaits), 1u);
  rig.run({}, 20);  // 8 quiet polls of 20 ms each pass the 50 ms deadline
  EXPECT_EQ(rig.counter(DpdkCounter::NeighbourTimeouts), 1u);
  EXPECT_GE(rig.counter(DpdkCounter::ArpRequestsSent), 1u);
}

// With a VLAN configured, tagged traffic is served (and answered tagged); untagged is not.
TEST(DpdkBackend, VlanTaggedPort) {
  Rig rig({}, 100);
  REQUIRE_RIG(rig);
  auto out = rig.run({ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                               arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.1"), 100)});
  ASSERT_EQ(out.size(), 1u);
  net::L2Frame l2;
  ASSERT_TRUE(net::parseEthernet(out[0].data(), static_cast<uint32_t>(out[0].size()), l2));
  EXPECT_EQ(l2.vlan, 100);
  EXPECT_EQ(l2.ether_type, net::kEtherTypeArp);
  out = rig.run({ethernet(net::MacAddress::broadcast(), kClientMac, net::kEtherTypeArp,
                          arp(1, kClientMac, "198.18.0.2", {}, "198.18.0.1"))});
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rig.counter(DpdkCounter::VlanMismatch), 1u);
}

// What the fast path does not serve is counted by reason, never forwarded.
TEST(DpdkBackend, CountsWhatItDoesNotServe) {
  Rig rig;
  REQUIRE_RIG(rig);
  rig.learnNeighbours();
  const std::string options = corpus("12_options_keepalive.sip");
  Bytes bad = ipUdp(kClient, kListen, options);
  bad[bad.size() - 1] ^= 0x20;  // payload changed after the checksum
  Bytes other_port = ipUdp(kClient, ep("198.18.0.1:5080"), options);
  Bytes other_ip = ipUdp(kClient, ep("198.18.0.77:5060"), options);
  Bytes tcp = ipUdp(kClient, kListen, options);
  tcp[9] = 6;
  net::store16(tcp.data() + 10, 0);
  net::store16(tcp.data() + 10, net::ipv4HeaderChecksum(tcp.data(), 20));
  Bytes other_mac = ethernet(mac(0x99), kClientMac, net::kEtherTypeIpv4,
                             ipUdp(kClient, kListen, options));
  auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, bad),
                      ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, other_port),
                      ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, other_ip),
                      ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4, tcp), other_mac});
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rig.counter(DpdkCounter::BadChecksum), 1u);
  EXPECT_EQ(rig.counter(DpdkCounter::NotForFastPath), 2u);  // other port, TCP
  EXPECT_EQ(rig.counter(DpdkCounter::NotOurs), 2u);         // other IP, other MAC
  EXPECT_EQ(rig.counter(DpdkCounter::Datagrams), 0u);
}

// A port's RX checksum verdicts (ol_flags) are trusted both ways: BAD drops a datagram whose
// checksums are right, GOOD or NONE (verified, field not filled in) passes one whose stored
// checksum is wrong (the software check was skipped), UNKNOWN leaves the check to us.
TEST(DpdkBackend, TrustsThePortsChecksumVerdicts) {
  Rig rig;
  REQUIRE_RIG(rig);
  const std::string options = corpus("12_options_keepalive.sip");
  const Bytes good = ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv4,
                              ipUdp(kClient, kListen, options));
  Bytes wrong_udp = good;
  wrong_udp.back() ^= 0x20;  // payload changed after the UDP checksum
  Bytes wrong_ip = good;
  constexpr size_t kTtlOffset = net::kEthernetHeaderBytes + 8;
  wrong_ip.at(kTtlOffset) ^= 0x01;  // TTL changed after the header checksum
  const Bytes good6 = ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv6,
                               ipUdp(ep("[2001:db8::2]:5070"), kListen6, options));
  Bytes wrong_udp6 = good6;
  wrong_udp6.back() ^= 0x20;
  const struct {
    const char* desc;
    const Bytes& frame;
    uint64_t flags;
    bool accepted;
  } rows[] = {
      {"UDP BAD, checksums right", good, RTE_MBUF_F_RX_L4_CKSUM_BAD, false},
      {"IP BAD, checksums right", good, RTE_MBUF_F_RX_IP_CKSUM_BAD, false},
      {"UDP GOOD, UDP checksum wrong", wrong_udp, RTE_MBUF_F_RX_L4_CKSUM_GOOD, true},
      {"UDP NONE, UDP checksum wrong", wrong_udp, RTE_MBUF_F_RX_L4_CKSUM_NONE, true},
      {"UDP UNKNOWN, UDP checksum wrong", wrong_udp, 0, false},
      {"IP GOOD, IP checksum wrong", wrong_ip, RTE_MBUF_F_RX_IP_CKSUM_GOOD, true},
      {"IP NONE, IP checksum wrong", wrong_ip, RTE_MBUF_F_RX_IP_CKSUM_NONE, true},
      {"IP UNKNOWN, IP checksum wrong", wrong_ip, 0, false},
      {"IPv6 UDP BAD, checksum right", good6, RTE_MBUF_F_RX_L4_CKSUM_BAD, false},
      {"IPv6 UDP GOOD, checksum wrong", wrong_udp6, RTE_MBUF_F_RX_L4_CKSUM_GOOD, true},
      {"IPv6 UDP UNKNOWN, checksum wrong", wrong_udp6, 0, false},
  };
  uint64_t datagrams = 0;
  uint64_t bad = 0;
  for (const auto& r : rows) {
    ASSERT_TRUE(rig.port().inject(r.frame, r.flags)) << r.desc;
    (void)rig.run({});
    datagrams += r.accepted ? 1 : 0;
    bad += r.accepted ? 0 : 1;
    EXPECT_EQ(rig.counter(DpdkCounter::Datagrams), datagrams) << r.desc;
    EXPECT_EQ(rig.counter(DpdkCounter::BadChecksum), bad) << r.desc;
  }
}

// SIP over IPv6 to our v6 listen address reaches the pipeline (with its checksum verified).
TEST(DpdkBackend, DeliversIpv6Sip) {
  Rig rig;
  REQUIRE_RIG(rig);
  const net::Endpoint client6 = ep("[2001:db8::2]:5070");
  const std::string options = corpus("12_options_keepalive.sip");
  auto out = rig.run({ethernet(rig.mac(), kClientMac, net::kEtherTypeIpv6,
                               ipUdp(client6, kListen6, options))});
  EXPECT_EQ(rig.counter(DpdkCounter::Datagrams), 1u);
  EXPECT_EQ(rig.counter(DpdkCounter::BadChecksum), 0u);
  (void)out;  // the backends are IPv4: what the pipeline does next is its own test's business
}

}  // namespace
}  // namespace sipshield

namespace sipshield {
namespace {

// Which checksums a port computes follows its tx_offload_capa, and configuration can force
// software; the bits enabled in txmode are exactly the chosen ones.
TEST(TxChecksumOffload, SelectionFollowsCapabilities) {
  struct Row {
    const char* description;
    uint64_t capa;
    bool wanted;
    io::TxChecksumOffload expected;
  };
  const Row rows[] = {
      {"none offered (net_ring, net_pcap)", 0, true, {false, false}},
      {"both offered", RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM, true,
       {true, true}},
      {"udp only", RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM, true,
       {false, true}},
      {"ipv4 only", RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, true, {true, false}},
      {"offered but switched off", RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM,
       false, {false, false}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.description);
    const io::TxChecksumOffload got = io::selectTxChecksumOffload(row.capa, row.wanted);
    EXPECT_EQ(got, row.expected);
    EXPECT_EQ(io::txOffloadBits(got) & ~row.capa, 0u);  // never asks for what is not offered
    EXPECT_EQ((io::txOffloadBits(got) & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0, row.expected.udp);
  }
}

// Software checksums verify; offloaded ones leave DPDK's contract in the frame: IPv4 header
// checksum zero, UDP checksum = the pseudo-header sum as rte_ipv4/6_phdr_cksum computes it,
// and the mbuf flags and lengths the PMD needs.
TEST(TxChecksumOffload, HeadersFollowDpdkContract) {
  struct Row {
    const char* description;
    const char* source;
    const char* destination;
    uint16_t vlan;
    io::TxChecksumOffload offload;
  };
  const Row rows[] = {
      {"v4 software", "198.18.0.1:5060", "198.18.1.31:5060", 0, {false, false}},
      {"v4 both offloaded", "198.18.0.1:5060", "198.18.1.31:5060", 0, {true, true}},
      {"v4 udp offloaded, vlan", "198.18.0.1:5060", "198.18.1.31:5061", 7, {false, true}},
      {"v6 software", "[2001:db8::1]:5060", "[2001:db8::31]:5060", 0, {false, false}},
      {"v6 udp offloaded", "[2001:db8::1]:5060", "[2001:db8::31]:5060", 0, {true, true}},
  };
  const std::string payload = corpus("01_invite_sdp.sip");
  for (const Row& row : rows) {
    SCOPED_TRACE(row.description);
    const net::Endpoint source = ep(row.source);
    const net::Endpoint destination = ep(row.destination);
    const uint32_t header_bytes = io::datagramHeaderBytes(source.ip.isV4(), row.vlan);
    Bytes frame(header_bytes + payload.size());
    std::memcpy(frame.data() + header_bytes, payload.data(), payload.size());
    const io::DatagramHeaders h =
        io::writeDatagramHeaders(frame.data(), mac(0x01), row.vlan, source, destination,
                                 static_cast<uint32_t>(payload.size()), 42, row.offload);
    ASSERT_EQ(h.length, header_bytes);
    const uint32_t l2 = row.vlan != 0 ? 18 : 14;
    const uint8_t* l3 = frame.data() + l2;
    const uint32_t l3_len = source.ip.isV4() ? 20 : 40;
    const uint8_t* udp = l3 + l3_len;
    const bool v4_offload = source.ip.isV4() && row.offload.ipv4;
    if (!row.offload.udp && !v4_offload) {
      EXPECT_EQ(h.ol_flags, 0u);
      const auto got = datagrams({frame});
      ASSERT_EQ(got.size(), 1u);
      EXPECT_TRUE(got[0].ip_checksum_ok);
      EXPECT_TRUE(got[0].udp_checksum_ok);
      EXPECT_EQ(got[0].payload, payload);
      continue;
    }
    EXPECT_EQ(h.l2_len, l2);
    EXPECT_EQ(h.l3_len, l3_len);
    uint64_t flags = source.ip.isV4() ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
    if (v4_offload) {
      flags |= RTE_MBUF_F_TX_IP_CKSUM;
      EXPECT_EQ(net::load16(l3 + 10), 0u);
    }
    if (row.offload.udp) {
      flags |= RTE_MBUF_F_TX_UDP_CKSUM;
      const uint16_t expected =
          source.ip.isV4()
              ? rte_be_to_cpu_16(rte_ipv4_phdr_cksum(
                    reinterpret_cast<const rte_ipv4_hdr*>(l3), flags))
              : rte_be_to_cpu_16(rte_ipv6_phdr_cksum(
                    reinterpret_cast<const rte_ipv6_hdr*>(l3), flags));
      EXPECT_EQ(net::load16(udp + 6), expected);
    }
    EXPECT_EQ(h.ol_flags, flags);
  }
}

}  // namespace
}  // namespace sipshield
