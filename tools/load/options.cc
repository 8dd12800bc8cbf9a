#include "tools/load/options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace tg::load {

const char* const kUsage =
    "usage: tunnelgate-load [publisher options] [visitor options] [run options]\n"
    "\n"
    "Publisher (in-process libssh client; names PREFIX-0 … PREFIX-(N-1)):\n"
    "  --publish N               open N tunnels (tcpip-forward NAME:PORT)\n"
    "  --ssh HOST:PORT           the relay's SSH address (127.0.0.1:2222)\n"
    "  --key FILE                private key (authorized on the relay)\n"
    "  --user U                  SSH user (load)\n"
    "  --name-prefix P           (load)\n"
    "  --forwards-per-session K  tunnels per SSH connection (1)\n"
    "  --setup-concurrency C     SSH connections set up in parallel (8)\n"
    "  --forward-port PORT       port asked in tcpip-forward (80)\n"
    "  --forward-address A       address asked in tcpip-forward (default: the tunnel's name;\n"
    "                            for OpenSSH's sshd, 127.0.0.1 and --forward-port 0 or a port)\n"
    "  --backend KIND            json | echo | bytes:SIZE | sse:EVENTS:INTERVAL_MS[:spread] "
    "(json)\n"
    "  --backend-url http://HOST:PORT\n"
    "                            splice each forwarded channel to this service instead\n"
    "Visitors (TLS over io_uring; without --https the tunnels are held for --duration):\n"
    "  --https HOST:PORT         the relay's HTTPS address\n"
    "  --sni-domain D            visit NAME.D (SNI and Host)\n"
    "  --ca FILE                 CA certificate that signs the relay's certificate\n"
    "  --name NAME               visit NAME (repeatable) instead of the published names\n"
    "  --connections M           (16)\n"
    "  --threads T               visitor threads, one io_uring each (1)\n"
    "  --method M  --path P      (POST /mcp)\n"
    "  --body-size B             request body bytes (default: a small JSON-RPC tools/list)\n"
    "  --body TEXT               the request body, verbatim (e.g. a JSON-RPC tools/call)\n"
    "  --header 'Name: value'    extra request header (repeatable)\n"
    "  --rate R                  open loop: R requests/s in total on a fixed timetable,\n"
    "                            latency from each request's scheduled time (default: closed\n"
    "                            loop, each connection sends when its last response ends)\n"
    "  --keepalive               reuse connections (default)\n"
    "  --handshake-per-request   a new TCP connection and full TLS handshake per request\n"
    "  --requests-per-connection K\n"
    "                            stop each connection after K requests; the run ends when all\n"
    "                            are done (or the window ends)\n"
    "  --idle                    each connection sends one request, then stays open and silent\n"
    "                            (the progress line counts idle connections)\n"
    "  --source ADDR             bind connections to this local address (repeatable, used in\n"
    "                            turn: more than ~28,000 connections to one address:port\n"
    "                            need several, e.g. 127.0.0.2, 127.0.0.3)\n"
    "Run:\n"
    "  --duration S  --warmup S  measured seconds after warm-up seconds (10, 1)\n"
    "  --timeout S               a request unanswered this long is an error (10)\n"
    "  --progress                per-second line on stderr (default when it is a terminal)\n"
    "  --json                    the summary as one JSON object on stdout\n";

namespace {

Result<HostPort> parse_host_port(std::string_view option, std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(std::string(option) + ": expected HOST:PORT, got \"" + std::string(text) +
                      "\"");
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    return make_error(std::string(option) + ": not a port: \"" + port_text + "\"");
  }
  return HostPort{host, static_cast<std::uint16_t>(port)};
}

Result<std::uint64_t> parse_count(std::string_view option, std::string_view text, std::uint64_t min,
                                  std::uint64_t max) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || errno != 0 || copy.front() == '-' || value < min ||
      value > max) {
    return make_error(std::string(option) + ": expected a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max) + ", got \"" + copy +
                      "\"");
  }
  return static_cast<std::uint64_t>(value);
}

Result<double> parse_seconds(std::string_view option, std::string_view text, double min) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !std::isfinite(value) || value < min) {
    return make_error(std::string(option) + ": not a number >= " + std::to_string(min) + ": \"" +
                      copy + "\"");
  }
  return value;
}

/// "bytes:SIZE" accepts k, M and G suffixes (powers of 1024): bytes:1G is one GiB.
Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        scale = 1024;
        break;
      case 'm':
      case 'M':
        scale = 1024 * 1024;
        break;
      case 'g':
      case 'G':
        scale = 1024 * 1024 * 1024;
        break;
      default:
        break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  auto value = parse_count("--backend bytes:SIZE", text, 0, (std::uint64_t{1} << 50));
  if (!value) return value.error();
  return *value * scale;
}

