// read_admin_token: the token file's rules in one place (admin_token.h says which).
#include "relay/admin/admin_token.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace tg {
namespace {

Error refuse(const std::string& path, const std::string& problem) {
  return make_error(path + ": " + problem + " (a token is one word of " +
                    std::to_string(kMinAdminTokenChars) + " to " +
                    std::to_string(kMaxAdminTokenChars) +
                    " visible ASCII characters; one line end after it is allowed)");
}

}  // namespace

Result<std::string> parse_admin_token(std::string_view text, const std::string& path) {
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return refuse(path, "the admin token file is empty");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7f) {
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      return refuse(path, std::string("the admin token holds ") +
                              (space ? "whitespace" : "a control or non-ASCII byte") +
                              " at character " + std::to_string(i + 1));
    }
  }
  if (text.size() < kMinAdminTokenChars || text.size() > kMaxAdminTokenChars) {
    return refuse(path, "the admin token has " + std::to_string(text.size()) + " characters");
  }
  return std::string(text);
}

Result<std::string> read_admin_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read the admin token: " + std::strerror(errno));
  // A little past the longest token and its line end, so an oversized file is refused
  // without being read whole.
  std::string text(kMaxAdminTokenChars + 3, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return make_error(path + ": cannot read the admin token: " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_admin_token(text, path);
}

}  // namespace tg
