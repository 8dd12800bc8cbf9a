// tg_etcd_probe: a test-only driver of relay/cluster's etcd client, for
// tests/integration/test_etcd_cluster.py. Two modes:
//
//   tg_etcd_probe --endpoints URL[,URL...] [--deadline-ms N] [--ca PEM [--cert PEM --key PEM]]
//       reads commands on stdin, one per line, and answers each with one JSON line:
//         grant TTL | keepalive LEASE | revoke LEASE | put KEY VALUE | get KEY | del KEY
//         claim NAME NODE KEY_FINGERPRINT SESSION LEASE   (key prefix "/tg-test/")
//         stats                                            (the client's EtcdCallStats)
//       every answer carries "ok" and "elapsed_ms"; failures carry "error" and "maybe_applied".
//   tg_etcd_probe --endpoints ... --watch PREFIX
//       prints a JSON line per event ({"type":"put"|"delete","key","value","revision"}) and one
//       per new stream ({"stream":"ENDPOINT","from":REVISION}), until killed.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "relay/cluster/cluster.h"

namespace {

using tg::cluster::EtcdClient;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPrefix = "/tg-test/";

std::string json(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string failure(const EtcdClient& client, const tg::Error& error) {
  return "\"ok\":false,\"error\":" + json(error.message) + ",\"maybe_applied\":" +
         (client.last_failure() == tg::cluster::CallFailure::kMaybeApplied ? "true" : "false");
}

std::string run(EtcdClient& client, const std::string& line) {
  std::istringstream in(line);
  std::string command;
  in >> command;
  if (command == "grant") {
    std::int64_t ttl = 0;
    in >> ttl;
    auto answer = client.lease_grant(ttl);
    if (!answer) return failure(client, answer.error());
    return "\"ok\":true,\"lease\":" + std::to_string(answer->id) +
           ",\"ttl\":" + std::to_string(answer->ttl);
  }
  if (command == "keepalive") {
    std::int64_t lease = 0;
    in >> lease;
    auto answer = client.lease_keepalive(lease);
    if (!answer) return failure(client, answer.error());
    return "\"ok\":true,\"ttl\":" + std::to_string(answer->ttl);
  }
  if (command == "revoke") {
    std::int64_t lease = 0;
    in >> lease;
    auto done = client.lease_revoke(lease);
    if (!done) return failure(client, done.error());
    return "\"ok\":true";
  }
  if (command == "put") {
    std::string key, value;
    in >> key >> value;
    auto revision = client.put(key, value);
    if (!revision) return failure(client, revision.error());
    return "\"ok\":true,\"revision\":" + std::to_string(*revision);
  }
  if (command == "get" || command == "del") {
    std::string key;
    in >> key;
    if (command == "del") {
      auto answer = client.delete_range(key);
      if (!answer) return failure(client, answer.error());
      return "\"ok\":true,\"deleted\":" + std::to_string(answer->deleted);
    }
    auto answer = client.range(key);
    if (!answer) return failure(client, answer.error());
    std::string out = "\"ok\":true,\"revision\":" + std::to_string(answer->revision) + ",\"kvs\":[";
    for (std::size_t i = 0; i < answer->kvs.size(); ++i) {
      if (i != 0) out += ',';
      out += "{\"key\":" + json(answer->kvs[i].key) + ",\"value\":" + json(answer->kvs[i].value) +
             ",\"mod_revision\":" + std::to_string(answer->kvs[i].mod_revision) +
             ",\"lease\":" + std::to_string(answer->kvs[i].lease) + "}";
    }
    return out + "]";
  }
  if (command == "claim") {
    std::string name;
    tg::cluster::NameRecord mine;
    std::int64_t lease = 0;
    in >> name >> mine.node >> mine.key_fingerprint >> mine.session >> lease;
    auto result = tg::cluster::claim_name(client, kPrefix, name, mine, lease);
    if (!result) return failure(client, result.error());
    return std::string("\"ok\":true,\"claimed\":") + (result->claimed ? "true" : "false") +
           ",\"took_over\":" + (result->took_over ? "true" : "false") +
           ",\"node\":" + json(result->record.node) +
           ",\"key\":" + json(result->record.key_fingerprint) +
           ",\"session\":" + json(result->record.session) +
           ",\"generation\":" + std::to_string(result->record.generation) +
           ",\"mod_revision\":" + std::to_string(result->mod_revision);
  }
  if (command == "stats") {
    const tg::cluster::EtcdCallStats& stats = client.stats();
    return "\"ok\":true,\"calls\":" + std::to_string(stats.calls) +
           ",\"failed\":" + std::to_string(stats.failed) +
           ",\"maybe_applied\":" + std::to_string(stats.maybe_applied) +
           ",\"failovers\":" + std::to_string(stats.failovers);
  }
  return "\"ok\":false,\"error\":\"unknown command\"";
}

int watch(const std::shared_ptr<const tg::cluster::EtcdTransport>& transport,
          const std::string& prefix) {
  tg::cluster::EtcdWatch watch(transport, prefix, tg::cluster::prefix_range_end(prefix), 0);
  for (;;) {
    auto batch = watch.next(Clock::now() + std::chrono::milliseconds(200));
    if (!batch) {
      std::printf("{\"error\":%s}\n", json(batch.error().message).c_str());
      std::fflush(stdout);
      continue;
    }
    if (batch->reconnected) {
      std::printf("{\"stream\":%s,\"from\":%lld}\n", json(watch.endpoint()).c_str(),
                  static_cast<long long>(watch.next_revision()));
    }
    if (batch->compacted) std::printf("{\"compacted\":true}\n");
    for (const tg::cluster::WatchEvent& event : batch->events) {
      std::printf("{\"type\":%s,\"key\":%s,\"value\":%s,\"revision\":%lld}\n",
                  event.type == tg::cluster::WatchEvent::Type::kPut ? "\"put\"" : "\"delete\"",
                  json(event.kv.key).c_str(), json(event.kv.value).c_str(),
                  static_cast<long long>(event.kv.mod_revision));
    }
    std::fflush(stdout);
  }
}

int run_probe(int argc, char** argv) {
  tg::cluster::EtcdClientOptions options;
  std::string watch_prefix;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--endpoints") {
      std::stringstream list(value);
      for (std::string url; std::getline(list, url, ',');) {
        auto endpoint = tg::cluster::parse_etcd_endpoint(url);
        if (!endpoint) {
          std::fprintf(stderr, "%s\n", endpoint.error().message.c_str());
          return 2;
        }
        options.endpoints.push_back(*endpoint);
      }
    } else if (flag == "--deadline-ms") {
      options.deadline = std::chrono::milliseconds(std::stoi(value));
    } else if (flag == "--ca") {
      options.ca_file = value;
    } else if (flag == "--cert") {
      options.cert_file = value;
    } else if (flag == "--key") {
      options.key_file = value;
    } else if (flag == "--watch") {
      watch_prefix = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto transport = tg::cluster::EtcdTransport::create(options);
  if (!transport) {
    std::fprintf(stderr, "%s\n", transport.error().message.c_str());
    return 2;
  }
  if (!watch_prefix.empty()) return watch(*transport, watch_prefix);
  EtcdClient client(*transport);
  for (std::string line; std::getline(std::cin, line);) {
    const auto start = Clock::now();
    const std::string answer = run(client, line);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    std::printf("{%s,\"elapsed_ms\":%lld}\n", answer.c_str(), static_cast<long long>(elapsed));
    std::fflush(stdout);
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  // A bad flag value (std::stoi) or a full pipe: a test tool's failure, said and exited.
  try {
    return run_probe(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tg_etcd_probe: %s\n", e.what());
    return 2;
  }
}
