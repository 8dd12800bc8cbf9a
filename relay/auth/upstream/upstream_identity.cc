// verify_id_token: a one-issuer JwtVerifier for the signature and the registered claims, then
// the OpenID checks it does not make (nonce, azp) and the mapping of the provider's claims.
#include "relay/auth/upstream/upstream_identity.h"

#include <algorithm>

#include "relay/auth/upstream/json_members.h"
#include "relay/identity/base64url.h"
#include "relay/identity/jwt_verifier.h"

namespace tg::auth::upstream {
namespace {

Error refused(std::string_view why) {
  return make_error("id_token: " + std::string(why));
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

std::string_view found_or_empty(const policy::Lookup& lookup) {
  return lookup.state == policy::Lookup::State::kFound ? lookup.value : std::string_view{};
}

}  // namespace

bool email_domain_allowed(std::string_view email, const std::vector<std::string>& domains) {
  if (domains.empty()) return true;
  const std::size_t at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string domain(email.substr(at + 1));
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return std::find(domains.begin(), domains.end(), domain) != domains.end();
}

Result<UpstreamIdentity> verify_id_token(std::string_view id_token, std::string_view jwks_json,
                                         const SigninProvider& provider,
                                         std::string_view expected_nonce, std::int64_t now) {
  policy::Identity identity;
  policy::JwtIssuer issuer;
  issuer.issuer = provider.issuer;
  issuer.jwks = provider.issuer;  // named only in messages: the text comes from `jwks_json`
  issuer.audiences = {provider.client_id};
  identity.jwt.push_back(std::move(issuer));
  identity::JwtOptions options;
  options.leeway_seconds = kIdTokenLeewaySeconds;
  auto verifier = identity::JwtVerifier::create(
      identity,
      [&](const policy::JwtIssuer&) -> Result<std::string> { return std::string(jwks_json); },
      options);
  if (!verifier) return refused("the provider's keys: " + verifier.error().message);
  auto token = verifier->verify(id_token, "", now);
  if (!token) return refused(token.error().message);

  const std::string_view azp = found_or_empty(token->claim("azp"));
  if (token->audiences().size() > 1 && azp.empty()) {
    return refused("several audiences and no azp");
  }
  if (!azp.empty() && azp != provider.client_id) return refused("azp is another client");
  const std::string_view nonce = found_or_empty(token->claim("nonce"));
  if (nonce.empty()) return refused("no nonce");
  if (!equal_in_constant_time(nonce, expected_nonce)) return refused("nonce does not match");
  if (token->subject().empty()) return refused("no sub");

  UpstreamIdentity person;
  person.sub = token->subject();
  person.idp = provider.id;
  const policy::Lookup email = token->claim(provider.email_claim);
  if (email.state == policy::Lookup::State::kUnusable) {
    return refused("the email claim \"" + provider.email_claim + "\" is not a string");
  }
  if (email.state == policy::Lookup::State::kAbsent) {
    return refused("no email claim \"" + provider.email_claim +
                   "\" (is the email scope asked for?)");
  }
  person.email = email.value;
  const std::string_view verified = found_or_empty(token->claim("email_verified"));
  if (verified == "false") return refused("the provider says the email is not verified");
  person.email_verified = verified == "true";
  if (!email_domain_allowed(person.email, provider.allowed_email_domains)) {
    return refused("the email's domain is not allowed for provider \"" + provider.id + "\"");
  }
  person.name = found_or_empty(token->claim("name"));

  // Groups are an array, which VerifiedToken's claim() does not give out: read them from the
  // payload the verifier has just accepted.
  const std::size_t first_dot = id_token.find('.');
  const std::size_t second_dot = id_token.find('.', first_dot + 1);
  auto payload =
      identity::decode_base64url(id_token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return refused("malformed payload");
  Status groups = read_json_members(*payload, {{provider.groups_claim, nullptr, &person.groups}});
  if (!groups) return refused("groups: " + groups.error().message);
  return person;
}

}  // namespace tg::auth::upstream
