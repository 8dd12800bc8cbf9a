// The accept path's per-connection work before a visitor is handed to its tunnel's worker:
// reading SNI from the ClientHello, and (once per publisher) deriving a stable name.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "relay/names.h"
#include "tests/unit/client_hello_fixture.h"
#include "tls/client_hello.h"

namespace {

void BM_PeekClientHello(benchmark::State& state) {
  std::string_view bytes = tg::tls::testing::openssl_client_hello();
  auto scratch = std::make_unique<char[]>(tg::tls::kMaxClientHelloBytes);
  for (auto _ : state) {
    tg::tls::ClientHelloPeek peek = tg::tls::peek_client_hello(bytes, scratch.get());
    benchmark::DoNotOptimize(peek);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_PeekClientHello);

// The same hello cut into two records, which takes the copy into `scratch`.
void BM_PeekClientHelloTwoRecords(benchmark::State& state) {
  std::string_view whole = tg::tls::testing::openssl_client_hello();
  std::string_view message = whole.substr(5);
  auto record = [](std::string_view payload) {
    return std::string{'\x16', '\x03', '\x01', static_cast<char>(payload.size() >> 8),
                       static_cast<char>(payload.size() & 0xff)} +
           std::string(payload);
  };
  std::string bytes = record(message.substr(0, 100)) + record(message.substr(100));
  auto scratch = std::make_unique<char[]>(tg::tls::kMaxClientHelloBytes);
  for (auto _ : state) {
    tg::tls::ClientHelloPeek peek = tg::tls::peek_client_hello(bytes, scratch.get());
    benchmark::DoNotOptimize(peek);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_PeekClientHelloTwoRecords);

void BM_StableName(benchmark::State& state) {
  const std::string key = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
  const std::string secret(32, 's');
  for (auto _ : state) {
    std::string name = tg::stable_name(key, secret);
    benchmark::DoNotOptimize(name);
  }
}
BENCHMARK(BM_StableName);

}  // namespace
