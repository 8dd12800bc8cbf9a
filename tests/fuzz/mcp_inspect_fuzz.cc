// Fuzzes inspect_request, which reads every MCP POST body before the policy sees it. The
// first input byte picks the protocol version header and the batch decisions; the rest is the
// body. Beyond "no crash, no UB, no leak" it checks what the relay builds on:
// - validity agrees with simdjson's DOM parser, which validates everything: a body the
//   inspector accepts is valid JSON (DOM may only object to numbers it cannot represent, which
//   RFC 8259 allows), and a body DOM accepts is never called a parse error;
// - what the inspector read agrees with DOM's reading (method, id text, tool name unescaped);
// - views point into the body (or the Inspection's own buffer), and messages are in order;
// - parsing in place and from a copy give the same result;
// - each message's bytes, inspected alone, read the same; the forwarded part of a split batch
//   re-inspects to exactly the allowed messages;
// - the relay's error bodies and denied answers are JSON-RPC responses it would itself accept.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/mcp/mcp.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::mcp;
using tg::fuzz::lies_within;

bool same_message(const Message& a, const Message& b) {
  return a.kind == b.kind && a.raw == b.raw && a.id_raw == b.id_raw && a.method == b.method &&
         a.name == b.name && a.uri == b.uri && a.task_id == b.task_id && a.target == b.target;
}

bool same_inspection(const Inspection& a, const Inspection& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) {
    return a.error().code == b.error().code && a.error().counter == b.error().counter &&
           a.error().id_raw == b.error().id_raw;
  }
  if (a.batch() != b.batch() || a.messages().size() != b.messages().size()) return false;
  for (std::size_t i = 0; i < a.messages().size(); ++i) {
    if (!same_message(a.messages()[i], b.messages()[i])) return false;
  }
  return true;
}

// The relay's own answers must be JSON-RPC responses.
void check_answer(const std::string& answer) {
  const Inspection reread = inspect_request(std::string_view(answer), "");
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(reread.messages().size() == 1);
  FUZZ_CHECK(reread.messages()[0].kind == MessageKind::kResponse);
}

