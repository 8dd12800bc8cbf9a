/// McpExchange: the MCP side of one visitor request on an MCP tunnel.
///
/// A tunnel is MCP when an access rule says `mcp = true` or its class is `agent`
/// (Worker::is_mcp). On such a tunnel every request with a body (every POST, and anything
/// else carrying a body: failing closed) is read whole, up to `[mcp] max_body`, before a byte
/// of it is forwarded; Content-Length and chunked bodies alike, a chunked one forwarded with
/// the Content-Length of exactly the bytes that were inspected. The body is inspected
/// (mcp::inspect_request, in place), the `Mcp-Method` / `Mcp-Name` headers are checked
/// against it, and each JSON-RPC message is decided by the policy with the mcp.* attributes
/// filled in. Allowed messages go to the publisher; denied ones are answered by the relay (200
/// with a JSON-RPC error carrying the same id, so the client's session survives; 202 for a
/// lone notification), a batch split between the two. What cannot be trusted gets 400 with a
/// JSON-RPC error and nothing is forwarded. Requests without a body (the GET event stream,
/// DELETE) are decided as ordinary requests (mcp.* absent).
///
/// It also owns the response side of the exchange (McpResponseRewriter: filtered lists, the
/// relay's answers merged into a batch's), the session binding (Mcp-Session-Id bound to the
/// subject that initialized it, in the worker's McpSessionTable), and the audit: one line per
/// JSON-RPC message, written when the exchange ends, with its status and duration.
///
/// Ownership and cost: one per visitor connection, created on its first MCP request and
/// reused (its buffers keep their capacity); it lives on the connection's worker. The body
/// buffer is capped by max_body, the response buffer by mcp::kDefaultMaxListBytes. A request
/// costs one copy of its head (for deciding after the body) and, per message, a policy
/// decision on a copied context. Nothing here blocks or throws; refusals are values.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"
#include "relay/mcp/list_filter.h"
#include "relay/mcp/mcp.h"
#include "relay/mcp/params.h"
#include "relay/policy/policy.h"
#include "relay/proxy/caller.h"
#include "relay/proxy/mcp_response.h"
#include "relay/proxy/request_access.h"

namespace tg {

class Worker;
struct Tunnel;

class McpExchange {
 public:
  explicit McpExchange(Worker& worker) : worker_(worker) {}
  McpExchange(const McpExchange&) = delete;
  McpExchange& operator=(const McpExchange&) = delete;

  /// The relay's own response to this request.
  struct Answer {
    int status = 0;
    std::string body;    // JSON; empty for a 202
    bool close = false;  // part of the body was left unread: the connection must close
  };

  enum class Start : std::uint8_t {
    kOrdinary,  // no body: decide and forward it like any request
    kReadBody,  // read the body with collect()
    kAnswered,  // send answer() (a session that is not the caller's, a body over the limit)
  };
  /// A request head on an MCP tunnel. The head's views must stay valid for the exchange.
  /// `caller` is who the relay checked the request's credentials to be; its identity is
  /// copied, as messages and list entries are decided after the request head is gone. With
  /// `challenge_anonymous` (an anonymous caller where a credential could change the answer),
  /// a body whose every message is denied is answered 401 instead (Dispatch::kChallenge).
  Start begin(const http::RequestHead& head, const Tunnel& tunnel, const Caller& caller,
              bool challenge_anonymous, const ConnectionFacts& connection,
              std::string_view source_ip, std::string_view request_id);

  enum class Body : std::uint8_t { kNeedMore, kComplete, kRefused };
  /// Moves body bytes from the front of `in` into the exchange. kRefused: send answer().
  Body collect(std::string& in);

  enum class Dispatch : std::uint8_t { kForward, kAnswered, kChallenge };
  /// With the whole body in: inspects it and decides each message. kForward: send
  /// forward_head() and forward_body() to the publisher (and read the response through this
  /// exchange); kAnswered: send answer(), nothing is forwarded.
  Dispatch dispatch();
  /// The head to forward: Content-Length of forward_body(), and without Expect when the relay
  /// answered 100 Continue itself.
  http::RequestHead forward_head() const;
  std::string_view forward_body() const { return forward_; }
  const Answer& answer() const { return answer_; }
  /// The caller asked for 100 Continue before sending its body, and the relay will read it.
  bool wants_continue() const { return wants_continue_; }

