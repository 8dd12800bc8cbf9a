#include "relay/ctl/ctl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "relay/admin/admin_token.h"
#include "relay/config/config.h"
#include "relay/http/http.h"

namespace tg {
namespace {

constexpr const char* kUsage =
    "usage: tunnelgate ctl [--config FILE | --admin HOST:PORT [--token-file FILE]] COMMAND\n"
    "  tunnels [--owner SHA256:...] [--class C] [--json]   what is published now\n"
    "  show NAME                             one tunnel, as JSON\n"
    "  kill NAME                             unpublish it (its publisher is told; a session\n"
    "                                        left with nothing published is closed)\n"
    "  exposures [--since 1h]                names opened, closed and refused (JSON)\n"
    "  reload                                reload certificates and authorized keys\n"
    "  top [ROUNDS]                          per-worker connections, requests/s, bytes/s\n"
    "  health                                liveness and readiness\n"
    "  metrics                               the Prometheus text\n";

struct Response {
  int status = 0;
  std::string body;
};

Result<Response> call(const ListenAddress& admin, const std::string& token,
                      const std::string& method, const std::string& target) {
  sockaddr_storage storage{};
  // A wildcard listen address is reached on loopback.
  const socklen_t length = to_sockaddr(admin, storage, true);
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return make_error("cannot reach the admin API at " + admin.text + ": " + why);
  }
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: " + admin.text + "\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return make_error("cannot send to the admin API");
  }
  std::string reply;
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    reply.append(chunk, static_cast<std::size_t>(n));
    if (reply.size() > (64u << 20)) break;
  }
  ::close(fd);
  http::ResponseHead head;
  const auto parsed = http::parse_response_head(reply, method, head);
  if (parsed.state != http::ParseState::kComplete) {
    return make_error("the admin API at " + admin.text + " sent no valid HTTP response");
  }
  return Response{head.status, reply.substr(parsed.consumed)};
}

std::string field(simdjson::ondemand::object& object, const char* name) {
  simdjson::ondemand::value value;
  if (object.find_field_unordered(name).get(value)) return "-";
  std::string_view text;
  if (!value.get_string().get(text)) return std::string(text);
  return std::string(simdjson::to_json_string(value).value_unsafe());
}

int print_tunnels(const std::string& body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array tunnels;
  if (parser.iterate(json).get(doc) || doc["tunnels"].get_array().get(tunnels)) {
    std::fprintf(stderr, "tunnelgate ctl: the admin API sent an unexpected answer\n");
    return 1;
  }
  std::printf("%-24s %-46s %-24s %9s %11s %11s %5s %s\n", "NAME", "KEY", "SOURCE", "REQUESTS",
              "BYTES IN", "BYTES OUT", "CONNS", "OPENED");
  int count = 0;
  for (auto element : tunnels) {
    simdjson::ondemand::object object;
    if (element.get_object().get(object)) continue;
    const std::string name = field(object, "name"), key = field(object, "key"),
                      source = field(object, "source"), requests = field(object, "requests"),
                      in = field(object, "bytes_in"), out = field(object, "bytes_out"),
                      conns = field(object, "open_connections"),
                      opened = field(object, "opened_at");
    std::printf("%-24s %-46s %-24s %9s %11s %11s %5s %s\n", name.c_str(), key.c_str(),
                source.c_str(), requests.c_str(), in.c_str(), out.c_str(), conns.c_str(),
                opened.c_str());
    ++count;
  }
  std::printf("%d tunnel%s\n", count, count == 1 ? "" : "s");
  return 0;
}

