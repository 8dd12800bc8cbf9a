// McpExchange: read the body, inspect it, decide each message, and shape the answer.
#include "relay/proxy/mcp_exchange.h"

#include <algorithm>
#include <array>

#include "relay/log/log.h"
#include "relay/mcp/params.h"
#include "relay/mcp/redact.h"
#include "relay/mcp/tasks.h"
#include "relay/proxy/mcp_sessions.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

constexpr std::size_t kMaxBatch = 128;  // at least mcp::Limits::max_batch
constexpr std::size_t kMaxAuditArgumentBytes = 8 * 1024;
constexpr std::size_t kMaxListedSchemas = 4096;  // tools learnt from one response
constexpr std::size_t kMaxParamHeaders = 64;     // Mcp-Param-* headers read from one request
constexpr std::string_view kParamPrefix = "mcp-param-";
// From this revision on a client mirrors every declared argument it sends (SEP-2243).
constexpr std::string_view kParamHeadersRevision = "2026-07-28";
constexpr int kSessionNotFound = -32001;  // what MCP servers answer with their 404
constexpr std::string_view kTaskNotHeld = "task not held for this caller";
constexpr std::string_view kRevoked = "revoked by a policy reload";
constexpr std::string_view kUnverifiedHeader =
    "the decision depends on a header the relay cannot check";

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
    case mcp::Target::kTask:
      return "task";
    case mcp::Target::kNone:
      break;
  }
  return {};
}

// Headers whose values nothing in the body confirms: the policy may read them only where its
// decision does not hang on them (McpExchange::judge). The policy asks with lower-case names.
struct UnverifiedHidden {
  policy::KeyLookup headers;
  bool hide_name = false;
  const std::vector<mcp::ParamValue>* params = nullptr;  // those confirmed are not hidden
};

policy::Lookup hide_unverified(const UnverifiedHidden& hidden, std::string_view key) {
  if (key.starts_with(kParamPrefix)) {
    const std::string_view name = key.substr(kParamPrefix.size());
    const bool confirmed =
        hidden.params != nullptr &&
        std::any_of(hidden.params->begin(), hidden.params->end(),
                    [&](const mcp::ParamValue& p) { return p.header_checked && p.header == name; });
    if (!confirmed) return policy::Lookup::absent();
  }
  if (hidden.hide_name && key == "mcp-name") return policy::Lookup::absent();
  return hidden.headers(key);
}

// mcp.param["name"]: the value the call's arguments give a declared header (the policy asks
// with lower-case names); a rule asking of a tool whose declarations the relay does not hold
// is noted, so the call is refused rather than decided without them.
struct ParamLookup {
  const std::vector<mcp::ParamValue>* values = nullptr;
  bool unknown = false;
  mutable bool asked_unknown = false;
};

policy::Lookup find_param(const ParamLookup& params, std::string_view key) {
  if (params.unknown) {
    params.asked_unknown = true;
    return policy::Lookup::absent();
  }
  if (params.values == nullptr) return policy::Lookup::absent();
  for (const mcp::ParamValue& p : *params.values) {
    if (p.header == key) return policy::Lookup::found(p.value);
  }
  return policy::Lookup::absent();
}

// The request's Mcp-Param-* headers, names without the prefix (at most kMaxParamHeaders).
std::size_t param_headers(const http::RequestHead& head,
                          std::array<mcp::ParamHeader, kMaxParamHeaders>& out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < head.header_count && count < out.size(); ++i) {
    const std::string_view name = head.headers[i].name;
    if (name.size() > kParamPrefix.size() &&
        http::iequals(name.substr(0, kParamPrefix.size()), kParamPrefix)) {
      out[count++] = {name.substr(kParamPrefix.size()), head.headers[i].value};
    }
  }
  return count;
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
  unverified_headers_ = false;
  param_values_.clear();
  params_unknown_ = false;
  listed_schemas_.clear();
  watched_tool_.clear();
  created_task_.clear();
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

