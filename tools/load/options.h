/// The load generator's command line: what to publish, what to visit, how hard, how long.
///
/// Parsed once at start-up into plain values; every error is a sentence for the person who
/// typed the command (`tunnelgate-load: --rate: not a positive number: "x"`), and nothing
/// is started until the whole line is valid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relay/base/result.h"

namespace tg::load {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

/// What answers on the publisher's side of each forwarded channel.
struct BackendSpec {
  enum class Kind {
    kJson,   // a fixed JSON-RPC result
    kEcho,   // the request body back
    kBytes,  // a body of `bytes` bytes
    kSse,    // text/event-stream: `sse_events` events, one every `sse_interval_ms`
    kUrl,    // every channel is spliced to a TCP connection to `url` (an external service)
  };
  Kind kind = Kind::kJson;
  std::uint64_t bytes = 0;
  std::uint32_t sse_events = 0;
  std::uint32_t sse_interval_ms = 0;
  // `sse:…:spread`: each stream offsets its events by its own phase within the interval, as
  // independent clients would; without it every stream ticks from its own start, so streams
  // opened together send their events together (a burst of one event per stream).
  bool sse_spread = false;
  HostPort url;
  std::string describe() const;
};

struct Options {
  // Publisher side: N tunnels over libssh, each answered by the backend.
  std::uint32_t publish = 0;
  HostPort ssh{"127.0.0.1", 2222};
  std::string key_path;
  std::string user = "load";
  std::string name_prefix = "load";
  std::uint32_t forwards_per_session = 1;
  std::uint32_t setup_concurrency = 8;
  std::uint32_t forward_port = 80;
  // The address asked in tcpip-forward; empty: the tunnel's name (what tunnelgate reads).
  // OpenSSH's sshd binds it instead: 127.0.0.1 with port 0 gets a port of its choosing.
  std::string forward_address;
  BackendSpec backend;

  // Visitor side: M TLS connections to the relay's HTTPS address.
  bool visit = false;  // --https given
  HostPort https;
  std::string sni_domain;
  std::string ca_path;
  std::vector<std::string> names;  // --name; otherwise the published names
  std::uint32_t connections = 16;
  std::uint32_t threads = 1;
  std::string method = "POST";
  std::string path = "/mcp";
  bool body_size_given = false;
  std::uint64_t body_size = 0;
  bool body_given = false;
  std::string body;  // --body: the request body, verbatim
  std::vector<std::string> headers;
  double rate = 0;  // requests/s over all connections; 0 = closed loop
  bool handshake_per_request = false;
  std::uint32_t requests_per_connection = 0;  // 0 = until the window ends
  bool idle = false;  // one request per connection, then hold it open without sending
  std::vector<std::string> sources;  // local addresses connections bind to, in turn

  // The run.
  double duration_s = 10;
  double warmup_s = 1;
  double timeout_s = 10;
  bool progress = false;  // forced on; otherwise on when stderr is a terminal
  bool json = false;
};

/// Parses argv; `Error` carries the message to print (usage problems name the option).
Result<Options> parse_options(int argc, char** argv);

/// The names visitors cycle over: --name values, or PREFIX-0 … PREFIX-(N-1).
std::vector<std::string> visit_names(const Options& options);

/// The request body: --body-size bytes of padded JSON-RPC, or a small tools/list call.
std::string request_body(const Options& options);

extern const char* const kUsage;

}  // namespace tg::load
