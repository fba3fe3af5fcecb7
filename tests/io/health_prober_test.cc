// HealthProber over real loopback sockets (IPv4 and IPv6): a UDP "backend" reads each OPTIONS
// probe and answers it; answers settle probes by status, silence times out, and answers that
// did not come from the probed backend or do not carry the probe's own Call-ID are ignored.
// Also the freebind open the DPDK backend relies on, for both families.
#include "src/health_prober.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "parser/validate.h"

namespace sipshield {
namespace {

net::Endpoint ep(std::string_view text) { return *net::Endpoint::parse(text); }

// FakeBackend is a bound UDP socket on loopback that reads probes and sends answers.
class FakeBackend {
 public:
  explicit FakeBackend(const std::string& address) {
    net::Endpoint bind_to = ep(address);
    fd_ = ::socket(bind_to.ip.family, SOCK_DGRAM, 0);
    sockaddr_storage storage{};
    socklen_t length = bind_to.toSockaddr(storage);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&storage), length), 0) << address;
    length = sizeof(storage);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
    address_ = net::Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
  }
  ~FakeBackend() { ::close(fd_); }

  [[nodiscard]] const net::Endpoint& address() const { return address_; }

  // readProbe waits up to a second for a probe; returns its bytes and sender ("" on timeout).
  std::string readProbe(net::Endpoint& from) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) {
      return "";
    }
    char buffer[4096];
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    const ssize_t n = ::recvfrom(fd_, buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&storage), &length);
    from = net::Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }

  // answer sends `status` for `probe` to `to`, copying Via, From, To, Call-ID and CSeq (RFC
  // 3261 §8.2.6.2); `call_id` replaces the Call-ID when not empty.
  void answer(const std::string& probe, const net::Endpoint& to, int status,
              const std::string& call_id = "") {
    std::string reply = "SIP/2.0 " + std::to_string(status) + " Whatever\r\n";
    for (const char* name : {"Via:", "From:", "To:", "Call-ID:", "CSeq:"}) {
      const size_t at = probe.find(std::string("\r\n") + name);
      ASSERT_NE(at, std::string::npos) << name;
      const size_t end = probe.find("\r\n", at + 2);
      std::string line = probe.substr(at + 2, end - at - 2);
      if (std::string_view(name) == "Call-ID:" && !call_id.empty()) {
        line = "Call-ID: " + call_id;
      }
      reply += line + "\r\n";
    }
    reply += "Content-Length: 0\r\n\r\n";
    sockaddr_storage storage{};
    const socklen_t length = to.toSockaddr(storage);
    ASSERT_EQ(::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&storage),
                       length),
              static_cast<ssize_t>(reply.size()));
  }

 private:
  int fd_ = -1;
  net::Endpoint address_;
};

std::string header(const std::string& message, const std::string& name) {
  const size_t at = message.find("\r\n" + name + ": ");
  if (at == std::string::npos) {
    return "";
  }
  const size_t begin = at + 4 + name.size();
  return message.substr(begin, message.find("\r\n", begin) - begin);
}

// pollUntil polls the prober (fake clock `now`, real sockets) until it reports something or
// a second of real time passed.
std::vector<ProbeResult> pollUntilResult(HealthProber& prober, uint64_t now,
                                         const std::vector<ProbeTarget>& targets) {
  std::vector<ProbeResult> results;
  for (int i = 0; i < 100 && results.empty(); ++i) {
    prober.poll(now, targets, results);
    if (results.empty()) {
      ::usleep(10000);
    }
  }
  return results;
}

class HealthProberFamilies : public ::testing::TestWithParam<const char*> {};