McpExchange::Verdict McpExchange::judge(const mcp::Message& message) const {
  Verdict verdict;
  if (message.target == mcp::Target::kTask) {
    // Only the caller who started a task may touch it, and as the tool that created it.
    const std::optional<std::string_view> tool =
        worker_.mcp_tasks().tool_of(tunnel_name_, message.task_id, subject_, worker_.now_ms());
    if (!tool) {
      verdict.refusal = kTaskNotHeld;
      return verdict;
    }
    verdict.task_tool = *tool;
  }
  if (message.method == "subscriptions/listen") {
    // Task notifications carry a task's whole state: only for tasks the caller may poll.
    const std::optional<std::vector<std::string>> ids = mcp::listen_task_ids(message.raw);
    if (!ids) {
      verdict.refusal = kTaskNotHeld;
      return verdict;
    }
    for (const std::string& id : *ids) {
      if (!allows_entry(mcp::ListKind::kTasks, id)) {
        verdict.refusal = kTaskNotHeld;
        return verdict;
      }
    }
  }
  bool params_unknown = false;
  verdict.decision = decide(message, verdict.task_tool, false, &params_unknown);
  if (params_unknown) {
    verdict.decision.allowed = false;
    verdict.refusal = kUnverifiedHeader;
    return verdict;
  }
  if (unverified_headers_ &&
      decide(message, verdict.task_tool, true).allowed != verdict.decision.allowed) {
    verdict.decision.allowed = false;
    verdict.refusal = kUnverifiedHeader;
  }
  return verdict;
}

policy::AccessDecision McpExchange::decide(const mcp::Message& message, std::string_view task_tool,
                                           bool hide_unverified_headers,
                                           bool* params_unknown) const {
  policy::AccessContext context = access_.context();
  mcp::fill_access_context(message, protocol_version_, session_id_, context);
  if (!task_tool.empty()) context.mcp_tool = task_tool;
  UnverifiedHidden hidden{context.http_headers, true, &param_values_};
  if (hide_unverified_headers) {
    context.http_headers = policy::KeyLookup::bind<&hide_unverified>(hidden);
  }
  // Only a lone call's arguments were checked; a call in a batch has no mcp.param to give.
  ParamLookup params{&param_values_, message.target == mcp::Target::kTool &&
                                         (params_unknown_ || inspection_.batch())};
  if (message.target == mcp::Target::kTool) {
    context.mcp_params = policy::KeyLookup::bind<&find_param>(params);
  }
  policy::AccessDecision decision = worker_.policy().decide_access(context);
  if (params_unknown != nullptr) *params_unknown = params.asked_unknown;
  return decision;
}

bool McpExchange::check_params(const mcp::Message& message) {
  const std::vector<mcp::ParamDeclaration>* declarations =
      worker_.mcp_params().find(tunnel_name_, message.name);
  if (declarations == nullptr) {
    params_unknown_ = true;
    return true;
  }
  std::array<mcp::ParamHeader, kMaxParamHeaders> headers{};
  const std::size_t count = param_headers(head_, headers);
  mcp::ParamCheck check =
      mcp::check_param_headers(*declarations, message.raw, message.id_raw, {headers.data(), count},
                               protocol_version_ >= kParamHeadersRevision);
  if (!check.error.ok()) {
    ++worker_.counters().mcp.param_mismatch;
    ++worker_.counters().mcp.requests_refused;
    worker_.logs().push(log::JsonLine("request_refused")
                            .add("name", tunnel_name_)
                            .add("client", source_ip_)
                            .add("tool", message.name)
                            .add("reason", check.error.counter)
                            .add("detail", check.error.message)
                            .add("request_id", request_id_)
                            .finish());
    refuse(400, mcp::make_error_body(check.error), false);
    return false;
  }
  param_values_ = std::move(check.values);
  return true;
}

