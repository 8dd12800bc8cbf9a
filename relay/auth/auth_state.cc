#include "relay/auth/auth_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tg::auth {
namespace {

bool parse_number(std::string_view text, std::int64_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

AuthState::AuthState(std::string families_path, std::uint32_t registrations_per_minute)
    : families_path_(std::move(families_path)),
      registrations_per_minute_(registrations_per_minute) {}

Status AuthState::load(std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (families_path_.empty()) return Ok{};
  // Lines: "open FAMILY EXPIRES", "gen FAMILY N", "revoke FAMILY". Unknown or broken lines
  // (a crash in the middle of an append) are skipped: at worst a family is forgotten, which
  // signs its holder out; never one revived.
  std::ifstream in(families_path_);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string verb, family, number;
    words >> verb >> family >> number;
    std::int64_t value = 0;
    if (verb == "open" && parse_number(number, value)) {
      families_[family] = Family{0, value};
    } else if (verb == "gen" && parse_number(number, value) && value >= 0) {
      auto it = families_.find(family);
      if (it != families_.end()) it->second.generation = static_cast<std::uint64_t>(value);
    } else if (verb == "revoke") {
      families_.erase(family);
    }
  }
  std::erase_if(families_, [now](const auto& entry) { return entry.second.expires <= now; });
  // Compact: one "open" and one "gen" per live family.
  const std::string temporary = families_path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return make_error(temporary + ": cannot write: " + std::strerror(errno));
    for (const auto& [family, state] : families_) {
      out << "open " << family << ' ' << state.expires << "\ngen " << family << ' '
          << state.generation << '\n';
    }
    if (!out.flush()) return make_error(temporary + ": cannot write: " + std::strerror(errno));
  }
  ::chmod(temporary.c_str(), 0600);
  if (std::rename(temporary.c_str(), families_path_.c_str()) != 0) {
    return make_error(families_path_ + ": cannot replace: " + std::strerror(errno));
  }
  return Ok{};
}

void AuthState::append(const std::string& line) {
  if (families_path_.empty()) return;
  // One write of a whole line with O_APPEND: lines from two threads never interleave.
  const int fd = ::open(families_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

void AuthState::drop_expired_ids(std::int64_t now) {
  while (!one_time_expiry_.empty() && one_time_expiry_.begin()->first <= now) {
    one_time_ids_.erase(one_time_expiry_.begin()->second);
    one_time_expiry_.erase(one_time_expiry_.begin());
  }
}

bool AuthState::use_once(std::string_view id, std::int64_t expires, std::int64_t now) {
  std::lock_guard lock(mutex_);
  drop_expired_ids(now);
  if (expires <= now || one_time_ids_.size() >= kMaxOneTimeIds) return false;
  const auto [it, fresh] = one_time_ids_.emplace(std::string(id), expires);
  if (!fresh) return false;
  one_time_expiry_.emplace(expires, it->first);
  return true;
}

Status AuthState::open_family(std::string_view family, std::int64_t expires) {
  {
    std::lock_guard lock(mutex_);
    if (families_.size() >= kMaxFamilies) {
      // The one closest to its end makes room: it had the least life left to lose.
      auto oldest = families_.begin();
      for (auto it = families_.begin(); it != families_.end(); ++it) {
        if (it->second.expires < oldest->second.expires) oldest = it;
      }
      families_.erase(oldest);
    }
    families_[std::string(family)] = Family{0, expires};
    append("open " + std::string(family) + " " + std::to_string(expires) + "\n");
  }
  return Ok{};
}

AuthState::Rotation AuthState::rotate(std::string_view family, std::uint64_t generation,
                                      std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(std::string(family));
  if (it == families_.end()) return Rotation::kUnknown;
  if (it->second.expires <= now) {
    families_.erase(it);
    return Rotation::kUnknown;
  }
  if (generation != it->second.generation) {
    // A token of this family was used twice: one of the two holders is not its client.
    // OAuth 2.1 §4.3.1 / the security BCP: revoke the whole family.
    families_.erase(it);
    append("revoke " + std::string(family) + "\n");
    return Rotation::kReused;
  }
  ++it->second.generation;
  append("gen " + std::string(family) + " " + std::to_string(it->second.generation) + "\n");
  return Rotation::kRotated;
}

bool AuthState::revoke_family(std::string_view family) {
  std::lock_guard lock(mutex_);
  if (families_.erase(std::string(family)) == 0) return false;
  append("revoke " + std::string(family) + "\n");
  return true;
}

bool AuthState::allow_registration(std::int64_t now) {
  std::lock_guard lock(mutex_);
  const std::int64_t minute = now / 60;
  if (minute != registration_minute_) {
    registration_minute_ = minute;
    registrations_this_minute_ = 0;
  }
  if (registrations_this_minute_ >= registrations_per_minute_) return false;
  ++registrations_this_minute_;
  return true;
}

std::size_t AuthState::live_families() const {
  std::lock_guard lock(mutex_);
  return families_.size();
}

}  // namespace tg::auth
