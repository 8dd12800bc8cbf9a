#include "relay/proxy/mcp_params.h"

namespace tg {

const std::string& McpParamTable::key_of(std::string_view tunnel, std::string_view tool) {
  scratch_key_.assign(tunnel);
  scratch_key_.push_back('\n');  // never in a tunnel name, so the tool name may hold anything
  scratch_key_.append(tool);
  return scratch_key_;
}

void McpParamTable::erase(List::iterator entry) {
  index_.erase(entry->key);
  entries_.erase(entry);
}

const std::vector<mcp::ParamDeclaration>* McpParamTable::find(std::string_view tunnel,
                                                              std::string_view tool) {
  if (tool.empty() || tool.size() > kMaxToolNameBytes) return nullptr;
  const auto it = index_.find(key_of(tunnel, tool));
  return it == index_.end() ? nullptr : &it->second->declarations;
}

void McpParamTable::learn(std::string_view tunnel, std::string_view tool, mcp::ParamScan scan) {
  if (tool.empty() || tool.size() > kMaxToolNameBytes) return;
  const std::string& key = key_of(tunnel, tool);
  if (auto it = index_.find(key); it != index_.end()) {
    if (scan.outcome == mcp::ParamScan::Outcome::kUnreadable) {
      erase(it->second);
      return;
    }
    it->second->declarations = std::move(scan.declarations);
    entries_.splice(entries_.end(), entries_, it->second);
    return;
  }
  if (scan.outcome == mcp::ParamScan::Outcome::kUnreadable) return;
  while (index_.size() >= max_tools_ && !entries_.empty()) {
    erase(entries_.begin());
    ++evicted_;
  }
  entries_.push_back(Entry{key, std::move(scan.declarations)});
  auto last = std::prev(entries_.end());
  index_.emplace(last->key, last);
}

void McpParamTable::drop_tunnel(std::string_view tunnel) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const std::string_view key = it->key;
    if (key.size() > tunnel.size() && key[tunnel.size()] == '\n' && key.starts_with(tunnel)) {
      index_.erase(key);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace tg