Result<BackendSpec> parse_backend(std::string_view text) {
  BackendSpec spec;
  if (text == "json") return spec;
  if (text == "echo") {
    spec.kind = BackendSpec::Kind::kEcho;
    return spec;
  }
  if (text.substr(0, 6) == "bytes:") {
    auto size = parse_size(text.substr(6));
    if (!size) return size.error();
    spec.kind = BackendSpec::Kind::kBytes;
    spec.bytes = *size;
    return spec;
  }
  if (text.substr(0, 4) == "sse:") {
    std::string_view rest = text.substr(4);
    constexpr std::string_view kSpread = ":spread";
    if (rest.size() > kSpread.size() && rest.substr(rest.size() - kSpread.size()) == kSpread) {
      spec.sse_spread = true;
      rest.remove_suffix(kSpread.size());
    }
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return make_error("--backend: expected sse:EVENTS:INTERVAL_MS[:spread], got \"" +
                        std::string(text) + "\"");
    }
    auto events = parse_count("--backend sse:EVENTS", rest.substr(0, colon), 1, 100'000'000);
    if (!events) return events.error();
    auto interval =
        parse_count("--backend sse:…:INTERVAL_MS", rest.substr(colon + 1), 0, 3'600'000);
    if (!interval) return interval.error();
    spec.kind = BackendSpec::Kind::kSse;
    spec.sse_events = static_cast<std::uint32_t>(*events);
    spec.sse_interval_ms = static_cast<std::uint32_t>(*interval);
    return spec;
  }
  return make_error("--backend: expected json, echo, bytes:SIZE or sse:EVENTS:INTERVAL_MS, got \"" +
                    std::string(text) + "\"");
}

}  // namespace

std::string BackendSpec::describe() const {
  switch (kind) {
    case Kind::kJson:
      return "json";
    case Kind::kEcho:
      return "echo";
    case Kind::kBytes:
      return "bytes:" + std::to_string(bytes);
    case Kind::kSse:
      return "sse:" + std::to_string(sse_events) + ":" + std::to_string(sse_interval_ms) +
             (sse_spread ? ":spread" : "");
    case Kind::kUrl:
      return "http://" + url.text();
  }
  return "?";
}

