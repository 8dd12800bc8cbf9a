// upstream_probe: drives relay/auth/upstream against a real OpenID provider, for
// tests/integration/test_oidc_upstream.py, before the relay's own sign-in endpoints use it.
//
//   upstream_probe start  PROVIDERS.toml STATE_FILE REDIRECT_URI
//       prints the authorization URL; saves state, nonce and PKCE verifier to STATE_FILE
//   upstream_probe finish PROVIDERS.toml STATE_FILE CALLBACK_URL [--nonce NONCE]
//       checks the callback's state, exchanges its code and prints the verified identity as
//       JSON; --nonce replaces the saved nonce (to provoke a mismatch)
//
// PROVIDERS.toml holds [[signin.provider]] tables exactly as the relay's config does (the
// first is used). Errors go to standard error, one line, with exit status 1.
#include <sys/random.h>
#include <toml++/toml.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "relay/auth/form_fields.h"
#include "relay/auth/pkce.h"
#include "relay/auth/upstream/upstream_client.h"
#include "relay/config/signin_providers_reader.h"
#include "relay/identity/base64url.h"

namespace {

using tg::auth::upstream::UpstreamClient;

int fail(const std::string& message) {
  std::cerr << message << "\n";
  return 1;
}

std::string random_token() {
  std::uint8_t bytes[32];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) std::abort();
  return tg::identity::encode_base64url(std::span<const std::uint8_t>(bytes, sizeof bytes));
}

tg::Result<tg::SigninProvider> load_provider(const std::string& path) {
  try {
    toml::table root = toml::parse_file(path);
    const toml::node* signin = root.get("signin");
    if (signin == nullptr) return tg::make_error(path + ": no [signin]");
    std::vector<tg::SigninProvider> providers;
    if (tg::Status read = tg::read_signin_providers(
            *signin, path, std::filesystem::path(path).parent_path(), providers);
        !read) {
      return read.error();
    }
    auto secret = tg::read_client_secret(providers[0].client_secret_file);
    if (!secret) return secret.error();
    providers[0].client_secret = *secret;
    return providers[0];
  } catch (const toml::parse_error& e) {
    return tg::make_error(path + ": " + std::string(e.description()));
  }
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int probe(int argc, char** argv) {
  if (argc < 5) return fail("usage: upstream_probe start|finish PROVIDERS.toml STATE_FILE URL");
  const std::string command = argv[1], state_file = argv[3], url = argv[4];
  auto provider = load_provider(argv[2]);
  if (!provider) return fail(provider.error().message);
  UpstreamClient client(*provider);
  const std::int64_t now = std::time(nullptr);

  if (command == "start") {
    const std::string state = random_token(), nonce = random_token(), verifier = random_token();
    auto authorization =
        client.authorization_url({url, state, nonce, tg::auth::s256_challenge(verifier)}, now);
    if (!authorization) return fail(authorization.error().message);
    std::ofstream(state_file) << state << "\n" << nonce << "\n" << verifier << "\n" << url << "\n";
    std::cout << *authorization << "\n";
    return 0;
  }
  if (command != "finish") return fail("unknown command " + command);
  std::ifstream saved(state_file);
  std::string state, nonce, verifier, redirect_uri;
  std::getline(saved, state);
  std::getline(saved, nonce);
  std::getline(saved, verifier);
  std::getline(saved, redirect_uri);
  if (argc == 7 && std::string(argv[5]) == "--nonce") nonce = argv[6];
  const std::size_t query = url.find('?');
  if (query == std::string::npos) return fail("callback: no query");
  auto fields = tg::auth::FormFields::parse(std::string_view(url).substr(query + 1));
  if (!fields) return fail("callback: " + fields.error().message);
  if (fields->find("error") != nullptr) {
    return fail("callback: the provider answered " + std::string(fields->get("error")));
  }
  if (fields->get("state") != state) return fail("callback: state does not match");
  auto person = client.exchange(fields->get("code"), verifier, redirect_uri, nonce, now);
  if (!person) return fail(person.error().message);
  std::string groups;
  for (const std::string& group : person->groups) {
    groups += (groups.empty() ? "" : ",") + json_string(group);
  }
  std::cout << "{\"sub\":" << json_string(person->sub)
            << ",\"email\":" << json_string(person->email)
            << ",\"email_verified\":" << (person->email_verified ? "true" : "false")
            << ",\"groups\":[" << groups << "],\"name\":" << json_string(person->name)
            << ",\"idp\":" << json_string(person->idp) << "}\n";
  return 0;
}

}  // namespace

// Out of memory and the like end the test tool with a message rather than an abort.
int main(int argc, char** argv) {
  try {
    return probe(argc, argv);
  } catch (const std::exception& e) {
    return fail(std::string("upstream_probe: ") + e.what());
  }
}