// One probe per interval, a valid OPTIONS from the prober's own ephemeral port, settled by the
// answer's status: below 500 is alive (404: the stack is up), 5xx is not; 1xx settles nothing.
TEST_P(HealthProberFamilies, AnswersSettleProbesByStatus) {
  const std::string host = GetParam();
  FakeBackend backend(host + ":0");
  HealthProber prober(1000, 500);
  ASSERT_TRUE(prober.open({ep(host + ":5060")}).isOk());
  const std::vector<ProbeTarget> targets = {{3, backend.address()}};
  uint64_t now = 10'000;
  struct Row {
    int status;
    bool ok;
  };
  for (const Row& row : {Row{200, true}, Row{404, true}, Row{503, false}}) {
    SCOPED_TRACE(row.status);
    std::vector<ProbeResult> results;
    prober.poll(now, targets, results);  // due: sends the probe
    EXPECT_TRUE(results.empty());
    net::Endpoint from;
    const std::string probe = backend.readProbe(from);
    ASSERT_FALSE(probe.empty());
    EXPECT_NE(from.port, 5060) << "probes come from their own socket, not the listen port";
    parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
    parser::SipSummary summary;
    ASSERT_TRUE(parser::scanAndValidate(parser::ByteView(probe.data(), probe.size()),
                                        parsed.message, summary)
                    .ok())
        << probe;
    EXPECT_EQ(parsed.message.method, parser::Method::Options);
    EXPECT_EQ(header(probe, "Call-ID").rfind("sipshield-probe-3-", 0), 0u) << probe;
    backend.answer(probe, from, 100);
    backend.answer(probe, from, row.status);
    results = pollUntilResult(prober, now + 10, targets);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].index, 3);
    EXPECT_EQ(results[0].ok, row.ok);
    EXPECT_EQ(results[0].status, row.status);
    now += 1000;
  }
  // A backend that stays silent: a timeout once the answer is overdue, then the next probe.
  std::vector<ProbeResult> results;
  prober.poll(now, targets, results);
  net::Endpoint from;
  ASSERT_FALSE(backend.readProbe(from).empty());
  prober.poll(now + 499, targets, results);
  EXPECT_TRUE(results.empty());
  prober.poll(now + 500, targets, results);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].status, 0);
}

INSTANTIATE_TEST_SUITE_P(Loopback, HealthProberFamilies, ::testing::Values("127.0.0.1", "[::1]"));

// Answers that must not keep a backend "up": the right Call-ID from another address (an
// off-path sender who learned it), and the right address with a guessed Call-ID (same index
// and sequence, another token). Both are ignored and the probe times out; the real answer
// after them still counts.
TEST(HealthProber, ForgedAnswersAreIgnored) {
  FakeBackend backend("127.0.0.1:0");
  FakeBackend impostor("127.0.0.2:0");
  HealthProber prober(1000, 500);
  ASSERT_TRUE(prober.open({ep("127.0.0.1:5060")}).isOk());
  const std::vector<ProbeTarget> targets = {{0, backend.address()}};
  std::vector<ProbeResult> results;
  prober.poll(10'000, targets, results);
  net::Endpoint from;
  const std::string probe = backend.readProbe(from);
  ASSERT_FALSE(probe.empty());
  const std::string call_id = header(probe, "Call-ID");
  impostor.answer(probe, from, 200);
  const size_t at = call_id.find('@');
  std::string guessed = call_id;
  guessed.replace(at - 16, 16, "0123456789abcdef");
  ASSERT_NE(guessed, call_id);
  backend.answer(probe, from, 200, guessed);
  ::usleep(50000);  // both forged answers are queued on the prober's socket
  prober.poll(10'010, targets, results);
  EXPECT_TRUE(results.empty()) << "a forged answer settled the probe";
  backend.answer(probe, from, 200);
  results = pollUntilResult(prober, 10'020, targets);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok);
}

// The DPDK backend opens the prober before the operator puts the listen address on the
// exception-path TAP: with freebind the bind succeeds for an address the host does not have
// (IPv4 and IPv6, benchmarking and documentation ranges); without it the bind is an error
// naming the address.
TEST(HealthProber, FreebindOpensBeforeTheAddressExists) {
  for (const char* absent : {"198.18.200.77:5060", "[2001:db8:5eed::77]:5060"}) {
    SCOPED_TRACE(absent);
    HealthProber strict(1000, 500);
    const Status refused = strict.open({ep(absent)});
    EXPECT_FALSE(refused.isOk());
    EXPECT_NE(refused.toString().find("bind"), std::string::npos) << refused.toString();
    HealthProber freebind(1000, 500);
    EXPECT_TRUE(freebind.open({ep(absent)}, true).isOk());
    EXPECT_TRUE(freebind.isOpen());
  }
}

}  // namespace
}  // namespace sipshield