Result<Options> parse_options(int argc, char** argv) {
  Options options;
  bool backend_given = false;
  bool keepalive_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return make_error("");
    // Flags without a value.
    if (arg == "--keepalive") {
      keepalive_given = true;
      continue;
    }
    if (arg == "--handshake-per-request") {
      options.handshake_per_request = true;
      continue;
    }
    if (arg == "--idle") {
      options.idle = true;
      continue;
    }
    if (arg == "--progress") {
      options.progress = true;
      continue;
    }
    if (arg == "--json") {
      options.json = true;
      continue;
    }
    constexpr std::string_view kWithValue[] = {"--publish",
                                               "--ssh",
                                               "--key",
                                               "--user",
                                               "--name-prefix",
                                               "--forwards-per-session",
                                               "--setup-concurrency",
                                               "--forward-port",
                                               "--forward-address",
                                               "--requests-per-connection",
                                               "--source",
                                               "--backend",
                                               "--backend-url",
                                               "--https",
                                               "--sni-domain",
                                               "--ca",
                                               "--name",
                                               "--connections",
                                               "--threads",
                                               "--method",
                                               "--path",
                                               "--body-size",
                                               "--body",
                                               "--header",
                                               "--rate",
                                               "--duration",
                                               "--warmup",
                                               "--timeout"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), arg) == std::end(kWithValue)) {
      return make_error("unknown option " + std::string(arg));
    }
    if (i + 1 >= argc) return make_error(std::string(arg) + ": missing value");
    const std::string_view value = argv[++i];
    auto count = [&](std::uint64_t min, std::uint64_t max) -> Result<std::uint32_t> {
      auto parsed = parse_count(arg, value, min, max);
      if (!parsed) return parsed.error();
      return static_cast<std::uint32_t>(*parsed);
    };
    if (arg == "--publish") {
      auto n = count(1, 1'000'000);
      if (!n) return n.error();
      options.publish = *n;
    } else if (arg == "--ssh") {
      auto hp = parse_host_port(arg, value);
      if (!hp) return hp.error();
      options.ssh = *hp;
    } else if (arg == "--key") {
      options.key_path = value;
    } else if (arg == "--user") {
      options.user = value;
    } else if (arg == "--name-prefix") {
      options.name_prefix = value;
    } else if (arg == "--forwards-per-session") {
      auto n = count(1, 100'000);
      if (!n) return n.error();
      options.forwards_per_session = *n;
    } else if (arg == "--setup-concurrency") {
      auto n = count(1, 1024);
      if (!n) return n.error();
      options.setup_concurrency = *n;
    } else if (arg == "--forward-port") {
      auto n = count(0, 65535);
      if (!n) return n.error();
      options.forward_port = *n;
    } else if (arg == "--forward-address") {
      options.forward_address = value;
    } else if (arg == "--requests-per-connection") {
      auto n = count(1, 1'000'000'000);
      if (!n) return n.error();
      options.requests_per_connection = *n;
    } else if (arg == "--source") {
      options.sources.emplace_back(value);
    } else if (arg == "--backend") {
      auto spec = parse_backend(value);
      if (!spec) return spec.error();
      options.backend = *spec;
      backend_given = true;
    } else if (arg == "--backend-url") {
      constexpr std::string_view kScheme = "http://";
      std::string_view rest = value;
      if (rest.substr(0, kScheme.size()) != kScheme) {
        return make_error("--backend-url: expected http://HOST:PORT, got \"" + std::string(value) +
                          "\"");
      }
      rest.remove_prefix(kScheme.size());
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
      auto hp = parse_host_port(arg, rest);
      if (!hp) return hp.error();
      options.backend.kind = BackendSpec::Kind::kUrl;
      options.backend.url = *hp;
    } else if (arg == "--https") {
      auto hp = parse_host_port(arg, value);
      if (!hp) return hp.error();
      options.https = *hp;
      options.visit = true;
    } else if (arg == "--sni-domain") {
      options.sni_domain = value;
    } else if (arg == "--ca") {
      options.ca_path = value;
    } else if (arg == "--name") {
      options.names.emplace_back(value);
    } else if (arg == "--connections") {
      auto n = count(1, 1'000'000);
      if (!n) return n.error();
      options.connections = *n;
    } else if (arg == "--threads") {
      auto n = count(1, 256);
      if (!n) return n.error();
      options.threads = *n;
    } else if (arg == "--method") {
      options.method = value;
    } else if (arg == "--path") {
      options.path = value;
    } else if (arg == "--body-size") {
      auto n = parse_count(arg, value, 0, std::uint64_t{1} << 40);
      if (!n) return n.error();
      options.body_size = *n;
      options.body_size_given = true;
    } else if (arg == "--body") {
      options.body = value;
      options.body_given = true;
    } else if (arg == "--header") {
      if (value.find(':') == std::string_view::npos || value.find('\r') != std::string_view::npos ||
          value.find('\n') != std::string_view::npos) {
        return make_error("--header: expected 'Name: value', got \"" + std::string(value) + "\"");
      }
      options.headers.emplace_back(value);
    } else if (arg == "--rate") {
      auto r = parse_seconds(arg, value, 0);
      if (!r || *r <= 0) {
        return make_error("--rate: not a positive number: \"" + std::string(value) + "\"");
      }
      options.rate = *r;
    } else if (arg == "--duration") {
      auto s = parse_seconds(arg, value, 0.001);
      if (!s) return s.error();
      options.duration_s = *s;
    } else if (arg == "--warmup") {
      auto s = parse_seconds(arg, value, 0);
      if (!s) return s.error();
      options.warmup_s = *s;
    } else if (arg == "--timeout") {
      auto s = parse_seconds(arg, value, 0.001);
      if (!s) return s.error();
      options.timeout_s = *s;
    }
  }

  if (keepalive_given && options.handshake_per_request) {
    return make_error("--keepalive and --handshake-per-request exclude each other");
  }
  if (options.idle &&
      (options.handshake_per_request || options.rate > 0 || options.requests_per_connection > 0)) {
    return make_error(
        "--idle excludes --handshake-per-request, --rate and --requests-per-connection");
  }
  if (options.body_given && options.body_size_given) {
    return make_error("--body and --body-size exclude each other");
  }
  if (backend_given && options.backend.kind == BackendSpec::Kind::kUrl) {
    return make_error("--backend and --backend-url exclude each other");
  }
  if (options.publish == 0 && !options.visit) {
    return make_error("nothing to do: give --publish N, --https HOST:PORT, or both");
  }
  if (options.publish > 0 && options.key_path.empty()) {
    return make_error("--publish needs --key FILE (a private key the relay authorizes)");
  }
  if (options.publish == 0 && options.backend.kind == BackendSpec::Kind::kUrl) {
    return make_error(
        "--backend-url is where the in-process publisher (--publish N) forwards; to drive "
        "tunnels someone else published, omit --publish and give --name NAME");
  }
  if (options.visit) {
    if (options.sni_domain.empty()) return make_error("--https needs --sni-domain D");
    if (options.ca_path.empty()) return make_error("--https needs --ca FILE");
    if (options.publish == 0 && options.names.empty()) {
      return make_error("--https without --publish needs --name NAME (the tunnel to visit)");
    }
    if (options.threads > options.connections) options.threads = options.connections;
  }
  if (options.method.empty() || options.path.empty() || options.path.front() != '/') {
    return make_error("--method and --path: expected e.g. POST /mcp");
  }
  return options;
}

std::vector<std::string> visit_names(const Options& options) {
  if (!options.names.empty()) return options.names;
  std::vector<std::string> names;
  for (std::uint32_t i = 0; i < options.publish; ++i) {
    names.push_back(options.name_prefix + "-" + std::to_string(i));
  }
  return names;
}

std::string request_body(const Options& options) {
  if (options.body_given) return options.body;
  const std::string small = R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})";
  if (!options.body_size_given) {
    return options.method == "GET" || options.method == "HEAD" ? std::string() : small;
  }
  const std::size_t size = options.body_size;
  const std::string head = R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":")";
  const std::string tail = R"("}})";
  if (size < head.size() + tail.size()) return std::string(size, ' ');
  std::string body = head;
  body.append(size - head.size() - tail.size(), 'x');
  body += tail;
  return body;
}

}  // namespace tg::load
