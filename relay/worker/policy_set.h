/// A loaded policy together with the identity sources it declares: what a worker needs to
/// decide a request, swapped as one on reload so rules and issuers never disagree.
#pragma once

#include <memory>
#include <string>

#include "relay/base/result.h"
#include "relay/identity/sources.h"
#include "relay/policy/policy.h"

namespace tg {

struct PolicySet {
  policy::Policy rules;
  identity::Sources identity;
};

/// The relay's own issuer (sign-in on): its tokens are accepted for every tunnel, as if the
/// policy declared it with these keys.
struct SigninIssuer {
  std::string issuer;
  std::string jwks;
};

/// Loads and compiles `path` and builds its identity sources; "" gives the empty policy
/// (nothing exposed, no one let in) with no sources. Every error names the file and line.
/// `options` go to the JWT verifier.
Result<std::shared_ptr<const PolicySet>> load_policy_set(
    const std::string& path, const identity::JwksLoader& load = identity::read_jwks_file,
    identity::JwtOptions options = {}, const SigninIssuer* signin = nullptr);

}  // namespace tg
