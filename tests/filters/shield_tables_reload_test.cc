// [shield.tables] sizes are fixed when the workers start: a reload that changes them is logged
// ("reload_needs_restart" "shield.tables"), keeps the running sizes and the daemon keeps
// serving. A real Daemon on loopback (two workers, no control socket, no probes).

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "src/config.h"
#include "src/daemon.h"

namespace sipshield {
namespace {

// freeUdpPort asks the kernel for a free loopback UDP port (closed again at once).
uint16_t freeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(a);
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) == 0) {
    port = ntohs(a.sin_port);
  }
  if (fd >= 0) {
    close(fd);
  }
  return port;
}

std::string configText(const std::string& log, uint16_t port, uint32_t buckets) {
  return "[server]\nworkers = 2\nlisten = [\"127.0.0.1:" + std::to_string(port) + "\"]\n"
         "[balancer]\nsecret = \"00112233445566778899aabbccddeeff\"\n"
         "[health]\nenabled = false\n[control]\nsocket = \"\"\n[log]\nevents = \"" + log +
         "\"\n[[backend]]\nname = \"b0\"\naddress = \"127.0.0.1:5999\"\n"
         "[shield]\n[shield.tables]\nbuckets = " + std::to_string(buckets) + "\nnonces = 1024\n";
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Changed sizes on reload: logged, old sizes kept, other changes still applied, no crash.
TEST(ShieldTables, ReloadKeepsRunningSizes) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/shield_tables.toml";
  const std::string log = dir + "/shield_tables_events.log";
  std::remove(log.c_str());
  const uint16_t port = freeUdpPort();
  ASSERT_NE(port, 0);
  write(path, configText(log, port, 4096));
  auto config = loadConfig(path);
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  Daemon daemon(std::move(config).value(), path);
  const Status started = daemon.start();
  if (!started.isOk()) {
    GTEST_SKIP() << "cannot start a daemon here: " << started.toString();
  }
  EXPECT_EQ(daemon.config().shield.sizes.buckets, 4096u);
  write(path, configText(log, port, 8192));
  ASSERT_TRUE(daemon.reload().isOk());
  EXPECT_EQ(daemon.config().shield.sizes.buckets, 4096u);  // running sizes
  // Back to the running sizes: that reload says nothing about the tables.
  write(path, configText(log, port, 4096));
  ASSERT_TRUE(daemon.reload().isOk());
  daemon.stop();
  const std::string events = slurp(log);
  EXPECT_NE(events.find("reload_needs_restart"), std::string::npos) << events;
  size_t count = 0;
  for (size_t at = events.find("shield.tables"); at != std::string::npos;
       at = events.find("shield.tables", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << events;
  std::remove(path.c_str());
  std::remove(log.c_str());
}

}  // namespace
}  // namespace sipshield
