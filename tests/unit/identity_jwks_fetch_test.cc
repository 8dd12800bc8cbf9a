// fetch_https: URL parsing, the failures that need no server, and a local HTTPS server (Python's
// http.server wrapped in ssl, on a free loopback port) with a CA and certificates the openssl
// CLI makes in a temporary folder.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "relay/identity/jwks_fetch.h"
#include "relay/identity/jwks_source.h"
#include "relay/identity/jws_signer.h"

namespace tg::identity {
namespace {

std::string fetch_error(std::string_view url, const FetchOptions& options = {}) {
  auto body = fetch_https(url, options);
  return body.ok() ? "(fetched " + std::to_string(body->size()) + " bytes)" : body.error().message;
}

std::string url_error(std::string_view url) {
  auto parsed = parse_https_url(url);
  return parsed.ok() ? "(no error)" : parsed.error().message;
}

TEST(HttpsUrl, ReadsHostPortAndTarget) {
  auto url = parse_https_url("https://IdP.Example.com/tenant/keys?v=1");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "idp.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->host_header, "idp.example.com");
  EXPECT_EQ(url->target, "/tenant/keys?v=1");

  url = parse_https_url("https://localhost:8443");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->host_header, "localhost:8443");
  EXPECT_EQ(url->target, "/");

  url = parse_https_url("https://[::1]:443?x");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->host_header, "[::1]");
  EXPECT_EQ(url->target, "/?x");
}

TEST(HttpsUrl, RefusesWhatItDoesNotFetch) {
  EXPECT_EQ(url_error("http://idp/keys"), "http://idp/keys: invalid URL: not an https:// URL");
  EXPECT_EQ(url_error("ftp://idp"), "ftp://idp: invalid URL: not an https:// URL");
  EXPECT_EQ(url_error("https://user:pw@idp/keys"),
            "https://user:pw@idp/keys: invalid URL: user info (…@) is not allowed");
  EXPECT_EQ(url_error("https://idp/keys#frag"),
            "https://idp/keys#frag: invalid URL: a fragment (#) is not allowed");
  EXPECT_EQ(url_error("https://idp/a b"),
            "https://idp/a?b: invalid URL: spaces, control or non-ASCII bytes");
  EXPECT_EQ(url_error("https:///keys"), "https:///keys: invalid URL: no host");
  EXPECT_EQ(url_error("https://idp:/keys"), "https://idp:/keys: invalid URL: bad port");
  EXPECT_EQ(url_error("https://idp:0/"), "https://idp:0/: invalid URL: bad port");
  EXPECT_EQ(url_error("https://idp:65536/"), "https://idp:65536/: invalid URL: bad port");
  EXPECT_EQ(url_error("https://idp:44x/"), "https://idp:44x/: invalid URL: bad port");
  EXPECT_EQ(url_error("https://id%70/"), "https://id%70/: invalid URL: bad host");
  EXPECT_EQ(url_error("https://[::1/"), "https://[::1/: invalid URL: bad host");
  EXPECT_EQ(url_error("https://[nope]/"), "https://[nope]/: invalid URL: bad host");
  EXPECT_EQ(url_error("https://[::1]x/"), "https://[::1]x/: invalid URL: bad host");
  EXPECT_EQ(url_error("https://idp/" + std::string(3000, 'a')).substr(0, 20),
            "https://idp/aaaaaaaa");
  EXPECT_NE(url_error("https://idp/" + std::string(3000, 'a')).find("...: invalid URL: longer"),
            std::string::npos);
  EXPECT_EQ(fetch_error("http://idp/keys"), "http://idp/keys: invalid URL: not an https:// URL");
}

TEST(HttpsUrl, DescribesSizes) {
  EXPECT_EQ(describe_size(1 << 20), "1 MiB");
  EXPECT_EQ(describe_size(64 << 10), "64 KiB");
  EXPECT_EQ(describe_size(1000), "1000 bytes");
}

// A loopback TCP port with a listener that never accepts (the kernel completes the connect,
// nobody answers); closing it first gives a port that refuses.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd, 8) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port = ntohs(address.sin_port);
  }
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
  void close() {
    ::close(fd);
    fd = -1;
  }
};

TEST(FetchHttps, ConnectionRefused) {
  Listener listener;
  listener.close();
  const std::string url = "https://127.0.0.1:" + std::to_string(listener.port) + "/keys";
  EXPECT_EQ(fetch_error(url), url + ": connection refused");
}

