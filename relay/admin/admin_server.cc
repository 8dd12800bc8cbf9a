#include "relay/admin/admin_server.h"

#include <arpa/inet.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "relay/admin/admin_token.h"
#include "relay/admin/inventory.h"
#include "relay/http/http.h"
#include "relay/log/log.h"
#include "relay/policy/actor_class.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr std::uint64_t kRequestTimeoutMs = 10'000;

std::string query_value(std::string_view target, std::string_view key) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      std::string value;
      const std::string_view raw = pair.substr(key.size() + 1);
      for (std::size_t i = 0; i < raw.size(); ++i) {
        // Percent-decoding for the characters a key fingerprint carries (+ / =).
        if (raw[i] == '%' && i + 2 < raw.size()) {
          const std::string hex(raw.substr(i + 1, 2));
          value.push_back(static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
          i += 2;
        } else {
          value.push_back(raw[i]);
        }
      }
      return value;
    }
    query.remove_prefix(std::min(amp + 1, query.size()));
  }
  return {};
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::uint64_t now_epoch_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

struct AdminServer::Connection {
  AdminServer* server = nullptr;
  std::uint64_t id = 0;
  int fd = -1;
  std::string in;  // kMaxRequestBytes, filled up to `used`
  std::size_t used = 0;
  std::string out;
  std::size_t sent = 0;
  io::Completion recv_completion{};
  io::Completion send_completion{};
  std::uint32_t in_flight = 0;
  bool responded = false;
  bool closed = false;
  std::uint64_t deadline_ms = 0;
};

struct AdminServer::Pending {
  enum class Kind { kList, kOne, kMetrics, kPage, kDelete, kExposures, kReload } kind = Kind::kList;
  std::uint64_t connection_id = 0;
  unsigned expected = 0;
  std::map<unsigned, std::string> tunnels;                   // worker → JSON objects
  std::map<unsigned, std::string> counters;                  // worker → counter lines
  std::map<unsigned, std::pair<bool, std::string>> reloads;  // worker → (ok, what or why)
  std::string name;
  bool found = false;
  std::uint64_t since_epoch_ms = 0;
};

AdminServer::AdminServer(Worker& worker, Shared& shared) : worker_(worker), shared_(shared) {}

AdminServer::~AdminServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (auto& connection : connections_) {
    if (connection->fd >= 0) ::close(connection->fd);
  }
}

Status AdminServer::open() {
  const Config& cfg = shared_.config;
  if (!cfg.admin_token_file.empty()) {
    // Read again (check_files read it before anything listened): the file may have changed
    // since, and the same rules must hold for what is used.
    auto token = read_admin_token(cfg.admin_token_file);
    if (!token) return token.error();
    token_ = std::move(*token);
  }
  sockaddr_storage storage{};
  const ListenAddress& address = cfg.admin_listen;
  const socklen_t length = to_sockaddr(address, storage);
  listen_fd_ = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      listen(listen_fd_, 128) != 0) {
    return make_error("cannot listen on " + address.text +
                      " for the admin API: " + std::strerror(errno));
  }
  accept_completion_ = {&AdminServer::on_accept, this};
  arm_accept();
  return Ok{};
}

void AdminServer::arm_accept() {
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io::Ring::set_completion(sqe, &accept_completion_);
  accept_armed_ = true;
}

void AdminServer::stop_listening() {
  if (listen_fd_ < 0) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel_fd(sqe, listen_fd_, IORING_ASYNC_CANCEL_ALL);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data(sqe, nullptr);
  ::shutdown(listen_fd_, SHUT_RDWR);
}

