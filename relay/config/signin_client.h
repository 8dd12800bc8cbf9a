/// `[[signin.client]]`: an OAuth client the operator registers with the relay's authorization
/// server ahead of time (a company's own MCP client, an IDE build), checked before Client ID
/// Metadata Documents and Dynamic Client Registration.
///
/// A client with `secret_file` is confidential: the token endpoint wants its secret
/// (client_secret_basic or client_secret_post); one without is public (PKCE alone).
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "relay/base/result.h"

namespace tg {

struct SigninClient {
  std::string id;    // the client_id: 1 to 200 visible characters, not starting with "https://"
                     // or "tgc1." (those are the other two ways a client is known)
  std::string name;  // shown on the consent page; defaults to the id
  std::vector<std::string> redirect_uris;  // each one check_redirect_uri accepts
  std::string secret_file;                 // "" for a public client
  std::string secret;                      // its content, read by load_config
  int line = 0;
};

/// Reads the `client` array of the `[signin]` table into `out`. Errors read
/// `path:line: message`; relative paths resolve against `dir`.
Status read_signin_clients(const toml::table& signin, const std::string& path,
                           const std::filesystem::path& dir, std::vector<SigninClient>& out);

}  // namespace tg