TEST(HttpsRequest, RefusesHeadersThatWouldSplitTheRequestBeforeConnecting) {
  Listener listener;
  listener.close();  // were anything sent, the error would be "connection refused"
  const std::string url = "https://127.0.0.1:" + std::to_string(listener.port) + "/token";
  HttpsRequest request;
  request.method = "POST";
  request.content_type = "application/x-www-form-urlencoded";
  request.headers.emplace_back("Authorization", "Basic x\r\nX-Injected: 1");
  EXPECT_EQ(https_request(url, request).error().message, url + ": invalid request header");
  request.headers = {{"Bad Name", "v"}};
  EXPECT_EQ(https_request(url, request).error().message, url + ": invalid request header");
  request.headers.clear();
  request.method = "DELETE";
  EXPECT_EQ(https_request(url, request).error().message, url + ": method DELETE not supported");
  request.method = "POST";
  EXPECT_EQ(https_request(url, request).error().message, url + ": connection refused");
}

TEST(FetchHttps, ServerThatNeverAnswersTimesOut) {
  Listener listener;
  const std::string url = "https://127.0.0.1:" + std::to_string(listener.port) + "/keys";
  FetchOptions options;
  options.timeout_ms = 200;
  EXPECT_EQ(fetch_error(url, options), url + ": timed out");
}

TEST(FetchHttps, UnreadableCaFile) {
  FetchOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_TRUE(fetch_error("https://127.0.0.1:1/keys", options)
                  .starts_with("https://127.0.0.1:1/keys: /nonexistent/ca.pem: cannot load CA "
                               "certificates: "))
      << fetch_error("https://127.0.0.1:1/keys", options);
}

