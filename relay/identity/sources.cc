#include "relay/identity/sources.h"

namespace tg::identity {

Result<Sources> build_sources(const policy::Identity& identity, const JwksLoader& load,
                              JwtOptions options) {
  auto verifier = JwtVerifier::create(identity, load, options);
  if (!verifier) return verifier.error();
  return Sources{std::move(*verifier), ApiKeys(identity.api_keys)};
}

}  // namespace tg::identity
