// McpExchange: read the body, inspect it, decide each message, and shape the answer.
#include "relay/proxy/mcp_exchange.h"

#include <algorithm>
#include <array>

#include "relay/log/log.h"
#include "relay/mcp/redact.h"
#include "relay/proxy/mcp_sessions.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

constexpr std::size_t kMaxBatch = 128;  // at least mcp::Limits::max_batch
constexpr std::size_t kMaxAuditArgumentBytes = 8 * 1024;
constexpr int kSessionNotFound = -32001;  // what MCP servers answer with their 404

std::string_view header(const http::RequestHead& head, std::string_view name) {
  return http::find_header(head.headers.data(), head.header_count, name);
}

std::string_view target_field(mcp::Target target) {
  switch (target) {
    case mcp::Target::kTool:
      return "tool";
    case mcp::Target::kResource:
      return "resource";
    case mcp::Target::kPrompt:
      return "prompt";
    case mcp::Target::kNone:
      break;
  }
  return {};
}

}  // namespace

McpExchange::Answer& McpExchange::refuse(int status, std::string body, bool close) {
  answer_.status = status;
  answer_.body = std::move(body);
  answer_.close = close;
  return answer_;
}

McpExchange::Start McpExchange::begin(const http::RequestHead& head, const Tunnel& tunnel,
                                      const Caller& caller, bool challenge_anonymous,
                                      const ConnectionFacts& connection, std::string_view source_ip,
                                      std::string_view request_id) {
  head_ = head;
  tunnel_name_.assign(tunnel.name);
  tunnel_owner_.assign(tunnel.session->key_fingerprint());
  tunnel_class_.assign(policy::to_string(tunnel.actor_class));
  subject_.assign(caller.subject());
  has_token_ = caller.token != nullptr;
  if (has_token_) token_ = *caller.token;
  api_key_name_.assign(caller.api_key_name);
  challenge_anonymous_ = challenge_anonymous;
  source_ip_.assign(source_ip);
  request_id_.assign(request_id);
  access_.build(head_, tunnel, connection, static_cast<std::int64_t>(worker_.now_epoch_s()));
  // The tunnel may close while a stream still decides list entries: point at our copies.
  access_.context().tunnel_name = tunnel_name_;
  access_.context().tunnel_owner = tunnel_owner_;
  if (has_token_) token_.fill(access_.context());
  access_.context().api_key_name = api_key_name_;
  protocol_version_ = header(head_, "mcp-protocol-version");
  session_id_ = header(head_, "mcp-session-id");
  has_body_ = head_.method == "POST" || head_.framing != http::BodyFraming::kNone;
  inspected_ = false;
  initialize_ = false;
  wants_continue_ = false;
  answer_ = Answer{};
  plan_ = McpResponsePlan{};
  rewriter_ = McpResponseRewriter{};
  records_.clear();
  body_.clear();
  forward_ = {};
  McpCounters& counters = worker_.counters().mcp;

  if (!has_body_) {
    // GET (the event stream), DELETE: decided as ordinary requests, but only by the subject
    // the session belongs to. A stream may carry list results the relay did not see asked
    // for (a resumed stream): filter every list it carries.
    if (!session_id_.empty() &&
        worker_.mcp_sessions().check(tunnel_name_, session_id_, subject_, worker_.now_ms()) !=
            McpSessionTable::Check::kBound) {
      ++counters.session_refused;
      refuse(404, mcp::make_jsonrpc_error("", kSessionNotFound, "Session not found"), false);
      return Start::kAnswered;
    }
    plan_.pending = mcp::PendingLists::any();
    return Start::kOrdinary;
  }
  const std::uint32_t max_body = worker_.config().mcp_max_body;
  if (head_.framing == http::BodyFraming::kLength && head_.content_length > max_body) {
    ++counters.requests_refused;
    refuse(400,
           mcp::make_jsonrpc_error("", mcp::kInvalidRequest,
                                   "Invalid Request: body larger than mcp.max_body"),
           true);
    return Start::kAnswered;
  }
  remaining_ = head_.framing == http::BodyFraming::kLength ? head_.content_length : 0;
  scanner_ = http::ChunkedScanner();
  decoder_ = http::ChunkedDecoder();
  wants_continue_ = head_.expect_continue && head_.version_minor == 1;
  return Start::kReadBody;
}