// The local HTTPS server. Paths: /jwks.json (Content-Length), /chunked, /close (delimited by
// the end of the connection), /interim (a 103 first), /big and /big-chunked (2 MiB),
// /redirect (302), /slow (a head, then nothing), anything else 404.
constexpr const char* kServer = R"PY(
import http.server, ssl, sys, time
cert, key, jwks_path = sys.argv[1:4]
jwks = open(jwks_path, 'rb').read()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *args): pass
    def head(self, status, headers):
        self.send_response_only(status)
        for name, value in headers: self.send_header(name, value)
        self.end_headers()
    def chunked(self, body, size):
        self.head(200, [('Content-Type', 'application/json'), ('Transfer-Encoding', 'chunked')])
        for i in range(0, len(body), size):
            part = body[i:i + size]
            self.wfile.write(b'%x;ext=1\r\n%s\r\n' % (len(part), part))
        self.wfile.write(b'0\r\nX-Trailer: 1\r\n\r\n')
    def do_GET(self):
        self.close_connection = True
        if self.headers.get('Accept') != 'application/json' or self.headers.get('Connection') != 'close':
            self.head(400, [('Content-Length', '0')])
        elif self.path == '/jwks.json':
            self.head(200, [('Content-Type', 'application/json'), ('Content-Length', str(len(jwks)))])
            self.wfile.write(jwks)
        elif self.path == '/chunked':
            self.chunked(jwks, 7)
        elif self.path == '/close':
            self.head(200, [('Content-Type', 'application/json'), ('Connection', 'close')])
            self.wfile.write(jwks)
        elif self.path == '/interim':
            self.head(103, [('Link', '</x>; rel=preload')])
            self.head(200, [('Content-Length', str(len(jwks)))])
            self.wfile.write(jwks)
        elif self.path == '/big':
            self.head(200, [('Content-Length', str(2 << 20))])
            self.wfile.write(b' ' * (2 << 20))
        elif self.path == '/big-close':
            self.head(200, [('Connection', 'close')])
            self.wfile.write(b' ' * (2 << 20))
        elif self.path == '/big-chunked':
            self.chunked(b' ' * (2 << 20), 65536)
        elif self.path == '/redirect':
            self.head(302, [('Location', '/jwks.json'), ('Content-Length', '0')])
        elif self.path == '/slow':
            self.head(200, [('Content-Length', '100')])
            self.wfile.flush()
            time.sleep(5)
        else:
            self.head(404, [('Content-Length', '0')])
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, address): pass
server = Server(('127.0.0.1', 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

class LocalHttps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/tg-jwks-fetch-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = new std::string(pattern);
    auto key = SigningKey::generate(JwsAlgorithm::kES256, "k1");
    ASSERT_TRUE(key.ok());
    jwks_ = new std::string("{\"keys\":[" + key->public_jwk() + "]}");
    std::ofstream(*dir_ + "/jwks.json") << *jwks_;
    std::ofstream(*dir_ + "/server.ext")
        << "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
           "extendedKeyUsage=serverAuth\n";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    const std::string ca_ext =
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign ";
    const std::string script =
        "cd " + *dir_ + " && exec 2>openssl.log && " + "openssl req -x509" + ec + ca_ext +
        "-keyout ca.key -out ca.pem -days 2 -subj /CN=ca &&" + "openssl req -x509" + ec + ca_ext +
        "-keyout other.key -out other.pem -days 2 -subj /CN=other &&" + "openssl req" + ec +
        "-keyout server.key -out server.csr -subj /CN=localhost && " +
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile server.ext -out server.pem";
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed; see " << *dir_;

    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    server_ = ::fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      const std::string cert = *dir_ + "/server.pem", key_path = *dir_ + "/server.key",
                        jwks = *dir_ + "/jwks.json";
      ::execlp("python3", "python3", "-c", kServer, cert.c_str(), key_path.c_str(), jwks.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    char line[16] = {};
    std::FILE* from_server = ::fdopen(out[0], "r");
    const bool read = std::fgets(line, sizeof line, from_server) != nullptr;
    std::fclose(from_server);
    ASSERT_TRUE(read) << "the python3 HTTPS server did not start";
    port_ = std::atoi(line);
    ASSERT_GT(port_, 0);
  }

  static void TearDownTestSuite() {
    if (server_ > 0) {
      ::kill(server_, SIGTERM);
      ::waitpid(server_, nullptr, 0);
    }
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete jwks_;
    dir_ = jwks_ = nullptr;
  }

  static FetchOptions trusting(const char* ca = "ca.pem") {
    FetchOptions options;
    options.ca_file = *dir_ + "/" + ca;
    options.timeout_ms = 3000;
    return options;
  }
  static std::string url(std::string_view path, std::string_view host = "localhost") {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + std::string(path);
  }

  static std::string* dir_;
  static std::string* jwks_;
  static pid_t server_;
  static int port_;
};

std::string* LocalHttps::dir_ = nullptr;
std::string* LocalHttps::jwks_ = nullptr;
pid_t LocalHttps::server_ = -1;
int LocalHttps::port_ = 0;

TEST_F(LocalHttps, FetchesTheJwksWhateverTheFraming) {
  for (const char* path : {"/jwks.json", "/chunked", "/close", "/interim"}) {
    auto body = fetch_https(url(path), trusting());
    ASSERT_TRUE(body.ok()) << path << ": " << body.error().message;
    EXPECT_EQ(*body, *jwks_) << path;
  }
}

TEST_F(LocalHttps, RefusesAnUntrustedCertificate) {
  EXPECT_EQ(fetch_error(url("/jwks.json"), trusting("other.pem")),
            url("/jwks.json") + ": certificate not trusted");
}

TEST_F(LocalHttps, RefusesACertificateForAnotherName) {
  // The certificate names localhost only.
  EXPECT_EQ(fetch_error(url("/jwks.json", "127.0.0.1"), trusting()),
            url("/jwks.json", "127.0.0.1") + ": certificate not valid for 127.0.0.1");
}

TEST_F(LocalHttps, AcceptsOnly200) {
  EXPECT_EQ(fetch_error(url("/missing"), trusting()), url("/missing") + ": HTTP 404");
  EXPECT_EQ(fetch_error(url("/redirect"), trusting()),
            url("/redirect") + ": HTTP 302 (redirects are not followed)");
}

TEST_F(LocalHttps, RefusesAnOversizedBody) {
  for (const char* path : {"/big", "/big-close", "/big-chunked"}) {
    EXPECT_EQ(fetch_error(url(path), trusting()), url(path) + ": larger than 1 MiB");
  }
  FetchOptions small = trusting();
  small.max_bytes = 64;
  EXPECT_EQ(fetch_error(url("/chunked"), small), url("/chunked") + ": larger than 64 bytes");
}

TEST_F(LocalHttps, ABodyThatStopsComingTimesOut) {
  FetchOptions options = trusting();
  options.timeout_ms = 300;
  EXPECT_EQ(fetch_error(url("/slow"), options), url("/slow") + ": timed out");
}

TEST_F(LocalHttps, JwksSourceFetchesOnceAndRefreshes) {
  policy::Identity identity;
  policy::JwtIssuer issuer;
  issuer.issuer = "https://idp.test";
  issuer.jwks = url("/jwks.json");
  issuer.jwks_is_url = true;
  issuer.jwks_ca = *dir_ + "/ca.pem";
  issuer.jwks_refresh_seconds = 60;
  issuer.line = 3;
  identity.jwt.push_back(issuer);
  JwksSource source;
  auto verifier = JwtVerifier::create(identity, source.loader(1000));
  ASSERT_TRUE(verifier.ok()) << verifier.error().message;
  EXPECT_FALSE(source.refresh_due(1059));
  EXPECT_TRUE(source.refresh_due(1060));
  JwksRefresh report = source.refresh(1060);
  EXPECT_TRUE(report.changed.empty());
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(source.next_refresh_at(), 1120);

  identity.jwt[0].jwks = url("/missing");
  auto failed = JwtVerifier::create(identity, source.loader(1100));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message,
            "issuer \"https://idp.test\" (line 3): " + url("/missing") + ": HTTP 404");
}

}  // namespace
}  // namespace tg::identity