  /// The publisher's response head. Binds the session an `initialize` created and drops the
  /// one a DELETE ended. False: the response must not reach the visitor (a session id the
  /// publisher handed out that belongs to another subject), answer 502.
  bool on_response_head(const http::ResponseHead& head, bool keep_alive, std::string& head_out);
  McpResponseRewriter::Mode response_mode() const { return rewriter_.mode(); }
  bool response_closes_visitor() const { return rewriter_.closes_visitor(); }
  bool response_body(std::string_view framed, std::string& out);
  void response_end(std::string& out);

  /// After a policy reload, for a stream still open: are the messages that were forwarded
  /// still allowed? (Requests without a body are re-decided by the connection itself.)
  bool inspected() const { return inspected_; }
  bool recheck();

  /// The exchange ended with `status` (0: cut): writes one audit line per message.
  void end(int status, std::uint64_t duration_us);

 private:
  struct Record {
    std::string method;
    mcp::Target target = mcp::Target::kNone;
    std::string target_name;
    std::string task_tool;  // a task method: the tool that created the task
    bool allowed = false;
    policy::AccessOutcome outcome = policy::AccessOutcome::kNoRuleCovers;
    std::string_view refusal;  // the relay's own reason, when not the policy's (static)
    std::string rule;
    std::string_view raw;  // the message's bytes in body_, for its arguments
  };

  /// One message judged: by the policy, or refused by the relay before it (`refusal`).
  struct Verdict {
    policy::AccessDecision decision;
    std::string_view refusal;    // static text; empty when the policy decided
    std::string_view task_tool;  // a task method held for the caller: its tool (valid until
                                 // the task table next changes)
  };

  /// A tool's inputSchema seen in a tools/list result, to learn its Mcp-Param declarations
  /// once the filter is done with the parser.
  struct ListedSchema {
    std::string tool;
    std::string schema;      // "" when it mentions no x-mcp-header (declares none)
    bool too_large = false;  // over mcp::kMaxParamSchemaBytes: unknown
  };

  Answer& refuse(int status, std::string body, bool close);
  Verdict judge(const mcp::Message& message) const;
  /// `hide_unverified`: decide as if the headers the relay cannot check against the body
  /// (Mcp-Param-* not confirmed by check_param_headers, and Mcp-Name on a method off the
  /// table) were absent. `params_unknown`, when given, is set when a rule asked for
  /// mcp.param of a call whose tool's declarations the relay does not hold.
  policy::AccessDecision decide(const mcp::Message& message, std::string_view task_tool,
                                bool hide_unverified = false, bool* params_unknown = nullptr) const;
  /// Checks the single tools/call's Mcp-Param-* headers against its arguments (params.h),
  /// filling param_values_; false (answer() set) when they disagree.
  bool check_params(const mcp::Message& message);
  bool param_header_verified(std::string_view lower_name) const;
  void bind_created_task();
  void learn_listed_schemas();
  static void listed_schema_thunk(const void* self, std::string_view tool,
                                  std::string_view input_schema) noexcept;
  bool allows_entry(mcp::ListKind kind, std::string_view name) const;
  static bool allows_entry_thunk(const void* self, mcp::ListKind kind,
                                 std::string_view name) noexcept;

  Worker& worker_;
  RequestAccess access_;
  http::RequestHead head_;
  std::string tunnel_name_, tunnel_owner_, tunnel_class_;
  std::string subject_, source_ip_, request_id_;
  identity::VerifiedToken token_;  // the caller's token, when it presented one
  bool has_token_ = false;
  std::string api_key_name_;
  bool challenge_anonymous_ = false;
  std::string_view protocol_version_, session_id_;  // views into the head
  bool has_body_ = false;
  bool inspected_ = false;
  bool initialize_ = false;          // a lone initialize: bind the session its response names
  bool unverified_headers_ = false;  // Mcp-Param-*, or an Mcp-Name nothing in the body mirrors
  std::string watched_tool_;         // a lone tools/call: the tool, for the task it may create
  std::string created_task_;         // the task its answer created (for the audit)
  // A lone tools/call: the values its arguments give the tool's declared Mcp-Param headers,
  // or, when the relay does not hold the tool's declarations, params_unknown_.
  std::vector<mcp::ParamValue> param_values_;
  bool params_unknown_ = false;
  mutable std::vector<ListedSchema> listed_schemas_;  // filled from a const filter callback
  bool wants_continue_ = false;

  std::uint64_t remaining_ = 0;  // Content-Length bytes still to read
  http::ChunkedScanner scanner_;
  http::ChunkedDecoder decoder_;
  std::string body_;
  std::string_view forward_;
  std::string forward_storage_;  // a split batch's allowed messages
  mcp::Inspection inspection_;
  Answer answer_;
  McpResponsePlan plan_;
  McpResponseRewriter rewriter_;
  std::vector<Record> records_;
};

}  // namespace tg
