// parse_token_response: read_json_members over the body, then the OAuth rules.
#include "relay/auth/upstream/token_response.h"

#include <strings.h>

#include "relay/auth/upstream/json_members.h"

namespace tg::auth::upstream {
namespace {

// Printable ASCII only, at most `limit` characters: a provider's words in our log line.
std::string sanitised(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char c : text.substr(0, limit)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > limit) out += "…";
  return out;
}

}  // namespace

Result<TokenResponse> parse_token_response(int status, std::string_view json) {
  TokenResponse response;
  std::string token_type, error, description;
  Status read = read_json_members(json, {{"id_token", &response.id_token},
                                         {"access_token", &response.access_token},
                                         {"token_type", &token_type},
                                         {"error", &error},
                                         {"error_description", &description}});
  if (status != 200) {
    if (!read || error.empty()) {
      return make_error("token endpoint: HTTP " + std::to_string(status));
    }
    std::string message = "token endpoint: " + sanitised(error, 64);
    if (!description.empty()) message += " (" + sanitised(description, 200) + ")";
    return make_error(message);
  }
  if (!read) return make_error("token endpoint: " + read.error().message);
  if (!error.empty()) return make_error("token endpoint: " + sanitised(error, 64));
  if (strcasecmp(token_type.c_str(), "bearer") != 0) {
    return make_error("token endpoint: token_type is not Bearer");
  }
  if (response.id_token.empty()) return make_error("token endpoint: no id_token");
  return response;
}

}  // namespace tg::auth::upstream