// `top`: scrapes /metrics once a second and prints per-worker rates, like top(1) for the
// relay. Stops after `rounds` screens (0: until interrupted).
int run_top(const ListenAddress& admin, const std::string& token, unsigned rounds) {
  std::map<std::string, std::uint64_t> previous;
  auto previous_time = std::chrono::steady_clock::now();
  for (unsigned round = 0; rounds == 0 || round <= rounds; ++round) {
    auto response = call(admin, token, "GET", "/metrics");
    if (!response || response->status != 200) {
      std::fprintf(stderr, "tunnelgate ctl: cannot read /metrics%s\n",
                   response ? "" : (": " + response.error().message).c_str());
      return 1;
    }
    std::map<std::string, std::uint64_t> now;
    std::istringstream lines(response->body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      now[line.substr(0, space)] = std::strtoull(line.c_str() + space + 1, nullptr, 10);
    }
    const auto time = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(time - previous_time).count();
    if (round > 0) {
      if (rounds == 0) std::printf("\033[H\033[2J");  // a refreshing screen on a terminal
      std::printf("%-7s %8s %9s %12s %10s %12s %12s\n", "WORKER", "TUNNELS", "SESSIONS",
                  "CONNECTIONS", "REQ/S", "IN B/S", "OUT B/S");
      for (unsigned worker = 0;; ++worker) {
        const std::string label = "{worker=\"" + std::to_string(worker) + "\"}";
        if (now.find("tunnelgate_tunnels" + label) == now.end()) break;
        auto rate = [&](const char* name) {
          const std::string key = name + label;
          const double delta = static_cast<double>(now[key] - previous[key]);
          return seconds > 0 ? delta / seconds : 0.0;
        };
        std::printf("%-7u %8llu %9llu %12llu %10.1f %12.0f %12.0f\n", worker,
                    static_cast<unsigned long long>(now["tunnelgate_tunnels" + label]),
                    static_cast<unsigned long long>(now["tunnelgate_ssh_sessions" + label]),
                    static_cast<unsigned long long>(now["tunnelgate_visitor_connections" + label]),
                    rate("tunnelgate_requests_total"), rate("tunnelgate_request_bytes_total"),
                    rate("tunnelgate_response_bytes_total"));
      }
      std::fflush(stdout);
    }
    previous = std::move(now);
    previous_time = time;
    if (rounds == 0 || round < rounds) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return 0;
}

std::string percent_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

int run_ctl(int argc, char** argv) {
  std::string config_path, admin_text = "127.0.0.1:9090", token_file, owner, actor_class, since;
  bool json = false;
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--config") {
      config_path = value();
    } else if (arg == "--admin") {
      admin_text = value();
    } else if (arg == "--token-file") {
      token_file = value();
    } else if (arg == "--owner") {
      owner = value();
    } else if (arg == "--class") {
      actor_class = value();
    } else if (arg == "--since") {
      since = value();
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      words.push_back(arg);
    }
  }
  if (words.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  ListenAddress admin;
  if (!config_path.empty()) {
    auto config = load_config(config_path);
    if (!config) {
      std::fprintf(stderr, "%s\n", config.error().message.c_str());
      return 2;
    }
    if (!config->admin_enabled) {
      std::fprintf(stderr, "tunnelgate ctl: %s has no [admin] table\n", config_path.c_str());
      return 2;
    }
    admin = config->admin_listen;
    if (token_file.empty()) token_file = config->admin_token_file;
  } else {
    auto parsed = parse_listen_address(admin_text);
    if (!parsed) {
      std::fprintf(stderr, "tunnelgate ctl: --admin %s: %s\n", admin_text.c_str(),
                   parsed.error().message.c_str());
      return 2;
    }
    admin = *parsed;
  }
  std::string token;
  if (!token_file.empty()) {
    auto read = read_admin_token(token_file);
    if (!read) {
      std::fprintf(stderr, "tunnelgate ctl: %s\n", read.error().message.c_str());
      return 2;
    }
    token = std::move(*read);
  }

  const std::string& command = words[0];
  std::string method = "GET", target;
  if (command == "tunnels") {
    std::string query;
    if (!owner.empty()) query += "&owner=" + percent_encode(owner);
    if (!actor_class.empty()) query += "&class=" + percent_encode(actor_class);
    if (!query.empty()) query[0] = '?';
    target = "/v1/tunnels" + query;
  } else if ((command == "show" || command == "kill" || command == "close") && words.size() == 2) {
    target = "/v1/tunnels/" + percent_encode(words[1]);
    if (command != "show") method = "DELETE";
  } else if (command == "exposures") {
    target = "/v1/exposures" + (since.empty() ? "" : "?since=" + percent_encode(since));
  } else if (command == "top") {
    const unsigned rounds =
        words.size() > 1 ? static_cast<unsigned>(std::strtoul(words[1].c_str(), nullptr, 10)) : 0;
    return run_top(admin, token, rounds);
  } else if (command == "reload") {
    method = "POST";
    target = "/v1/reload";
  } else if (command == "health") {
    target = "/readyz";
  } else if (command == "metrics") {
    target = "/metrics";
  } else {
    std::fprintf(stderr, "tunnelgate ctl: unknown command\n%s", kUsage);
    return 2;
  }
  auto response = call(admin, token, method, target);
  if (!response) {
    std::fprintf(stderr, "tunnelgate ctl: %s\n", response.error().message.c_str());
    return 1;
  }
  if (response->status == 401) {
    std::fprintf(stderr, "tunnelgate ctl: the admin API wants a token (--token-file)\n");
    return 1;
  }
  if (response->status == 404) {
    std::fprintf(stderr, "tunnelgate ctl: no tunnel named \"%s\"\n",
                 words.size() > 1 ? words[1].c_str() : "");
    return 1;
  }
  if (command == "tunnels" && !json && response->status == 200) {
    return print_tunnels(response->body);
  }
  std::fwrite(response->body.data(), 1, response->body.size(), stdout);
  return response->status >= 200 && response->status < 300 ? 0 : 1;
}

}  // namespace tg