McpExchange::Body McpExchange::collect(std::string& in) {
  const std::uint32_t max_body = worker_.config().mcp_max_body;
  switch (head_.framing) {
    case http::BodyFraming::kLength: {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), remaining_));
      body_.append(in, 0, take);
      in.erase(0, take);
      remaining_ -= take;
      return remaining_ == 0 ? Body::kComplete : Body::kNeedMore;
    }
    case http::BodyFraming::kChunked: {
      const auto step = scanner_.feed(in);
      if (step.error) {
        ++worker_.counters().mcp.requests_refused;
        refuse(400,
               mcp::make_jsonrpc_error("", mcp::kParseError,
                                       "Parse error: malformed chunked request body"),
               true);
        return Body::kRefused;
      }
      decoder_.feed(std::string_view(in).substr(0, step.consumed), body_);
      in.erase(0, step.consumed);
      if (body_.size() > max_body) {
        ++worker_.counters().mcp.requests_refused;
        refuse(400,
               mcp::make_jsonrpc_error("", mcp::kInvalidRequest,
                                       "Invalid Request: body larger than mcp.max_body"),
               !step.done);
        return Body::kRefused;
      }
      return step.done ? Body::kComplete : Body::kNeedMore;
    }
    default:
      return Body::kComplete;  // a POST without a body: inspected as empty, refused
  }
}

policy::AccessDecision McpExchange::decide(const mcp::Message& message) const {
  policy::AccessContext context = access_.context();
  mcp::fill_access_context(message, protocol_version_, session_id_, context);
  return worker_.policy().decide_access(context);
}

bool McpExchange::allows_entry(mcp::ListKind kind, std::string_view name) const {
  policy::AccessContext context = access_.context();
  context.mcp_protocol_version = protocol_version_;
  context.mcp_session = session_id_;
  switch (kind) {
    case mcp::ListKind::kTools:
      context.mcp_method = "tools/call";
      context.mcp_tool = name;
      break;
    case mcp::ListKind::kPrompts:
      context.mcp_method = "prompts/get";
      context.mcp_prompt = name;
      break;
    case mcp::ListKind::kResources:
      context.mcp_method = "resources/read";
      context.mcp_resource = name;
      break;
  }
  return worker_.policy().decide_access(context).allowed;
}

bool McpExchange::allows_entry_thunk(const void* self, mcp::ListKind kind,
                                     std::string_view name) noexcept {
  return static_cast<const McpExchange*>(self)->allows_entry(kind, name);
}

McpExchange::Dispatch McpExchange::dispatch() {
  inspected_ = true;
  McpCounters& counters = worker_.counters().mcp;
  mcp::Limits limits;
  limits.max_body = worker_.config().mcp_max_body;
  inspection_ = mcp::inspect_request(mcp::padded(body_), protocol_version_, limits);
  if (!inspection_.ok()) {
    ++counters.requests_refused;
    refuse(400, mcp::make_error_body(inspection_.error()), false);
    return Dispatch::kAnswered;
  }
  const mcp::RpcError mismatch =
      mcp::check_mcp_headers(inspection_, header(head_, "mcp-method"), header(head_, "mcp-name"));
  if (!mismatch.ok()) {
    ++counters.requests_refused;
    refuse(400, mcp::make_error_body(mismatch), false);
    return Dispatch::kAnswered;
  }
  if (!session_id_.empty() &&
      worker_.mcp_sessions().check(tunnel_name_, session_id_, subject_, worker_.now_ms()) !=
          McpSessionTable::Check::kBound) {
    ++counters.session_refused;
    refuse(404, mcp::make_jsonrpc_error("", kSessionNotFound, "Session not found"), false);
    return Dispatch::kAnswered;
  }

  const auto messages = inspection_.messages();
  std::array<bool, kMaxBatch> allowed{};
  const std::size_t count = std::min(messages.size(), kMaxBatch);
  for (std::size_t i = 0; i < count; ++i) {
    const mcp::Message& message = messages[i];
    const policy::AccessDecision decision = decide(message);
    allowed[i] = decision.allowed;
    ++counters.messages;
    if (!decision.allowed) ++counters.messages_denied;
    if (message.target == mcp::Target::kTool) {
      counters.count_tool_call(message.name, decision.allowed);
    }
    Record& record = records_.emplace_back();
    record.method.assign(message.method);
    record.target = message.target;
    record.target_name.assign(message.target_name());
    record.allowed = decision.allowed;
    record.outcome = decision.outcome;
    record.rule.assign(decision.rule_id);
    record.raw = message.raw;
  }
  const int deny_code = worker_.config().mcp_deny_code;
  // Everything denied, and a credential could change that: ask for one (the MCP
  // authorization flow starts from this 401), rather than answer JSON-RPC errors.
  if (challenge_anonymous_ &&
      std::none_of(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(count),
                   [](bool a) { return a; })) {
    return Dispatch::kChallenge;
  }

  if (!inspection_.batch()) {
    const mcp::Message& message = messages.front();
    if (!allowed[0]) {
      std::string denied = mcp::make_denied_answer(message, deny_code);
      const int status = denied.empty() ? 202 : 200;
      refuse(status, std::move(denied), false);
      return Dispatch::kAnswered;
    }
    initialize_ = message.method == "initialize" && message.kind == mcp::MessageKind::kRequest;
    plan_.single_id.assign(message.id_raw);
    if (plan_.pending.add(message)) plan_.single_list = mcp::list_kind_of(message.method);
    forward_ = body_;  // exactly the bytes inspected
    return Dispatch::kForward;
  }

  mcp::BatchSplit split = mcp::split_batch(inspection_, {allowed.data(), count}, deny_code);
  if (split.allowed == 0) {
    const int status = split.answers.empty() ? 202 : 200;
    refuse(status, split.answers.empty() ? std::string() : mcp::json_array(split.answers), false);
    return Dispatch::kAnswered;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (allowed[i]) plan_.pending.add(messages[i]);
  }
  plan_.answers = std::move(split.answers);
  if (split.denied == 0) {
    forward_ = body_;
  } else {
    forward_storage_ = std::move(split.forward);
    forward_ = forward_storage_;
  }
  return Dispatch::kForward;
}

