#include "relay/proxy/mcp_sessions.h"

namespace tg {

bool McpSessionTable::valid_session_id(std::string_view id) {
  // MCP: "only visible ASCII characters (0x21 to 0x7E)".
  if (id.empty() || id.size() > kMaxSessionIdBytes) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

const std::string& McpSessionTable::key_of(std::string_view tunnel, std::string_view session_id) {
  scratch_key_.assign(tunnel);
  scratch_key_.push_back('\n');  // never in a tunnel name nor in a valid session id
  scratch_key_.append(session_id);
  return scratch_key_;
}

McpSessionTable::Check McpSessionTable::check(std::string_view tunnel, std::string_view session_id,
                                              std::string_view subject, std::uint64_t now_ms) {
  if (!valid_session_id(session_id)) return Check::kUnknown;
  auto it = index_.find(key_of(tunnel, session_id));
  if (it == index_.end()) return Check::kUnknown;
  Entry& entry = *it->second;
  if (now_ms - entry.last_used_ms >= idle_ms_) {
    entries_.erase(it->second);
    index_.erase(it);
    return Check::kUnknown;
  }
  if (entry.subject != subject) return Check::kOtherSubject;  // its clock does not restart
  entry.last_used_ms = now_ms;
  entries_.splice(entries_.end(), entries_, it->second);
  return Check::kBound;
}

bool McpSessionTable::bind(std::string_view tunnel, std::string_view session_id,
                           std::string_view subject, std::uint64_t now_ms) {
  if (!valid_session_id(session_id)) return false;
  const std::string& key = key_of(tunnel, session_id);
  if (auto it = index_.find(key); it != index_.end()) {
    if (it->second->subject != subject) return false;
    it->second->last_used_ms = now_ms;
    entries_.splice(entries_.end(), entries_, it->second);
    return true;
  }
  expire(now_ms);
  while (index_.size() >= max_entries_ && !entries_.empty()) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
    ++evicted_;
  }
  entries_.push_back(Entry{key, std::string(subject), now_ms});
  auto last = std::prev(entries_.end());
  index_.emplace(last->key, last);
  return true;
}

void McpSessionTable::drop(std::string_view tunnel, std::string_view session_id) {
  if (!valid_session_id(session_id)) return;
  auto it = index_.find(key_of(tunnel, session_id));
  if (it == index_.end()) return;
  auto entry = it->second;
  index_.erase(it);
  entries_.erase(entry);
}

void McpSessionTable::drop_tunnel(std::string_view tunnel) {
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

void McpSessionTable::expire(std::uint64_t now_ms) {
  while (!entries_.empty() && now_ms - entries_.front().last_used_ms >= idle_ms_) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
  }
}

}  // namespace tg
