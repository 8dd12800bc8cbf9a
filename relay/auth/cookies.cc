#include "relay/auth/cookies.h"

#include <cstdint>

namespace tg::auth {
namespace {

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Calls `visit(pair, name, value)` for each ";"-separated pair, trimmed.
template <typename Visit>
void for_each_cookie(std::string_view header, Visit&& visit) {
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    const std::string_view pair = trim_spaces(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    const std::string_view name =
        trim_spaces(equals == std::string_view::npos ? pair : pair.substr(0, equals));
    const std::string_view value = equals == std::string_view::npos
                                       ? std::string_view()
                                       : trim_spaces(pair.substr(equals + 1));
    visit(pair, name, value);
  }
}

}  // namespace

std::string_view cookie_value(std::string_view header, std::string_view name, bool* repeated) {
  std::string_view found;
  int count = 0;
  for_each_cookie(header, [&](std::string_view, std::string_view key, std::string_view value) {
    if (key != name) return;
    if (++count == 1) found = value;
  });
  if (repeated != nullptr) *repeated = count > 1;
  if (count > 1) return {};
  // A quoted value (RFC 6265 allows DQUOTE around cookie-octets).
  if (found.size() >= 2 && found.front() == '"' && found.back() == '"') {
    found = found.substr(1, found.size() - 2);
  }
  return found;
}

std::string without_cookie(std::string_view header, std::string_view name) {
  std::string out;
  for_each_cookie(header, [&](std::string_view pair, std::string_view key, std::string_view) {
    if (key == name) return;
    if (!out.empty()) out.append("; ");
    out.append(pair);
  });
  return out;
}

std::string set_cookie_field(std::string_view name, std::string_view value,
                             std::int64_t max_age_seconds) {
  std::string field = "set-cookie: ";
  field.append(name).append("=").append(value);
  field.append("; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=");
  field.append(std::to_string(max_age_seconds < 0 ? 0 : max_age_seconds));
  field.append("\r\n");
  return field;
}

}  // namespace tg::auth
