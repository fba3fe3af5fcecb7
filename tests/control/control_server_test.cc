#include "src/control/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "src/control/command_registry.h"
#include "src/control/ctl_client.h"

namespace sipshield::control {
namespace {

using nlohmann::json;

// Table of requests and the answer fields expected from the registry.
TEST(CommandRegistryTest, AnswersRequests) {
  CommandRegistry registry;
  registry.add("echo", "echo the name", [](const json& request) -> json {
    return {{"name", request.at("name").get<std::string>()}};
  });
  registry.add("boom", "throws", [](const json&) -> json { throw std::runtime_error("kaput"); });
  registry.add("scalar", "returns a number", [](const json&) -> json { return 5; });
  struct Row {
    const char* description;
    const char* line;
    const char* key;
    const char* expected;  // substring of answer[key]
  };
  const Row rows[] = {
      {"ok", R"({"cmd":"echo","name":"pbx-a"})", "name", "pbx-a"},
      {"unknown", R"({"cmd":"nope"})", "error", "unknown command: nope"},
      {"no cmd", R"({"name":"x"})", "error", "\"cmd\" string"},
      {"cmd not string", R"({"cmd":5})", "error", "\"cmd\" string"},
      {"not an object", R"(["backends"])", "error", "\"cmd\" string"},
      {"bad JSON", R"({"cmd":)", "error", "bad JSON"},
      {"missing argument", R"({"cmd":"echo"})", "error", "bad arguments for echo"},
      {"handler throws", R"({"cmd":"boom"})", "error", "kaput"},
      {"handler gives no object", R"({"cmd":"scalar"})", "error", "gave no object"},
      {"filters: top", R"({"cmd":"top"})", "error", "not available: filters not enabled"},
      {"filters: bans", R"({"cmd":"bans","action":"add"})", "error", "filters not enabled"},
      {"filters: rules", R"({"cmd":"rules"})", "error", "filters not enabled"},
  };
  for (const Row& row : rows) {
    json answer = json::parse(registry.handleLine(row.line));
    ASSERT_TRUE(answer.contains(row.key)) << row.description << ": " << answer.dump();
    EXPECT_NE(answer[row.key].get<std::string>().find(row.expected), std::string::npos)
        << row.description << ": " << answer.dump();
  }
  json help = json::parse(registry.handleLine(R"({"cmd":"help"})"));
  EXPECT_TRUE(help["commands"].contains("echo"));
  EXPECT_TRUE(help["commands"].contains("rules"));
}

// A provider replaces the unavailable placeholder.
TEST(CommandRegistryTest, ProviderReplacesPlaceholder) {
  CommandRegistry registry;
  registry.add("rules", "rules", [](const json&) -> json { return {{"rules", json::array()}}; });
  json answer = json::parse(registry.handleLine(R"({"cmd":"rules"})"));
  EXPECT_FALSE(answer.contains("error"));
  EXPECT_TRUE(registry.remove("rules"));
  EXPECT_FALSE(registry.has("rules"));
  EXPECT_FALSE(registry.remove("rules"));
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipshield-ctl-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/sub/dir/control.sock";
    registry_.add("echo", "echo", [](const json& r) -> json { return {{"echo", r}}; });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // connectRaw opens a client connection (the server accepts it on its next poll).
  int connectRaw() const {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    return fd;
  }
  // readLines polls the server until `n` lines arrived on `fd` (bounded).
  std::string readLines(ControlServer& server, int fd, size_t n) {
    std::string got;
    for (int i = 0; i < 200 && static_cast<size_t>(std::count(got.begin(), got.end(), '\n')) < n;
         ++i) {
      server.poll(registry_, now_ms_);
      char buf[4096];
      ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (r > 0) {
        got.append(buf, static_cast<size_t>(r));
      } else if (r == 0) {
        break;
      } else {
        usleep(1000);
      }
    }
    return got;
  }

  std::string dir_;
  std::string path_;
  CommandRegistry registry_;
  uint64_t now_ms_ = 1000;
};

// The socket is created with its directories, mode 0660, and removed on close.
TEST_F(ControlServerTest, CreatesSocketWithModeAndRemovesIt) {
  ControlServer server;
  ASSERT_TRUE(server.open(path_).isOk());
  struct stat st{};
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  server.close();
  EXPECT_NE(lstat(path_.c_str(), &st), 0);
}

// Several requests on one connection are answered in order, one line each; a request split
// across writes, CRLF, blank lines and a final request without newline all work.
TEST_F(ControlServerTest, LineProtocol) {
  ControlServer server;
  ASSERT_TRUE(server.open(path_).isOk());
  int fd = connectRaw();
  std::string requests = "{\"cmd\":\"echo\",\"n\":1}\n\r\n{\"cmd\":\"nope\"}\r\n{\"cmd\":\"ec";
  ASSERT_EQ(send(fd, requests.data(), requests.size(), 0), static_cast<ssize_t>(requests.size()));
  std::string got = readLines(server, fd, 2);
  std::string tail = "ho\",\"n\":3}";
  ASSERT_EQ(send(fd, tail.data(), tail.size(), 0), static_cast<ssize_t>(tail.size()));
  shutdown(fd, SHUT_WR);
  got += readLines(server, fd, 1);
  close(fd);
  std::istringstream lines(got);
  std::string line;
  std::vector<json> answers;
  while (std::getline(lines, line)) {
    answers.push_back(json::parse(line));
  }
  ASSERT_EQ(answers.size(), 3u) << got;
  EXPECT_EQ(answers[0]["echo"]["n"], 1);
  EXPECT_EQ(answers[1]["error"], "unknown command: nope");
  EXPECT_EQ(answers[2]["echo"]["n"], 3);
  server.poll(registry_, now_ms_);
  EXPECT_EQ(server.clientCount(), 0u);
}

// An over-long request gets an error and the connection is closed; idle clients time out.
TEST_F(ControlServerTest, LimitsOversizedAndIdleClients) {
  ControlServerLimits limits;
  limits.max_request_bytes = 1024;
  limits.idle_timeout_ms = 5000;
  ControlServer server(limits);
  ASSERT_TRUE(server.open(path_).isOk());
  int big = connectRaw();
  std::string junk(4096, 'x');
  ASSERT_GT(send(big, junk.data(), junk.size(), 0), 0);
  std::string got = readLines(server, big, 1);
  EXPECT_EQ(got, "{\"error\":\"request too long\"}\n");
  close(big);
  int idle = connectRaw();
  server.poll(registry_, now_ms_);
  EXPECT_EQ(server.clientCount(), 1u);
  now_ms_ += 6000;
  server.poll(registry_, now_ms_);
  EXPECT_EQ(server.clientCount(), 0u);
  close(idle);
}

// A stale socket file is replaced; a live one or a non-socket file is refused.
TEST_F(ControlServerTest, StaleLiveAndForeignFiles) {
  {
    ControlServer first;
    ASSERT_TRUE(first.open(path_).isOk());
    ControlServer second;
    Status s = second.open(path_);
    EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
    EXPECT_NE(s.message().find("in use"), std::string::npos);
  }
  // A socket file nobody listens on (the daemon was killed).
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  close(fd);
  ControlServer server;
  EXPECT_TRUE(server.open(path_).isOk());
  server.close();
  std::ofstream(path_) << "not a socket";
  Status s = server.open(path_);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("not a socket"), std::string::npos);
  EXPECT_EQ(server.open("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.open("/tmp/" + std::string(200, 'a')).code(), StatusCode::kInvalidArgument);
}

// The client library talks to the server, and names a missing daemon clearly.
TEST_F(ControlServerTest, ClientRoundTripAndDeadSocket) {
  auto dead = sendCommand(dir_ + "/none.sock", {{"cmd", "stats"}}, 1000);
  ASSERT_FALSE(dead.isOk());
  EXPECT_EQ(dead.status().message(), "cannot connect to " + dir_ +
                                         "/none.sock: No such file or directory (is sipshield "
                                         "running?)");
  ControlServer server;
  ASSERT_TRUE(server.open(path_).isOk());
  std::atomic<bool> done{false};
  std::thread loop([&] {
    while (!done.load()) {
      server.poll(registry_, now_ms_);
      usleep(1000);
    }
  });
  auto answer = sendCommand(path_, {{"cmd", "echo"}, {"x", "y"}}, 5000);
  done.store(true);
  loop.join();
  ASSERT_TRUE(answer.isOk()) << answer.status().message();
  EXPECT_EQ(answer.value()["echo"]["x"], "y");
  auto timeout = sendCommand(path_, {{"cmd", "echo"}}, 100);  // nobody polls the server
  ASSERT_FALSE(timeout.isOk());
  EXPECT_NE(timeout.status().message().find("no answer"), std::string::npos);
}

}  // namespace
}  // namespace sipshield::control
