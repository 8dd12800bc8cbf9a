/// The identity sources of one loaded policy, ready to check credentials: the JWT verifier
/// over every `[[identity.jwt]]` issuer's JWKS, and the `[[identity.api_key]]` table.
///
/// Built with each policy load (and again when a fetched JWKS changes), immutable afterwards,
/// shared by all workers beside the policy it came from.
#pragma once

#include "relay/base/result.h"
#include "relay/identity/api_keys.h"
#include "relay/identity/jwt_verifier.h"
#include "relay/policy/identity.h"

namespace tg::identity {

struct Sources {
  JwtVerifier jwt;
  ApiKeys api_keys;
  /// Any source at all: without one, no request can carry an identity the relay accepts.
  bool any() const { return jwt.issuer_count() > 0 || api_keys.size() > 0; }
};

/// Verifier and key table for `identity`; an issuer whose JWKS cannot be had fails the whole
/// load ("issuer "…" (line N): …"), as a policy must not load with an issuer it cannot check.
Result<Sources> build_sources(const policy::Identity& identity,
                              const JwksLoader& load = read_jwks_file, JwtOptions options = {});

}  // namespace tg::identity