bool McpExchange::param_header_verified(std::string_view lower_name) const {
  return std::any_of(param_values_.begin(), param_values_.end(), [&](const mcp::ParamValue& p) {
    return p.header_checked && p.header == lower_name;
  });
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
    case mcp::ListKind::kTasks: {
      // Shown only to the caller who holds it, and only while its tool may be polled.
      const std::optional<std::string_view> tool =
          worker_.mcp_tasks().tool_of(tunnel_name_, name, subject_, worker_.now_ms());
      if (!tool) return false;
      context.mcp_method = "tasks/get";
      context.mcp_tool = *tool;
      context.mcp_task = name;
      break;
    }
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
  const std::string_view name_header = header(head_, "mcp-name");
  const mcp::RpcError mismatch =
      mcp::check_mcp_headers(inspection_, header(head_, "mcp-method"), name_header);
  if (!mismatch.ok()) {
    ++counters.requests_refused;
    refuse(400, mcp::make_error_body(mismatch), false);
    return Dispatch::kAnswered;
  }
  if (!inspection_.batch()) {
    const mcp::Message& message = inspection_.messages().front();
    if (message.target == mcp::Target::kTool && message.kind == mcp::MessageKind::kRequest &&
        message.method == "tools/call" && !check_params(message)) {
      return Dispatch::kAnswered;
    }
  }
  // What the body cannot confirm: an Mcp-Name on a method off the table (check_mcp_headers
  // passed it, so this is a single message), and an Mcp-Param-* header check_params did not
  // confirm (no declaration of the tool names it, or the relay does not hold the tool's).
  std::array<mcp::ParamHeader, kMaxParamHeaders> headers{};
  const std::size_t param_count = param_headers(head_, headers);
  bool unconfirmed_param = false;
  std::string lower;
  for (std::size_t i = 0; i < param_count; ++i) {
    lower.assign(headers[i].name);
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (!param_header_verified(lower)) unconfirmed_param = true;
  }
  unverified_headers_ =
      unconfirmed_param ||
      (!name_header.empty() && !inspection_.batch() &&
       mcp::mcp_name_source(inspection_.messages().front().method) == mcp::NameSource::kNone);
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
  bool unverifiable = false;
  for (std::size_t i = 0; i < count; ++i) {
    const mcp::Message& message = messages[i];
    const Verdict verdict = judge(message);
    const policy::AccessDecision& decision = verdict.decision;
    allowed[i] = decision.allowed;
    ++counters.messages;
    if (!decision.allowed) ++counters.messages_denied;
    if (message.target == mcp::Target::kTool) {
      counters.count_tool_call(message.name, decision.allowed);
    }
    if (verdict.refusal == kTaskNotHeld) ++counters.task_refused;
    if (verdict.refusal == kUnverifiedHeader) unverifiable = true;
    Record& record = records_.emplace_back();
    record.method.assign(message.method);
    record.target = message.target;
    record.target_name.assign(message.target_name());
    record.task_tool.assign(verdict.task_tool);
    record.allowed = decision.allowed;
    record.outcome = decision.outcome;
    record.refusal = verdict.refusal;
    record.rule.assign(decision.rule_id);
    record.raw = message.raw;
  }
  if (unverifiable) {
    // Forwarding would let a header the server may read otherwise than the relay decide.
    ++counters.header_unverifiable;
    refuse(400,
           mcp::make_jsonrpc_error(messages.front().id_raw, mcp::kHeaderMismatch,
                                   "Header mismatch: the policy's decision depends on a header "
                                   "the relay cannot check against the body"),
           false);
    return Dispatch::kAnswered;
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
      std::string denied =
          records_.front().refusal == kTaskNotHeld && message.kind == mcp::MessageKind::kRequest
              ? mcp::make_jsonrpc_error(message.id_raw, mcp::kInvalidParams, mcp::kTaskNotFound)
              : mcp::make_denied_answer(message, deny_code);
      const int status = denied.empty() ? 202 : 200;
      refuse(status, std::move(denied), false);
      return Dispatch::kAnswered;
    }
    initialize_ = message.method == "initialize" && message.kind == mcp::MessageKind::kRequest;
    if (message.target == mcp::Target::kTool && message.kind == mcp::MessageKind::kRequest) {
      watched_tool_.assign(message.name);  // its answer may be a task: bind it to this caller
      plan_.watch_task = true;
    }
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
  const auto mode = rewriter_.start(std::move(plan_), head, head_.version_minor == 1, keep_alive,
                                    mcp::NameFilter(this, &McpExchange::allows_entry_thunk)
                                        .with_schemas(&McpExchange::listed_schema_thunk),
                                    mcp::kDefaultMaxListBytes, head_out);
  if (mode == McpResponseRewriter::Mode::kObserve) {
    http::write_visitor_response_head(head, keep_alive, head_out);  // the body goes on unchanged
  }
  plan_ = McpResponsePlan{};
  return true;
}