void AdminServer::on_accept(void* self_ptr, const io_uring_cqe& cqe) {
  auto& self = *static_cast<AdminServer*>(self_ptr);
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) self.accept_armed_ = false;
  if (cqe.res >= 0) {
    self.accept_backoff_.accepted();
    if (self.worker_.stopping() || self.connections_.size() >= 64) {
      ::close(cqe.res);  // a bounded API: operators do not need more at once
    } else {
      auto connection = std::make_unique<Connection>();
      connection->server = &self;
      connection->id = self.next_request_id_++;
      connection->fd = cqe.res;
      connection->recv_completion = {&AdminServer::on_recv, connection.get()};
      connection->send_completion = {&AdminServer::on_send, connection.get()};
      connection->deadline_ms = self.worker_.now_ms() + kRequestTimeoutMs;
      connection->in.resize(kMaxRequestBytes);
      self.arm_recv(*connection);
      self.connections_.push_back(std::move(connection));
    }
  }
  if (!self.accept_armed_ && !self.worker_.stopping()) {
    if (io::AcceptBackoff::out_of_descriptors(cqe.res)) {
      ++self.worker_.counters().accept_fd_exhausted;
      self.accept_backoff_.pause(self.worker_.now_ms());  // re-armed from tick(), no spin
    } else {
      self.arm_accept();
    }
  }
}

void AdminServer::arm_recv(Connection& connection) {
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_recv(sqe, connection.fd, connection.in.data() + connection.used,
                     connection.in.size() - connection.used, 0);
  io::Ring::set_completion(sqe, &connection.recv_completion);
  ++connection.in_flight;
}

void AdminServer::on_recv(void* connection_ptr, const io_uring_cqe& cqe) {
  auto& connection = *static_cast<Connection*>(connection_ptr);
  AdminServer& self = *connection.server;
  --connection.in_flight;
  if (connection.closed) return;
  if (cqe.res <= 0) {
    self.close(connection);
    return;
  }
  connection.used += static_cast<std::size_t>(cqe.res);
  self.handle(connection);
}

void AdminServer::handle(Connection& connection) {
  http::RequestHead head;
  const auto parsed =
      http::parse_request_head(std::string_view(connection.in.data(), connection.used), head);
  if (parsed.state == http::ParseState::kIncomplete) {
    if (connection.used == connection.in.size()) {
      respond(connection, 431, "text/plain", "request head too large\n");
    } else {
      arm_recv(connection);
    }
    return;
  }
  if (parsed.state == http::ParseState::kError) {
    respond(connection, parsed.error_status, "text/plain", std::string(parsed.error_reason) + "\n");
    return;
  }
  const std::string target(head.target);
  const std::string path = target.substr(0, target.find('?'));
  const bool get = head.method == "GET";
  if (get && path == "/healthz") {
    respond(connection, 200, "application/json", "{\"status\":\"ok\"}\n");
    return;
  }
  if (get && path == "/readyz") {
    const bool ready = shared_.workers_ready.load() == shared_.worker_count && !worker_.stopping();
    respond(connection, ready ? 200 : 503, "application/json",
            ready ? "{\"ready\":true}\n" : "{\"ready\":false}\n");
    return;
  }
  if (!authorized(connection,
                  http::find_header(head.headers.data(), head.header_count, "authorization"))) {
    respond(connection, 401, "application/json", "{\"error\":\"a bearer token is required\"}\n");
    return;
  }
  auto pending = std::make_unique<Pending>();
  pending->connection_id = connection.id;
  constexpr std::string_view kTunnels = "/v1/tunnels";
  std::string name_filter, owner_filter, class_filter;
  if (path == kTunnels && get) {
    pending->kind = Pending::Kind::kList;
    owner_filter = query_value(target, "owner");
    class_filter = query_value(target, "class");
    if (!class_filter.empty() && !policy::parse_actor_class(class_filter)) {
      respond(connection, 400, "application/json",
              "{\"error\":\"class: use human, workload or agent\"}\n");
      return;
    }
  } else if (path.size() > kTunnels.size() + 1 &&
             path.compare(0, kTunnels.size() + 1, "/v1/tunnels/") == 0) {
    name_filter = path.substr(kTunnels.size() + 1);
    if (get) {
      pending->kind = Pending::Kind::kOne;
    } else if (head.method == "DELETE") {
      pending->kind = Pending::Kind::kDelete;
    } else {
      respond(connection, 405, "text/plain", "use GET or DELETE\n");
      return;
    }
  } else if (get && path == "/v1/exposures") {
    pending->kind = Pending::Kind::kExposures;
    const std::string since_text = query_value(target, "since");
    const auto since = since_text.empty() ? std::optional<std::uint64_t>(0)
                                          : parse_since(since_text, now_epoch_ms());
    if (!since) {
      respond(connection, 400, "application/json",
              "{\"error\":\"since: use a duration (90s, 15m, 1h, 2d), epoch seconds, or "
              "YYYY-MM-DDTHH:MM:SSZ\"}\n");
      return;
    }
    pending->since_epoch_ms = *since;
  } else if (path == "/v1/reload") {
    if (head.method != "POST") {
      respond(connection, 405, "text/plain", "use POST\n");
      return;
    }
    pending->kind = Pending::Kind::kReload;
  } else if (get && path == "/metrics") {
    pending->kind = Pending::Kind::kMetrics;
  } else if (get && path == "/") {
    pending->kind = Pending::Kind::kPage;
  } else {
    respond(connection, get ? 404 : 405, "text/plain",
            get ? "not found\n" : "method not allowed\n");
    return;
  }
  pending->name = name_filter;
  const std::uint64_t request_id = next_request_id_++;
  Pending& ref = *pending;
  pending_.emplace(request_id, std::move(pending));
  if (ref.kind == Pending::Kind::kDelete) {
    ref.expected = 1;
    if (!worker_.ask_close_tunnel(request_id, name_filter)) {
      pending_.erase(request_id);
      respond(connection, 404, "application/json", "{\"error\":\"no such tunnel\"}\n");
    }
    return;
  }
  ref.expected = shared_.worker_count;
  if (ref.kind == Pending::Kind::kReload) {
    worker_.ask_reload(request_id);
    return;
  }
  worker_.ask_snapshots(request_id, name_filter, owner_filter,
                        ref.kind == Pending::Kind::kExposures, ref.since_epoch_ms, class_filter);
}

