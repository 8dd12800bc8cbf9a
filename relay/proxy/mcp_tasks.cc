#include "relay/proxy/mcp_tasks.h"

namespace tg {

const std::string& McpTaskTable::key_of(std::string_view tunnel, std::string_view task_id) {
  scratch_key_.assign(tunnel);
  scratch_key_.push_back('\n');  // never in a tunnel name, so the task id may hold anything
  scratch_key_.append(task_id);
  return scratch_key_;
}

void McpTaskTable::erase(List::iterator entry) {
  index_.erase(entry->key);
  entries_.erase(entry);
}

std::optional<std::string_view> McpTaskTable::tool_of(std::string_view tunnel,
                                                      std::string_view task_id,
                                                      std::string_view subject,
                                                      std::uint64_t now_ms) {
  if (task_id.empty() || task_id.size() > kMaxTaskIdBytes) return std::nullopt;
  auto it = index_.find(key_of(tunnel, task_id));
  if (it == index_.end()) return std::nullopt;
  const Entry& entry = *it->second;
  if (now_ms >= entry.expires_ms) {
    erase(it->second);
    return std::nullopt;
  }
  if (entry.subject != subject) return std::nullopt;
  return std::string_view(entry.tool);
}

bool McpTaskTable::bind(std::string_view tunnel, std::string_view task_id, std::string_view subject,
                        std::string_view tool, std::optional<std::uint64_t> ttl_ms,
                        std::uint64_t now_ms) {
  if (task_id.empty() || task_id.size() > kMaxTaskIdBytes) return false;
  const std::uint64_t expires_ms = now_ms + ttl_ms.value_or(default_ttl_ms_);
  const std::string& key = key_of(tunnel, task_id);
  if (auto it = index_.find(key); it != index_.end()) {
    Entry& entry = *it->second;
    if (now_ms < entry.expires_ms && entry.subject != subject) return false;
    entry.subject.assign(subject);
    entry.tool.assign(tool);
    entry.expires_ms = expires_ms;
    entries_.splice(entries_.end(), entries_, it->second);
    return true;
  }
  // Expired bindings at the front go first; then, when still full, the oldest.
  while (!entries_.empty() && now_ms >= entries_.front().expires_ms) erase(entries_.begin());
  while (index_.size() >= max_entries_ && !entries_.empty()) {
    erase(entries_.begin());
    ++evicted_;
  }
  entries_.push_back(Entry{key, std::string(subject), std::string(tool), expires_ms});
  auto last = std::prev(entries_.end());
  index_.emplace(last->key, last);
  return true;
}

void McpTaskTable::drop_tunnel(std::string_view tunnel) {
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
