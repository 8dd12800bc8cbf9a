#include "relay/worker/policy_set.h"

namespace tg {

Result<std::shared_ptr<const PolicySet>> load_policy_set(const std::string& path,
                                                         const identity::JwksLoader& load,
                                                         identity::JwtOptions options,
                                                         const SigninIssuer* signin) {
  policy::Policy rules;
  if (!path.empty()) {
    auto loaded = policy::load_policy(path);
    if (!loaded) return loaded.error();
    rules = std::move(*loaded);
  }
  // The relay's issuer joins the policy's own, with keys no file or URL holds.
  constexpr std::string_view kSigninKeys = "(the relay's sign-in keys)";
  policy::Identity identity = rules.identity();
  bool declared = false;
  for (const policy::JwtIssuer& issuer : identity.jwt) {
    declared = declared || (signin != nullptr && issuer.issuer == signin->issuer);
  }
  if (signin != nullptr && !declared) {
    policy::JwtIssuer relay;
    relay.issuer = signin->issuer;
    relay.jwks = kSigninKeys;
    identity.jwt.push_back(relay);
  }
  const identity::JwksLoader with_signin = [&](const policy::JwtIssuer& issuer) {
    if (signin != nullptr && issuer.issuer == signin->issuer && issuer.jwks == kSigninKeys) {
      return Result<std::string>(signin->jwks);
    }
    return load(issuer);
  };
  auto sources = identity::build_sources(identity, with_signin, options);
  if (!sources) return make_error(path + ": " + sources.error().message);
  return std::make_shared<const PolicySet>(PolicySet{std::move(rules), std::move(*sources)});
}

}  // namespace tg
