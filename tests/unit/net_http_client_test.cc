// HttpClientConnection over plain TCP against a scripted loopback server: two requests on one
// kept-alive connection, a chunked stream read piece by piece as the server writes it, a
// server that never answers (the deadline), and `Connection: close` ending reuse. (TLS is
// covered by the JWKS fetch tests, which run on the same client.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "relay/net/http_client.h"

namespace tg::net {
namespace {

using std::chrono::milliseconds;

// A one-connection server on 127.0.0.1: `script` runs on the accepted socket in a thread.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int)> script) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, script = std::move(script)] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd >= 0) {
        script(fd);
        ::close(fd);
      }
    });
  }
  ~ScriptedServer() {
    thread_.join();
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// Reads until `count` request heads (blank lines) have arrived.
void read_requests(int fd, int count) {
  std::string seen;
  char buffer[4096];
  while (count > 0) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    seen.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t at; (at = seen.find("\r\n\r\n")) != std::string::npos; --count) {
      seen.erase(0, at + 4);
    }
  }
}

void send_text(int fd, std::string_view text) {
  (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

Clock::time_point in(int ms) {
  return Clock::now() + milliseconds(ms);
}

TEST(HttpClient, KeepsAConnectionAliveAcrossRequests) {
  ScriptedServer server([](int fd) {
    read_requests(fd, 1);
    send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    read_requests(fd, 1);
    send_text(fd,
              "HTTP/1.1 503 No\r\nContent-Type: application/json\r\nConnection: close\r\n"
              "Content-Length: 2\r\n\r\n{}");
  });
  HttpClientConnection connection;
  ASSERT_TRUE(connection.connect("127.0.0.1", server.port(), nullptr, in(2000)).ok());
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(connection.send(request, in(2000)).ok());
  auto head = connection.read_head("GET", in(2000));
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->status, 200);
  std::string body;
  ASSERT_TRUE(connection.read_body(body, 1024, in(2000)).ok());
  EXPECT_EQ(body, "first");
  EXPECT_TRUE(connection.reusable());
  // The same socket carries the second exchange; its Connection: close ends the reuse.
  ASSERT_TRUE(connection.send(request, in(2000)).ok());
  head = connection.read_head("GET", in(2000));
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->status, 503);
  EXPECT_EQ(head->content_type, "application/json");
  ASSERT_TRUE(connection.read_body(body, 1024, in(2000)).ok());
  EXPECT_EQ(body, "{}");
  EXPECT_FALSE(connection.reusable());
}

TEST(HttpClient, ReadsAChunkedStreamAsItArrives) {
  ScriptedServer server([](int fd) {
    read_requests(fd, 1);
    send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n");
    read_requests(fd, 1);  // the client's go-ahead: a second "request"
    send_text(fd, "2\r\nli\r\n");
    send_text(fd, "4\r\nne2\n\r\n0\r\n\r\n");
  });
  HttpClientConnection connection;
  ASSERT_TRUE(connection.connect("127.0.0.1", server.port(), nullptr, in(2000)).ok());
  ASSERT_TRUE(connection.send("POST /v3/watch HTTP/1.1\r\nHost: x\r\n\r\n", in(2000)).ok());
  ASSERT_TRUE(connection.read_head("POST", in(2000)).ok());
  std::string stream;
  auto more = connection.read_body_some(stream, in(2000));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(*more);
  EXPECT_EQ(stream, "line1\n");  // delivered before the rest of the body exists
  // Nothing more until the server writes: the deadline passes, the stream stays usable.
  more = connection.read_body_some(stream, in(50));
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().message, "timed out");
  ASSERT_TRUE(connection.send("\r\n\r\n", in(2000)).ok());
  while ((more = connection.read_body_some(stream, in(2000))).ok() && *more) {
  }
  ASSERT_TRUE(more.ok()) << more.error().message;
  EXPECT_EQ(stream, "line1\nline2\n");
  EXPECT_TRUE(connection.reusable());
}

TEST(HttpClient, GivesUpAtTheDeadlineAndOnRefusal) {
  ScriptedServer server([](int fd) {
    read_requests(fd, 1);
    usleep(300'000);  // no answer before the client's deadline
  });
  HttpClientConnection connection;
  ASSERT_TRUE(connection.connect("127.0.0.1", server.port(), nullptr, in(2000)).ok());
  ASSERT_TRUE(connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", in(2000)).ok());
  auto head = connection.read_head("GET", in(100));
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().message, "timed out");

  HttpClientConnection refused;
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);  // a port with nobody listening
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t size = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size);
  auto status = refused.connect("127.0.0.1", ntohs(address.sin_port), nullptr, in(2000));
  ::close(probe);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "connection refused");
  EXPECT_FALSE(refused.connected());
}

}  // namespace
}  // namespace tg::net