bool AdminServer::authorized(const Connection&, std::string_view header) const {
  if (token_.empty()) return true;  // loopback without a token file: the host is the boundary
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) return false;
  return constant_time_equal(header.substr(kBearer.size()), token_);
}

void AdminServer::on_snapshot_reply(std::unique_ptr<io::Message> reply) {
  auto it = pending_.find(reply->request_id);
  if (it == pending_.end()) return;
  Pending& pending = *it->second;
  pending.tunnels[reply->worker] = std::move(reply->tunnels_json);
  pending.counters[reply->worker] = std::move(reply->counters);
  if (pending.tunnels.size() == pending.expected) finish(pending);
}

void AdminServer::on_close_reply(std::unique_ptr<io::Message> reply) {
  auto it = pending_.find(reply->request_id);
  if (it == pending_.end()) return;
  it->second->found = reply->online;
  finish(*it->second);
}

void AdminServer::on_reload_reply(std::unique_ptr<io::Message> reply) {
  auto it = pending_.find(reply->request_id);
  if (it == pending_.end()) return;
  Pending& pending = *it->second;
  pending.reloads[reply->worker] = {reply->online, std::move(reply->bytes)};
  if (pending.reloads.size() == pending.expected) finish(pending);
}

void AdminServer::finish(Pending& pending) {
  const std::uint64_t connection_id = pending.connection_id;
  auto found = std::find_if(connections_.begin(), connections_.end(),
                            [&](const auto& c) { return c->id == connection_id; });
  std::unique_ptr<Pending> done;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second.get() == &pending) {
      done = std::move(it->second);
      pending_.erase(it);
      break;
    }
  }
  if (found == connections_.end() || (*found)->closed || done == nullptr) return;
  Connection& connection = **found;

  std::string joined;
  for (const auto& [worker, objects] : done->tunnels) {
    if (objects.empty()) continue;
    if (!joined.empty()) joined.push_back(',');
    joined += objects;
  }
  switch (done->kind) {
    case Pending::Kind::kList:
      respond(connection, 200, "application/json", "{\"tunnels\":[" + joined + "]}\n");
      return;
    case Pending::Kind::kOne:
      if (joined.empty()) {
        respond(connection, 404, "application/json", "{\"error\":\"no such tunnel\"}\n");
      } else {
        respond(connection, 200, "application/json", joined + "\n");
      }
      return;
    case Pending::Kind::kReload: {
      bool all_ok = true;
      std::string workers;
      std::string first_error;
      for (const auto& [worker, result] : done->reloads) {
        all_ok = all_ok && result.first;
        if (!result.first && first_error.empty()) first_error = result.second;
        if (!workers.empty()) workers.push_back(',');
        workers += log::JsonObject()
                       .add("worker", worker)
                       .add("reloaded", result.first)
                       .add(result.first ? "changes" : "error", result.second)
                       .finish();
      }
      log::JsonObject body;
      body.add("reloaded", all_ok);
      if (!all_ok) body.add("error", first_error);
      body.add_raw("workers", "[" + workers + "]");
      // A broken file is the caller's to fix: 400 with its error; the old state stays.
      respond(connection, all_ok ? 200 : 400, "application/json", body.finish() + "\n");
      return;
    }
    case Pending::Kind::kExposures: {
      // Every worker's events, merged in time order (ISO times sort as text).
      std::vector<std::pair<std::string, std::string>> events;
      simdjson::ondemand::parser parser;
      simdjson::padded_string json("[" + joined + "]");
      simdjson::ondemand::document doc;
      if (!parser.iterate(json).get(doc)) {
        for (auto element : doc.get_array()) {
          simdjson::ondemand::object object;
          if (element.get_object().get(object)) continue;
          std::string_view raw;
          if (object.raw_json().get(raw)) continue;
          std::string text(raw);
          object.reset();
          std::string_view time;
          if (object.find_field_unordered("time").get_string().get(time)) continue;
          events.emplace_back(std::string(time), std::move(text));
        }
      }
      std::stable_sort(events.begin(), events.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string body = "{\"exposures\":[";
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (i > 0) body.push_back(',');
        body += events[i].second;
      }
      body += "]}\n";
      respond(connection, 200, "application/json", body);
      return;
    }
    case Pending::Kind::kDelete:
      if (done->found) {
        respond(connection, 200, "application/json",
                log::JsonObject().add("closed", done->name).finish() + "\n");
      } else {
        respond(connection, 404, "application/json", "{\"error\":\"no such tunnel\"}\n");
      }
      return;
    case Pending::Kind::kMetrics:
      respond(connection, 200, "text/plain; version=0.0.4", render_metrics(done->counters));
      return;
    case Pending::Kind::kPage: {
      std::string rows;
      simdjson::ondemand::parser parser;
      simdjson::padded_string json("[" + joined + "]");
      simdjson::ondemand::document doc;
      if (!parser.iterate(json).get(doc)) {
        for (auto element : doc.get_array()) {
          simdjson::ondemand::object object;
          if (element.get_object().get(object)) continue;
          rows += "<tr>";
          for (const char* field :
               {"name", "url", "key", "user", "source", "opened_at", "requests", "bytes_in",
                "bytes_out", "open_connections", "last_request_at", "worker"}) {
            simdjson::ondemand::value value;
            std::string cell;
            if (!object.find_field_unordered(field).get(value)) {
              std::string_view text;
              if (!value.get_string().get(text)) {
                cell = std::string(text);
              } else {
                cell = std::string(simdjson::to_json_string(value).value_unsafe());
              }
            }
            rows += "<td>" + html_escape(cell) + "</td>";
          }
          rows += "</tr>\n";
        }
      }
      std::string load;
      for (const auto& [worker, lines] : done->counters) {
        const auto values = parse_counters(lines);
        auto get = [&](const char* name) {
          auto it = values.find(name);
          return std::to_string(it == values.end() ? 0 : it->second);
        };
        load += "<li>worker " + std::to_string(worker) + ": " + get("tunnelgate_tunnels") +
                " tunnels, " + get("tunnelgate_ssh_sessions") + " SSH sessions, " +
                get("tunnelgate_visitor_connections") + " visitor connections, " +
                get("tunnelgate_requests_total") + " requests answered</li>";
      }
      std::string page =
          "<!doctype html><html><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"refresh\" content=\"2\"><title>tunnelgate</title>"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #999;padding:.3em .6em;font-size:90%}"
          "th{background:#eee}</style></head><body><h1>tunnelgate: what is published</h1>"
          "<table id=\"tunnels\"><thead><tr><th>name</th><th>url</th><th>key</th><th>user</th>"
          "<th>source</th><th>opened</th><th>requests</th><th>bytes in</th><th>bytes out</th>"
          "<th>open connections</th><th>last request</th><th>worker</th></tr></thead><tbody>\n" +
          rows + "</tbody></table><h2>Workers</h2><ul id=\"workers\">" + load +
          "</ul></body></html>\n";
      respond(connection, 200, "text/html; charset=utf-8", page);
      return;
    }
  }
}

