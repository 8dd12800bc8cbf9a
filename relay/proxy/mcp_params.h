/// McpParamTable: which tool arguments each MCP tool mirrors in Mcp-Param-* headers, learnt
/// from the tools/list results the relay filters, on one worker.
///
/// The relay checks a tools/call's Mcp-Param-* headers against its arguments as the server
/// would (mcp/params.h), which needs the tool's `x-mcp-header` declarations; a tools/list
/// result carries them in each tool's inputSchema. Whatever a tunnel's server lists last for
/// a tool replaces what it listed before (a tool listed without declarations is held as
/// declaring none). A tool the relay does not hold is unknown: its headers cannot be checked
/// (McpExchange then refuses a request whose decision depends on them).
///
/// Ownership: one table per worker (Worker::mcp_params), reached only from that worker's
/// thread; a tunnel and all its visitor connections live on one worker. No locks.
///
/// Bounds: at most `max_tools` tools over all tunnels (kMaxTools), the least recently listed
/// evicted first; each holds at most mcp::kMaxParamDeclarations declarations of bounded names
/// (params.h), so a tool costs at most a few KiB and usually under 200 bytes. Dropped with
/// their tunnel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/mcp/params.h"

namespace tg {

class McpParamTable {
 public:
  static constexpr std::size_t kMaxTools = 20'000;
  static constexpr std::size_t kMaxToolNameBytes = 256;

  explicit McpParamTable(std::size_t max_tools) : max_tools_(max_tools == 0 ? 1 : max_tools) {}

  /// The declarations of `tool` on `tunnel` (empty: it declares none); nullptr when unknown.
  /// Valid until the table next changes.
  const std::vector<mcp::ParamDeclaration>* find(std::string_view tunnel, std::string_view tool);

  /// Holds what a tools/list says of `tool`: kDeclared and kNone replace what was held,
  /// kUnreadable forgets it (unknown).
  void learn(std::string_view tunnel, std::string_view tool, mcp::ParamScan scan);
  /// Forgets every tool of `tunnel` (it closed, or another publisher took it over).
  void drop_tunnel(std::string_view tunnel);

  std::size_t size() const { return index_.size(); }
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    std::string key;  // tunnel '\n' tool
    std::vector<mcp::ParamDeclaration> declarations;
  };
  using List = std::list<Entry>;  // least recently listed first

  const std::string& key_of(std::string_view tunnel, std::string_view tool);
  void erase(List::iterator entry);

  std::size_t max_tools_;
  List entries_;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Entry::key
  std::string scratch_key_;
  std::uint64_t evicted_ = 0;
};

}  // namespace tg
