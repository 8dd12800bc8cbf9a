// Throughput of the HTTP/1.1 framing layer on what an MCP relay mostly sees: a JSON-RPC POST
// head, a streaming response head, and the chunk framing of a 64 KiB body.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "relay/http/http.h"

namespace {

using namespace tg::http;

constexpr std::string_view kJsonRpcRequestHead =
    "POST /mcp HTTP/1.1\r\n"
    "Host: notes.relay.example.com\r\n"
    "User-Agent: node\r\n"
    "Accept: application/json, text/event-stream\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 187\r\n"
    "Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl\r\n"
    "Mcp-Session-Id: 3f2c9a1e-7b4d-4e8a-9c1f-2d6e8b0a5f31\r\n"
    "Mcp-Protocol-Version: 2025-06-18\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

constexpr std::string_view kStreamingResponseHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Mcp-Session-Id: 3f2c9a1e-7b4d-4e8a-9c1f-2d6e8b0a5f31\r\n"
    "Date: Tue, 10 Jun 2025 12:00:00 GMT\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

void BM_HttpParseRequestHead(benchmark::State& state) {
  RequestHead head;
  for (auto _ : state) {
    ParseResult result = parse_request_head(kJsonRpcRequestHead, head);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(head);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kJsonRpcRequestHead.size()));
  state.counters["head_bytes"] = static_cast<double>(kJsonRpcRequestHead.size());
}
BENCHMARK(BM_HttpParseRequestHead);

void BM_HttpParseResponseHead(benchmark::State& state) {
  ResponseHead head;
  for (auto _ : state) {
    ParseResult result = parse_response_head(kStreamingResponseHead, "POST", head);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(head);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kStreamingResponseHead.size()));
  state.counters["head_bytes"] = static_cast<double>(kStreamingResponseHead.size());
}
BENCHMARK(BM_HttpParseResponseHead);

// A 64 KiB body cut into chunks of `chunk_size` bytes; small chunks weigh the per-chunk
// framing, large ones the bulk skip over data.
std::string make_chunked_body(std::size_t body_size, std::size_t chunk_size) {
  std::string body;
  for (std::size_t sent = 0; sent < body_size; sent += chunk_size) {
    char size_line[32];
    const int length = std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk_size);
    body.append(size_line, static_cast<std::size_t>(length));
    body.append(chunk_size, 'x');
    body.append("\r\n");
  }
  body.append("0\r\n\r\n");
  return body;
}

constexpr std::size_t kChunkedBodyBytes = std::size_t{64} * 1024;

void BM_HttpChunkedScan64KiB(benchmark::State& state) {
  const auto chunk_size = static_cast<std::size_t>(state.range(0));
  const std::string body = make_chunked_body(kChunkedBodyBytes, chunk_size);
  for (auto _ : state) {
    ChunkedScanner scanner;
    ChunkedScanner::Step step = scanner.feed(body);
    benchmark::DoNotOptimize(step);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
  // Chunk data is skipped without being read, so the cost is per chunk rather than per byte.
  const std::size_t chunks = kChunkedBodyBytes / chunk_size + 1;  // the last chunk too
  state.counters["chunks_per_second"] =
      benchmark::Counter(static_cast<double>(chunks) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HttpChunkedScan64KiB)->ArgName("chunk")->Arg(256)->Arg(4096);

}  // namespace
