// The TLS record layer on the data path, over the relay's own TlsStream (TLS over memory, no
// socket): a server stream sealing a response into records (64 B, 1 KiB, and 16 KiB, the most
// one record carries), and a request's way in. TLS 1.3 numbers its records implicitly, so one
// ciphertext cannot be fed twice: the round trip times the client sealing the request plus the
// server taking it in and opening it, nothing subtracted. Both streams come from the relay's
// contexts (a --dev CA's certificate, the client verifying it); the handshake is done, by
// passing each side's pending_out() to the other, before timing starts.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "bench/must.h"
#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace {

using tg::tls::TlsStream;

constexpr const char* kServerName = "bench.localhost";

using tg::bench::must;

// The relay's server context issuing certificates from a --dev CA, and a client context that
// trusts that CA; made once. The CA's files exist only while the contexts load them.
struct Contexts {
  std::unique_ptr<tg::tls::ServerTlsContext> server;
  std::unique_ptr<tg::tls::ClientTlsContext> client;

  Contexts() {
    tg::tls::init_library();
    std::string dir = (std::filesystem::temp_directory_path() / "tg-tls-bench-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    must(tg::tls::create_dev_ca(dir + "/dev-ca.pem", dir + "/ca.pem"));
    server = must(tg::tls::ServerTlsContext::with_dev_ca(dir + "/dev-ca.pem"));
    client = must(tg::tls::ClientTlsContext::create(dir + "/ca.pem"));
    std::filesystem::remove_all(dir);
  }
};

Contexts& contexts() {
  static Contexts shared;
  return shared;
}

// Hands what `from` has to send to `to`, as the network would.
void pass(TlsStream& from, TlsStream& to) {
  to.feed(from.pending_out());
  from.pending_out().clear();
}

// A server stream and a client stream with their handshake done; `error` says why not.
struct Connection {
  TlsStream server;
  TlsStream client;
  std::string error;
  std::string label;  // version and cipher suite

  Connection() {
    WOLFSSL* server_ssl = contexts().server->new_session(kServerName);
    if (server_ssl == nullptr) {
      error = "no server session";
      return;
    }
    server.attach(server_ssl);
    WOLFSSL* client_ssl = contexts().client->new_session(kServerName);
    if (client_ssl == nullptr) {
      error = "no client session";
      return;
    }
    client.attach(client_ssl);
    for (int flight = 0; flight < 8; ++flight) {
      const TlsStream::Progress client_progress = client.handshake();
      pass(client, server);
      const TlsStream::Progress server_progress = server.handshake();
      pass(server, client);
      if (client_progress == TlsStream::Progress::kFailed ||
          server_progress == TlsStream::Progress::kFailed) {
        error = std::string("handshake failed: client ") + client.last_error() + ", server " +
                server.last_error();
        return;
      }
      if (client.handshake_done() && server.handshake_done()) break;
    }
    if (!client.handshake_done() || !server.handshake_done()) {
      error = "handshake did not finish";
      return;
    }
    // The client takes in what the server sent last (TLS 1.3 session tickets), so neither
    // side has anything left over.
    char none[1];
    if (client.read(none, sizeof none) != 0) {
      error = "unexpected data after the handshake";
      return;
    }
    label = std::string(server.version_name()) + " " + wolfSSL_get_cipher_name(server_ssl);
  }
};

// Server side, as the relay writes a response: plaintext in, records out; the ciphertext is
// dropped each time (the relay hands it to the ring).
void BM_TlsRecordWrite(benchmark::State& state) {
  Connection connection;
  if (!connection.error.empty()) {
    state.SkipWithError(connection.error.c_str());
    return;
  }
  const std::string plaintext(static_cast<std::size_t>(state.range(0)), 'x');
  std::string& out = connection.server.pending_out();
  // Once untimed, to size the records and warm the output buffer.
  if (!connection.server.write(plaintext)) {
    state.SkipWithError(connection.server.last_error());
    return;
  }
  const std::size_t ciphertext_bytes = out.size();
  out.clear();
  for (auto _ : state) {
    if (!connection.server.write(plaintext)) {
      state.SkipWithError(connection.server.last_error());
      break;
    }
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(plaintext.size()));
  state.counters["ciphertext_bytes"] = static_cast<double>(ciphertext_bytes);
  state.SetLabel(connection.label);
}
BENCHMARK(BM_TlsRecordWrite)->Arg(64)->Arg(1024)->Arg(16 * 1024);

// A request's records in: the client seals the plaintext, the server is fed the ciphertext and
// reads the plaintext back. Both ends' work is in the time.
void BM_TlsRecordRoundTrip(benchmark::State& state) {
  Connection connection;
  if (!connection.error.empty()) {
    state.SkipWithError(connection.error.c_str());
    return;
  }
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const std::string plaintext(size, 'x');
  std::string opened(size, '\0');
  auto round_trip = [&]() -> const char* {
    if (!connection.client.write(plaintext)) return connection.client.last_error();
    pass(connection.client, connection.server);
    std::size_t got = 0;
    while (got < size) {
      const long n = connection.server.read(opened.data() + got, size - got);
      if (n <= 0) return n == 0 ? "the server stream wanted more ciphertext" : "read failed";
      got += static_cast<std::size_t>(n);
    }
    return nullptr;
  };
  for (auto _ : state) {
    if (const char* error = round_trip(); error != nullptr) {
      state.SkipWithError(error);
      break;
    }
    benchmark::DoNotOptimize(opened.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
  state.SetLabel(connection.label);
}
BENCHMARK(BM_TlsRecordRoundTrip)->Arg(64)->Arg(1024)->Arg(16 * 1024);

}  // namespace
