/// The relay's configuration: a TOML file, or the embedded defaults of `--dev`.
///
/// Every key is documented in README.md. Unknown keys, wrong types, bad values and unreadable
/// files are `file:line: message` errors before anything listens. Relative paths resolve
/// against the config file's folder.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/config/cluster_config.h"
#include "relay/config/signin_client.h"
#include "relay/config/signin_provider.h"
#include "relay/http/path_normalize.h"
#include "relay/http/strict_transport_security.h"
#include "relay/limits/startup_limits.h"
#include "relay/policy/identity.h"
#include "relay/policy/ip_address.h"
#include "tls/tls.h"

namespace tg {

struct ListenAddress {
  std::string host;        // numeric IPv4 or IPv6 ("127.0.0.1", "::1", "0.0.0.0")
  std::uint16_t port = 0;  // 0 is refused
  std::string text;        // as written, for messages
};

/// [signin] (optional): the relay's own authorization server and browser sign-in (README:
/// Sign-in). Off unless the section is present or the relay runs with --dev.
struct SigninSettings {
  bool enabled = false;
  std::string host = "auth";  // the auth host is HOST.DOMAIN, a name no publisher may take
  std::uint32_t access_token_seconds = 3600;        // relay-issued access tokens and tunnel cookies
  std::uint32_t refresh_token_seconds = 2'592'000;  // a refresh-token family's whole life (30 d)
  std::uint32_t session_seconds = 43'200;           // a person's sign-in on the auth host (12 h)
  std::uint32_t code_seconds = 60;                  // authorization codes and hand-offs
  std::uint32_t registrations_per_minute = 60;      // Dynamic Client Registrations, all sources
  std::uint32_t threads = 2;                        // threads serving the auth host (they may block
                                                    // on an upstream provider)
  // Client ID Metadata Documents may resolve to these private addresses (default: none).
  std::vector<policy::Cidr> client_metadata_allow;
  std::string client_metadata_ca = policy::kSystemCaBundle;  // trusted for those fetches
  bool dev_signin = false;            // --dev only: a loopback page that signs in any typed email
  std::vector<SigninClient> clients;  // [[signin.client]]: registered by the operator
};

struct Config {
  std::string source;     // the file it came from ("<dev>" for --dev)
  unsigned workers = 0;   // 0 = one per online core
  std::string domain;     // public names are NAME.DOMAIN
  std::string state_dir;  // holds the stable-name secret (created on first start)

  // [https]
  std::vector<ListenAddress> https_listen;
  std::string https_cert;         // PEM chain covering *.DOMAIN
  std::string https_key;          // PEM key
  std::string https_dev_ca;       // --dev: CA (cert+key PEM) that signs a leaf per name on demand
  std::uint16_t public_port = 0;  // port shown in URLs; 0 = the first https listen port
                                  // (omitted from URLs when 443)
  std::string https_client_ca;    // PEM bundle verifying visitors' client certificates
  tls::ClientCertMode https_client_certs = tls::ClientCertMode::kOff;
  // Peers allowed to (and then required to) open with a PROXY protocol v2 header; empty: off.
  std::vector<policy::Cidr> proxy_protocol_from;
  // Strict-Transport-Security on every answer the relay writes itself over TLS; "" = none.
  // With hsts_on_services, also on services' responses that carry none of their own.
  std::string https_hsts = std::string(http::kDefaultStrictTransportSecurity);
  bool https_hsts_on_services = false;

  // [ssh]
  std::vector<ListenAddress> ssh_listen;
  std::vector<std::string> ssh_host_keys;
  std::string ssh_authorized_keys;
  // Before authentication anyone can hold an SSH connection (README: the SSH port's limits).
  // Open SSH connections from one address (IPv6: one /64), counted by each accepting worker,
  // authenticated or not; 0 = no cap.
  std::uint32_t ssh_max_connections_per_source = 64;
  StartupLimits ssh_max_startups;                  // unauthenticated connections, all workers
  std::uint32_t ssh_login_grace_time_ms = 20'000;  // accept to authenticated, at most

  // [policy] (optional; without it the empty policy applies: nothing is exposed)
  std::string policy_file;
  std::string api_key_header;  // a header carrying an API key as its whole value, lower case;
                               // "" = only Authorization: Bearer tgk_…

  // [log] (optional)
  std::string log_file;            // "" = standard output; reopened on SIGHUP (logrotate)
  std::string log_level = "info";  // debug, info, warn, error

  // [audit] (optional): one JSON line per decision
  std::string audit_file;
  bool audit_required = false;  // refuse new exposures while the trail cannot be written