http::RequestHead McpExchange::forward_head() const {
  http::RequestHead head = head_;
  head.framing = http::BodyFraming::kLength;
  head.content_length = forward_.size();
  head.expect_continue = false;
  if (wants_continue_) {  // answered by the relay already; the publisher must not answer again
    std::size_t kept = 0;
    for (std::size_t i = 0; i < head.header_count; ++i) {
      if (!http::iequals(head.headers[i].name, "expect")) head.headers[kept++] = head.headers[i];
    }
    head.header_count = kept;
  }
  return head;
}

bool McpExchange::on_response_head(const http::ResponseHead& head, bool keep_alive,
                                   std::string& head_out) {
  const bool success = head.status >= 200 && head.status < 300;
  McpSessionTable& sessions = worker_.mcp_sessions();
  if (initialize_ && success) {
    const std::string_view session =
        http::find_header(head.headers.data(), head.header_count, "mcp-session-id");
    if (!session.empty() && !sessions.bind(tunnel_name_, session, subject_, worker_.now_ms())) {
      return false;
    }
  }
  if (head_.method == "DELETE" && success && !session_id_.empty()) {
    sessions.drop(tunnel_name_, session_id_);
  }
  rewriter_.start(std::move(plan_), head, head_.version_minor == 1, keep_alive,
                  mcp::NameFilter(this, &McpExchange::allows_entry_thunk),
                  mcp::kDefaultMaxListBytes, head_out);
  plan_ = McpResponsePlan{};
  return true;
}

bool McpExchange::response_body(std::string_view framed, std::string& out) {
  if (rewriter_.body(framed, out)) return true;
  ++worker_.counters().mcp.streams_cut;
  return false;
}

void McpExchange::response_end(std::string& out) {
  rewriter_.finish(out);
}

bool McpExchange::recheck() {
  for (const mcp::Message& message : inspection_.messages()) {
    if (message.kind != mcp::MessageKind::kResponse && !decide(message).allowed) return false;
  }
  return true;
}

void McpExchange::end(int status, std::uint64_t duration_us) {
  McpCounters& counters = worker_.counters().mcp;
  const auto& stats = rewriter_.stats();
  counters.lists_filtered += stats.lists_filtered;
  counters.list_entries_hidden += stats.entries_removed;
  rewriter_ = McpResponseRewriter{};
  if (records_.empty()) return;
  const Config& config = worker_.config();
  if (!config.audit_file.empty()) {
    for (const Record& record : records_) {
      log::JsonLine line("audit");
      line.add("kind", "mcp")
          .add("decision", record.allowed ? "allow" : "deny")
          .add("reason", policy::to_string(record.outcome))
          .add("rule", record.rule)
          .add("tunnel", tunnel_name_)
          .add("class", tunnel_class_)
          .add("subject", subject_.empty() ? std::string_view("anonymous") : subject_)
          .add("source", source_ip_)
          .add("mcp_method", record.method);
      if (record.target != mcp::Target::kNone) {
        line.add(target_field(record.target), record.target_name);
      }
      if (!session_id_.empty()) line.add("session", session_id_);
      line.add("status", status).add("duration_us", duration_us).add("request_id", request_id_);
      if (config.mcp_audit_arguments &&
          (record.target == mcp::Target::kTool || record.target == mcp::Target::kPrompt)) {
        std::string arguments;
        if (mcp::append_audit_arguments(record.raw, config.mcp_redact_keys, kMaxAuditArgumentBytes,
                                        arguments)) {
          line.add_raw("arguments", arguments);
        }
      }
      worker_.audit(line.finish());
    }
  }
  records_.clear();
}

}  // namespace tg
