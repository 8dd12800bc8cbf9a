/// The operator's providers as the sign-in endpoints use them (auth_server.h's Upstreams): one
/// UpstreamClient per `[[signin.provider]]`, owned by one sign-in thread (each thread has its
/// own set: the clients cache discovery and keys without locks).
#pragma once

#include <span>
#include <vector>

#include "relay/auth/auth_server.h"
#include "relay/auth/upstream/upstream_client.h"

namespace tg::auth::upstream {

class ProviderSet final : public Upstreams {
 public:
  explicit ProviderSet(const std::vector<SigninProvider>& providers);

  std::span<const Provider> providers() const override { return listed_; }
  Result<std::string> authorization_url(std::string_view id, std::string_view redirect_uri,
                                        std::string_view state, std::string_view nonce,
                                        std::string_view code_challenge) override;
  /// The person: `sub` is "ID:upstream-sub" (unique across providers), `idp` the provider's id.
  Result<Person> finish(std::string_view id, std::string_view code, std::string_view redirect_uri,
                        std::string_view code_verifier, std::string_view nonce,
                        std::int64_t now) override;

 private:
  UpstreamClient* find(std::string_view id);
  std::vector<UpstreamClient> clients_;
  std::vector<Provider> listed_;
};

}  // namespace tg::auth::upstream