  // [admin] (optional): the operator's HTTP API, served by worker 0.
  bool admin_enabled = false;
  ListenAddress admin_listen;
  std::string admin_token_file;  // bearer token; required unless admin_listen is loopback

  // [tuning]: what an operator sizes by cores and memory (README: the trade-offs)
  std::vector<unsigned> pin_cpus;        // worker i runs on pin_cpus[i]; empty: worker i on CPU i
  std::uint32_t ring_entries = 4096;     // io_uring submission queue depth per worker
  std::uint32_t receive_buffers = 1024;  // provided receive buffers per worker (power of 2)
  std::uint32_t receive_buffer_size = 16384;           // bytes each
  std::uint32_t connection_buffer_bytes = 256 * 1024;  // per visitor connection, each way
  // Visitor handoffs one worker may have queued for another; the rest of each queue stays
  // free for route updates and admin requests. 0 refuses every handoff (tests only).
  std::uint32_t handoff_queue_entries = 3072;

  // [limits]
  std::uint32_t max_head_bytes = 16 * 1024;  // at most http::kMaxHeadBytes
  std::uint32_t handshake_timeout_ms = 10'000;
  std::uint32_t max_tunnels_per_key = 64;           // names one key may publish at once
  std::uint32_t max_connections_per_tunnel = 4096;  // open visitor connections, per tunnel
  // Open HTTPS connections from one address (IPv6: one /64), counted by each accepting worker;
  // 0 = no cap.
  std::uint32_t max_connections_per_source = 256;
  // Bytes all visitor connections together may hold in their buffers before new connections
  // and requests get 503; 0 = no budget.
  std::uint64_t memory_budget_bytes = std::uint64_t{1} << 30;
  std::uint32_t max_connections_per_key = 16384;  // … to all tunnels of one publisher key
  std::uint32_t header_timeout_ms = 10'000;
  std::uint32_t response_timeout_ms = 60'000;  // request sent to the publisher → its response head
                                               // // a started request head must complete in it
  std::uint32_t idle_timeout_ms = 300'000;      // keep-alive idle between requests
  std::uint32_t body_idle_timeout_ms = 60'000;  // a body that moves no byte either way
  // A GET or HEAD with a body is refused (400) unless this is set: a service that never reads
  // such bodies would run their bytes as a request the relay never decided.
  bool allow_get_head_bodies = false;
  // [mcp] (optional): how MCP tunnels' JSON-RPC traffic is inspected (README: MCP)
  std::uint32_t mcp_max_body = 1 << 20;  // bytes of one POST body read before deciding
  std::int32_t mcp_deny_code = -32602;   // JSON-RPC code answering a denied call
  bool mcp_audit_arguments = false;      // audit lines carry tools/call and prompts/get arguments
  std::vector<std::string> mcp_redact_keys;       // their values become "[redacted]" in the audit
  std::uint32_t mcp_session_idle_ms = 3'600'000;  // a session binding unused this long expires
  std::uint32_t mcp_max_sessions = 100'000;       // session bindings per worker (LRU beyond)

  // [paths] (optional): how request paths are brought to the one form the policy decides on
  // and the service receives (relay/policy/POLICY.md, "Paths")
  http::PathRules path_rules;

  // [[signin.provider]] (optional): OpenID Connect providers people sign in through
  std::vector<SigninProvider> signin_providers;

  // Line of each file-naming key ("https.cert", "ssh.authorized_keys", "ssh.host_keys"…),
  // so errors found when the files are read still point at the config line.
  std::map<std::string, int> key_lines;

  SigninSettings signin;

  std::uint32_t drain_timeout_ms = 30'000;  // SIGTERM: time in-flight requests get to finish

  // [cluster] (optional): one node of several coordinated through etcd; absent: single node
  ClusterConfig cluster;
};

/// Reads and checks a TOML config file. Errors read `file:line: message`.
Result<Config> load_config(const std::string& path);

/// Parses TOML text as if it came from `path` (used by load_config and the tests).
Result<Config> parse_config(std::string_view text, const std::string& path);

/// Reads every file the config names (certificate chain and key, or the dev CA; SSH host keys;
/// authorized_keys) the way the relay will, so that a bad file fails before anything listens.
/// Errors read `config-file:line: message`.
Status check_files(const Config& config);

/// Fills `storage` with the socket address of `address`; returns its length. With
/// `loopback_for_wildcard`, 0.0.0.0 and :: become loopback (for connecting to our own listener).
socklen_t to_sockaddr(const ListenAddress& address, sockaddr_storage& storage,
                      bool loopback_for_wildcard = false);

/// Parses "host:port", "[v6]:port".
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace tg
