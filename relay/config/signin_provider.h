/// `[[signin.provider]]`: an OpenID Connect provider people sign in through, for the relay's
/// own authorization server (issue 14).
///
/// One table per provider; parse_config reads them (signin_providers.cc) and load_config reads
/// each client secret file. What every key means is in README.md ("Sign-in providers").
#pragma once

#include <string>
#include <vector>

#include "relay/base/result.h"
#include "relay/policy/identity.h"

namespace tg {

struct SigninProvider {
  std::string id;            // short slug: a-z, 0-9 and '-', at most 32, unique
  std::string display_name;  // on the sign-in page; defaults to the id
  std::string issuer;        // https:// URL, exactly as the provider's `iss` says it
  std::string client_id;
  std::string client_secret_file;  // resolved against the config's folder
  std::string client_secret;       // its content, read by load_config (empty after parse_config)
  std::string scopes = "openid email profile";  // space-separated; must include openid
  std::string email_claim = "email";
  std::string groups_claim = "groups";
  std::vector<std::string> allowed_email_domains;  // lower case; empty: any domain
  std::string ca_file = policy::kSystemCaBundle;   // trusted for discovery, JWKS and token TLS
  int line = 0;                                    // of the table's header, for messages
};

/// Longest client secret accepted.
inline constexpr std::size_t kMaxClientSecretChars = 4096;

/// The client secret in the file at `path`: one word of visible ASCII, optionally followed by
/// one line end. Refused when the file can be read by its group or by others (it is a
/// credential), empty, or longer than kMaxClientSecretChars. Errors read `path: message`.
Result<std::string> read_client_secret(const std::string& path);

}  // namespace tg