// Cross-checks one accepted message object against simdjson's DOM reading of it.
void check_against_dom(simdjson::dom::element element, const Message& message) {
  simdjson::dom::object object;
  FUZZ_CHECK(element.get(object) == simdjson::SUCCESS);
  std::string_view method;
  if (object["method"].get(method) == simdjson::SUCCESS) FUZZ_CHECK(method == message.method);
  if (message.target == Target::kTool || message.target == Target::kPrompt) {
    std::string_view name;
    FUZZ_CHECK(object.at_pointer("/params/name").get(name) == simdjson::SUCCESS);
    FUZZ_CHECK(name == message.name);
  }
  if (message.target == Target::kTask) {
    std::string_view task_id;
    FUZZ_CHECK(object.at_pointer("/params/taskId").get(task_id) == simdjson::SUCCESS);
    FUZZ_CHECK(task_id == message.task_id);
  }
  if (message.target == Target::kResource) {
    std::string_view uri;
    FUZZ_CHECK(object.at_pointer("/params/uri").get(uri) == simdjson::SUCCESS);
    FUZZ_CHECK(uri == message.uri);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kVersions[] = {"", "2025-03-26", "2025-06-18", "2026-07-28"};
  const std::string_view version = kVersions[data[0] & 3];
  const unsigned decisions = data[0] >> 2;
  const std::string_view input = tg::fuzz::as_text(data + 1, size - 1);

  std::string body(input);
  const JsonBytes in_place = padded(body);
  const Inspection inspection = inspect_request(in_place, version);
  FUZZ_CHECK(same_inspection(inspection, inspect_request(input, version)));

  simdjson::dom::parser dom;
  simdjson::dom::element root;
  const simdjson::error_code dom_error = dom.parse(input.data(), input.size()).get(root);

  if (!inspection.ok()) {
    const RpcError& error = inspection.error();
    FUZZ_CHECK(error.code == kParseError || error.code == kInvalidRequest ||
               error.code == kInvalidParams);
    FUZZ_CHECK(!error.message.empty() && !error.counter.empty());
    FUZZ_CHECK(inspection.messages().empty());
    if (dom_error == simdjson::SUCCESS) FUZZ_CHECK(error.code != kParseError);
    FUZZ_CHECK(lies_within(error.id_raw, body));
    check_answer(make_error_body(error));
    return 0;
  }

  FUZZ_CHECK(dom_error == simdjson::SUCCESS || dom_error == simdjson::NUMBER_ERROR);
  const auto messages = inspection.messages();
  FUZZ_CHECK(!messages.empty());
  FUZZ_CHECK(inspection.batch() || messages.size() == 1);
  FUZZ_CHECK(!inspection.batch() || version.empty() || version == "2025-03-26");
  const char* previous_end = body.data();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    FUZZ_CHECK(lies_within(m.raw, body) && lies_within(m.id_raw, m.raw));
    FUZZ_CHECK(m.raw.data() >= previous_end);
    previous_end = m.raw.data() + m.raw.size();
    FUZZ_CHECK(m.raw.front() == '{' && m.raw.back() == '}');
    FUZZ_CHECK((m.kind == MessageKind::kResponse) == m.method.empty());
    FUZZ_CHECK((m.kind == MessageKind::kNotification) == m.id_raw.empty() ||
               m.kind == MessageKind::kResponse);
    FUZZ_CHECK(m.target == Target::kNone || !m.target_name().empty());
    if (dom_error == simdjson::SUCCESS) {
      if (inspection.batch()) {
        simdjson::dom::array array;
        FUZZ_CHECK(root.get(array) == simdjson::SUCCESS);
        check_against_dom(array.at(i).value(), m);
      } else {
        check_against_dom(root, m);
      }
    }

    // Alone, the message reads the same.
    const Inspection alone = inspect_request(m.raw, "");
    FUZZ_CHECK(alone.ok() && !alone.batch());
    const Message& a = alone.messages()[0];
    FUZZ_CHECK(a.raw == m.raw && a.id_raw == m.id_raw && a.method == m.method && a.name == m.name &&
               a.uri == m.uri && a.task_id == m.task_id && a.target == m.target &&
               a.kind == m.kind);

    const std::string denied = make_denied_answer(m);
    FUZZ_CHECK(denied.empty() == (m.kind != MessageKind::kRequest));
    if (!denied.empty()) check_answer(denied);
  }
  if (!inspection.batch()) {
    FUZZ_CHECK(messages[0].raw.size() <= body.size());
    return 0;
  }

  // Limits::max_batch (100) bounds a batch.
  bool allowed[128] = {};
  FUZZ_CHECK(messages.size() <= 128);
  std::vector<const Message*> expected;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    allowed[i] = (decisions >> (i % 6)) & 1;
    if (allowed[i]) expected.push_back(&messages[i]);
  }
  const BatchSplit split = split_batch(inspection, std::span<const bool>(allowed, messages.size()));
  FUZZ_CHECK(split.allowed == expected.size());
  FUZZ_CHECK(split.allowed + split.denied == messages.size());
  for (const std::string& answer : split.answers) check_answer(answer);
  if (expected.empty()) {
    FUZZ_CHECK(split.forward.empty());
    return 0;
  }
  const Inspection forwarded = inspect_request(std::string_view(split.forward), "");
  FUZZ_CHECK(forwarded.ok() && forwarded.batch());
  FUZZ_CHECK(forwarded.messages().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Message& f = forwarded.messages()[i];
    FUZZ_CHECK(f.raw == expected[i]->raw && f.id_raw == expected[i]->id_raw &&
               f.method == expected[i]->method && f.target_name() == expected[i]->target_name());
  }
  return 0;
}