void AdminServer::respond(Connection& connection, int status, std::string_view content_type,
                          std::string_view body) {
  if (connection.responded) return;
  connection.responded = true;
  connection.out = "HTTP/1.1 " + std::to_string(status) + " " +
                   std::string(http::status_reason(status)) +
                   "\r\ncontent-type: " + std::string(content_type) +
                   "\r\ncontent-length: " + std::to_string(body.size()) +
                   "\r\ncache-control: no-store\r\nconnection: close\r\n\r\n";
  connection.out.append(body);
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_send(sqe, connection.fd, connection.out.data(), connection.out.size(),
                     MSG_NOSIGNAL);
  io::Ring::set_completion(sqe, &connection.send_completion);
  ++connection.in_flight;
}

void AdminServer::on_send(void* connection_ptr, const io_uring_cqe& cqe) {
  auto& connection = *static_cast<Connection*>(connection_ptr);
  AdminServer& self = *connection.server;
  --connection.in_flight;
  if (connection.closed) return;
  if (cqe.res > 0) connection.sent += static_cast<std::size_t>(cqe.res);
  if (cqe.res > 0 && connection.sent < connection.out.size()) {
    io_uring_sqe* sqe = self.worker_.ring().sqe();
    io_uring_prep_send(sqe, connection.fd, connection.out.data() + connection.sent,
                       connection.out.size() - connection.sent, MSG_NOSIGNAL);
    io::Ring::set_completion(sqe, &connection.send_completion);
    ++connection.in_flight;
    return;
  }
  self.close(connection);
}

void AdminServer::close(Connection& connection) {
  if (connection.closed) return;
  connection.closed = true;
  ::shutdown(connection.fd, SHUT_RDWR);
  if (connection.in_flight > 0) {
    io_uring_sqe* sqe = worker_.ring().sqe();
    io_uring_prep_cancel_fd(sqe, connection.fd, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
  }
}

void AdminServer::tick(std::uint64_t now_ms) {
  if (accept_backoff_.due(now_ms) && listen_fd_ >= 0 && !accept_armed_ && !worker_.stopping()) {
    arm_accept();
  }
  for (auto& connection : connections_) {
    if (!connection->closed && now_ms >= connection->deadline_ms) close(*connection);
  }
  // Free connections the kernel no longer writes into.
  std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) {
    if (!c->closed || c->in_flight > 0) return false;
    ::close(c->fd);
    return true;
  });
  if (worker_.stopping() && listen_fd_ >= 0 && !accept_armed_) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

}  // namespace tg
