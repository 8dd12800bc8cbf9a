// The relay's own JSON-RPC answers: error bodies, denied calls, and batches divided between
// the publisher and the relay. Ids are copied from the request byte for byte, so the client
// matches the answer to its request whatever form the id took.
#include <string>

#include "relay/mcp/json_walk.h"
#include "relay/mcp/mcp.h"

namespace tg::mcp {

void append_json_string_contents(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(text, plain, text.size() - plain);
}

std::string make_jsonrpc_error(std::string_view id_raw, int code, std::string_view message) {
  std::string out;
  out.reserve(64 + id_raw.size() + message.size());
  out += R"({"jsonrpc":"2.0","id":)";
  out += id_raw.empty() ? std::string_view("null") : id_raw;
  out += R"(,"error":{"code":)";
  out += std::to_string(code);
  out += R"(,"message":")";
  append_json_string_contents(message, out);
  out += "\"}}";
  return out;
}

std::string make_error_body(const RpcError& error) {
  return make_jsonrpc_error(error.id_raw, error.code, error.message);
}

std::string make_denied_answer(const Message& message, int code) {
  if (message.kind != MessageKind::kRequest) return {};
  std::string_view what;
  switch (message.target) {
    case Target::kTool:
      what = "Unknown tool: ";
      break;
    case Target::kPrompt:
      what = "Unknown prompt: ";
      break;
    case Target::kResource:
      what = "Unknown resource: ";
      break;
    case Target::kTask:
      return make_jsonrpc_error(message.id_raw, kInvalidParams, kTaskNotFound);
    case Target::kNone:
      return make_jsonrpc_error(message.id_raw, kMethodNotFound, "Method not found");
  }
  std::string text(what);
  text += message.target_name();
  return make_jsonrpc_error(message.id_raw, code, text);
}

BatchSplit split_batch(const Inspection& inspection, std::span<const bool> allowed, int deny_code) {
  BatchSplit split;
  const std::span<const Message> messages = inspection.messages();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& message = messages[i];
    if (i < allowed.size() && allowed[i]) {
      split.forward += split.allowed == 0 ? '[' : ',';
      split.forward += message.raw;
      ++split.allowed;
      continue;
    }
    ++split.denied;
    std::string answer = make_denied_answer(message, deny_code);
    if (!answer.empty()) split.answers.push_back(std::move(answer));
  }
  if (split.allowed > 0) split.forward += ']';
  return split;
}

std::string json_array(std::span<const std::string> answers) {
  std::string out = "[";
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (i > 0) out += ',';
    out += answers[i];
  }
  out += ']';
  return out;
}

std::string merge_json_batch_response(std::string_view publisher_body,
                                      std::span<const std::string> answers) {
  const std::string_view body = detail::trim_json_space(publisher_body);
  if (body.empty()) return json_array(answers);
  if (answers.empty()) return std::string(publisher_body);
  std::string out;
  if (body.front() == '[' && body.back() == ']') {
    const std::string_view inside = detail::trim_json_space(body.substr(1, body.size() - 2));
    out.assign(body.substr(0, body.size() - 1));
    for (std::size_t i = 0; i < answers.size(); ++i) {
      if (i > 0 || !inside.empty()) out += ',';
      out += answers[i];
    }
    out += ']';
    return out;
  }
  if (body.front() == '{' && body.back() == '}') {
    out = "[";
    out += body;
    for (const std::string& answer : answers) {
      out += ',';
      out += answer;
    }
    out += ']';
    return out;
  }
  return std::string(publisher_body);
}

std::string sse_events(std::span<const std::string> answers) {
  std::string out;
  for (const std::string& answer : answers) {
    out += "data: ";
    out += answer;
    out += "\n\n";
  }
  return out;
}

void fill_access_context(const Message& message, std::string_view protocol_version,
                         std::string_view session_id, policy::AccessContext& context) {
  context.mcp_method = message.method;
  context.mcp_tool = message.tool();
  context.mcp_resource = message.resource();
  context.mcp_prompt = message.prompt();
  context.mcp_task = message.task();
  context.mcp_protocol_version = protocol_version;
  context.mcp_session = session_id;
}

}  // namespace tg::mcp
