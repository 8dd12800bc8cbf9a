// Cost of the MCP inspection layer on what an MCP tunnel sees: a tools/call body (about 300
// bytes, and 1 KiB), a 10-message batch, and a tools/list result of 50 (and 100) tools
// filtered down to half, as JSON and as one SSE event. "Padded" bodies are parsed in place;
// "Copied" ones come as plain views and are first copied into the per-thread padded buffer.
// A DOM parse of the same body (simdjson's full parse, no repeated-key check) is the yardstick.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/mcp/list_filter.h"
#include "relay/mcp/mcp.h"

namespace {

using namespace tg::mcp;

const std::string kToolsCall =
    R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search_issues",)"
    R"("arguments":{"repository":"acme/widgets","query":"label:bug state:open sort:updated",)"
    R"("limit":25,"include_closed":false,"fields":["title","number","labels","assignee"]},)"
    R"("_meta":{"progressToken":"7f2c9a1e-7b4d-4e8a-9c1f-2d6e8b0a5f31"}}})";

std::string tools_call_of_size(std::size_t size) {
  std::string body =
      R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"summarize",)"
      R"("arguments":{"language":"en","max_words":120,"text":")";
  const std::string tail = R"("}}})";
  while (body.size() + tail.size() < size) body += "lorem ipsum dolor sit amet, ";
  body.resize(size - tail.size());
  return body + tail;
}

std::string batch_of_ten() {
  std::string batch = "[";
  for (int i = 0; i < 10; ++i) {
    if (i > 0) batch += ",";
    if (i % 3 == 2) {
      batch += R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":)" +
               std::to_string(i) + R"(,"progress":)" + std::to_string(i * 10) + "}}";
    } else {
      batch += R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
               R"(,"method":"tools/call","params":{"name":"tool_)" + std::to_string(i) +
               R"(","arguments":{"path":"/srv/data/file_)" + std::to_string(i) +
               R"(.txt","mode":"read","offset":0}}})";
    }
  }
  return batch + "]";
}

std::string tools_list(int tools) {
  std::string json = R"({"jsonrpc":"2.0","id":3,"result":{"tools":[)";
  for (int i = 0; i < tools; ++i) {
    if (i > 0) json += ",";
    json += R"({"name":"tool_)" + std::to_string(i) + R"(","description":"Does thing number )" +
            std::to_string(i) +
            R"( to the repository and reports what changed.","inputSchema":{"type":"object",)"
            R"("properties":{"path":{"type":"string","description":"File path"},)"
            R"("recursive":{"type":"boolean"},"depth":{"type":"integer","minimum":0}},)"
            R"("required":["path"]},"annotations":{"readOnlyHint":true}})";
  }
  return json + R"(],"nextCursor":"page-2"}})";
}

// Allows tools whose number is even.
bool even_tools(const void*, ListKind, std::string_view name) noexcept {
  return !name.empty() && (name.back() - '0') % 2 == 0;
}

void inspect_padded(benchmark::State& state, std::string body, std::string_view version) {
  const JsonBytes bytes = padded(body);
  for (auto _ : state) {
    Inspection inspection = inspect_request(bytes, version);
    if (!inspection.ok()) state.SkipWithError("refused");
    benchmark::DoNotOptimize(inspection);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_McpInspectToolsCallPadded(benchmark::State& state) {
  inspect_padded(state, kToolsCall, "2025-06-18");
}
BENCHMARK(BM_McpInspectToolsCallPadded);

void BM_McpInspectToolsCallCopied(benchmark::State& state) {
  const std::string body = kToolsCall;
  for (auto _ : state) {
    Inspection inspection = inspect_request(std::string_view(body), "2025-06-18");
    benchmark::DoNotOptimize(inspection);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_McpInspectToolsCallCopied);

void BM_McpInspectToolsCall1KiB(benchmark::State& state) {
  inspect_padded(state, tools_call_of_size(1024), "2025-06-18");
}
BENCHMARK(BM_McpInspectToolsCall1KiB);

void BM_McpInspectBatch10(benchmark::State& state) {
  inspect_padded(state, batch_of_ten(), "2025-03-26");
}
BENCHMARK(BM_McpInspectBatch10);

void BM_SimdjsonDomParseToolsCall(benchmark::State& state) {
  simdjson::dom::parser parser;
  const simdjson::padded_string body(kToolsCall);
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(body).get(root) != simdjson::SUCCESS) state.SkipWithError("parse");
    benchmark::DoNotOptimize(root);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kToolsCall.size()));
}
BENCHMARK(BM_SimdjsonDomParseToolsCall);

void BM_McpHeadersAndContext(benchmark::State& state) {
  std::string body = kToolsCall;
  const Inspection inspection = inspect_request(padded(body), "");
  for (auto _ : state) {
    RpcError error = check_mcp_headers(inspection, "tools/call", "search_issues");
    tg::policy::AccessContext context;
    fill_access_context(inspection.messages()[0], "2026-07-28", "s", context);
    benchmark::DoNotOptimize(error);
    benchmark::DoNotOptimize(context);
  }
}
BENCHMARK(BM_McpHeadersAndContext);

void filter_json(benchmark::State& state, int tools) {
  std::string json = tools_list(tools);
  const JsonBytes bytes = padded(json);
  for (auto _ : state) {
    ListRewrite rewrite =
        filter_list_result(bytes, ListKind::kTools, NameFilter(nullptr, &even_tools));
    if (rewrite.outcome != ListRewrite::Outcome::kRewritten) state.SkipWithError("not rewritten");
    benchmark::DoNotOptimize(rewrite);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
  state.counters["json_bytes"] = static_cast<double>(json.size());
}

void BM_McpFilterToolsList50(benchmark::State& state) {
  filter_json(state, 50);
}
BENCHMARK(BM_McpFilterToolsList50);

void BM_McpFilterToolsList100(benchmark::State& state) {
  filter_json(state, 100);
}
BENCHMARK(BM_McpFilterToolsList100);

void BM_McpSseFilterToolsList50(benchmark::State& state) {
  const std::string stream =
      ": ping\n\n"
      R"(data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})"
      "\n\nevent: message\nid: 9\ndata: " +
      tools_list(50) + "\n\n";
  std::string out;
  for (auto _ : state) {
    PendingLists pending;
    pending.add("3", ListKind::kTools);
    SseListFilter filter(std::move(pending), NameFilter(nullptr, &even_tools));
    out.clear();
    // As it comes off the socket: 4 KiB reads.
    for (std::size_t at = 0; at < stream.size(); at += 4096) {
      filter.feed(std::string_view(stream).substr(at, 4096), out);
    }
    filter.finish(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.counters["stream_bytes"] = static_cast<double>(stream.size());
}
BENCHMARK(BM_McpSseFilterToolsList50);

void BM_McpSsePassThrough(benchmark::State& state) {
  // What a stream costs once its list is answered (or when none was asked for).
  const std::string chunk(4096, 'x');
  std::string out;
  SseListFilter filter(PendingLists(), NameFilter(nullptr, &even_tools));
  for (auto _ : state) {
    out.clear();
    filter.feed(chunk, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_McpSsePassThrough);

}  // namespace
