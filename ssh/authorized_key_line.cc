#include "ssh/authorized_key_line.h"

#include <cstdint>

namespace tg::ssh {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view skip_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  return text;
}

std::string_view next_word(std::string_view& text) {
  text = skip_spaces(text);
  std::size_t end = 0;
  while (end < text.size() && !is_space(text[end])) ++end;
  const std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  return word;
}

// Options the relay satisfies whatever they say: it offers no pty, agent or X11 forwarding
// and runs no rc file; the FIDO flags concern how the client signs, which it already did.
bool harmless(std::string_view option) {
  for (std::string_view name : {"no-pty", "no-agent-forwarding", "no-x11-forwarding", "no-user-rc",
                                "no-touch-required", "verify-required"}) {
    if (option.size() == name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        const char c = option[i];
        same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == name[i];
      }
      if (same) return true;
    }
  }
  return false;
}

}  // namespace

KeyLine parse_authorized_key_line(std::string_view line, bool (*is_key_type)(std::string_view)) {
  KeyLine result;
  std::string_view rest = skip_spaces(line);
  if (rest.empty() || rest.front() == '#') return result;

  std::string_view probe = rest;
  if (!is_key_type(next_word(probe))) {
    // The options field: up to the first unquoted space, split at unquoted commas.
    bool quoted = false;
    std::size_t start = 0, i = 0;
    for (; i <= rest.size(); ++i) {
      const bool end = i == rest.size() || (!quoted && is_space(rest[i]));
      if (i < rest.size() && rest[i] == '\\' && quoted && i + 1 < rest.size() &&
          rest[i + 1] == '"') {
        ++i;
        continue;
      }
      if (i < rest.size() && rest[i] == '"') quoted = !quoted;
      if (end && quoted) {
        result.kind = KeyLine::Kind::kError;
        result.error = "an option's quoted string is not closed";
        return result;
      }
      if (end || (!quoted && rest[i] == ',')) {
        const std::string_view option = rest.substr(start, i - start);
        const std::string_view name = option.substr(0, option.find('='));
        if (!harmless(option)) {
          result.kind = KeyLine::Kind::kError;
          result.error = "the option \"" + std::string(name.substr(0, 64)) +
                         "\" restricts this key, and tunnelgate cannot honour it: remove it, "
                         "and say what the key may publish in the policy instead";
          return result;
        }
        start = i + 1;
        if (end) break;
      }
    }
    rest.remove_prefix(i);
  }
  const std::string_view type = next_word(rest);
  const std::string_view base64 = next_word(rest);
  if (!is_key_type(type) || base64.empty()) {
    result.kind = KeyLine::Kind::kError;
    result.error = "no key type and key found";
    return result;
  }
  result.kind = KeyLine::Kind::kKey;
  result.type = type;
  result.base64 = base64;
  return result;
}

}  // namespace tg::ssh