void McpExchange::listed_schema_thunk(const void* self, std::string_view tool,
                                      std::string_view input_schema) noexcept {
  const auto* exchange = static_cast<const McpExchange*>(self);
  if (exchange->listed_schemas_.size() >= kMaxListedSchemas) return;  // the rest stay unknown
  ListedSchema& listed = exchange->listed_schemas_.emplace_back();
  listed.tool.assign(tool);
  if (input_schema.size() > mcp::kMaxParamSchemaBytes) {
    listed.too_large = true;
  } else if (input_schema.find("x-mcp-header") != std::string_view::npos ||
             input_schema.find('\\') != std::string_view::npos) {
    listed.schema.assign(input_schema);  // the key may be spelt with escapes
  }
}

void McpExchange::learn_listed_schemas() {
  McpParamTable& table = worker_.mcp_params();
  for (ListedSchema& listed : listed_schemas_) {
    mcp::ParamScan scan;
    if (listed.too_large) {
      scan.outcome = mcp::ParamScan::Outcome::kUnreadable;
    } else if (!listed.schema.empty()) {
      scan = mcp::scan_param_schema(mcp::padded(listed.schema));
    }
    table.learn(tunnel_name_, listed.tool, std::move(scan));
  }
  listed_schemas_.clear();
}

void McpExchange::bind_created_task() {
  std::optional<mcp::CreatedTask> created = rewriter_.take_created_task();
  if (!created) return;
  if (worker_.mcp_tasks().bind(tunnel_name_, created->task_id, subject_, watched_tool_,
                               created->ttl_ms, worker_.now_ms())) {
    ++worker_.counters().mcp.tasks_bound;
    created_task_ = std::move(created->task_id);
  }
}

bool McpExchange::response_body(std::string_view framed, std::string& out) {
  const bool ok = rewriter_.body(framed, out);
  bind_created_task();
  learn_listed_schemas();  // before `out` is sent: the client learns the id only once it is held
  if (ok) return true;
  ++worker_.counters().mcp.streams_cut;
  return false;
}

void McpExchange::response_end(std::string& out) {
  rewriter_.finish(out);
  bind_created_task();
  learn_listed_schemas();
}

bool McpExchange::recheck() {
  const auto messages = inspection_.messages();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const mcp::Message& message = messages[i];
    if (message.kind == mcp::MessageKind::kResponse) continue;
    const Verdict verdict = judge(message);
    if (verdict.decision.allowed) continue;
    // The stream ends: its audit line says the reload took back what was allowed.
    for (Record& record : records_) {
      if (record.raw.data() != message.raw.data() || !record.allowed) continue;
      record.allowed = false;
      record.outcome = verdict.decision.outcome;
      record.refusal = kRevoked;
      record.rule.assign(verdict.decision.rule_id);
    }
    return false;
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
          .add("reason",
               record.refusal.empty() ? policy::to_string(record.outcome) : record.refusal)
          .add("rule", record.rule)
          .add("tunnel", tunnel_name_)
          .add("class", tunnel_class_)
          .add("subject", subject_.empty() ? std::string_view("anonymous") : subject_)
          .add("source", source_ip_)
          .add("mcp_method", record.method);
      if (record.target != mcp::Target::kNone) {
        line.add(target_field(record.target), record.target_name);
      }
      if (!record.task_tool.empty()) line.add("tool", record.task_tool);
      if (record.target == mcp::Target::kTool && !created_task_.empty()) {
        line.add("task", created_task_);  // the task this call created
      }
      if (!protocol_version_.empty()) line.add("protocol_version", protocol_version_);
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
