#include "relay/auth/upstream/provider_set.h"

#include <chrono>

namespace tg::auth::upstream {

ProviderSet::ProviderSet(const std::vector<SigninProvider>& providers) {
  for (const SigninProvider& provider : providers) {
    clients_.emplace_back(provider);
    listed_.push_back(
        {provider.id, provider.display_name.empty() ? provider.id : provider.display_name});
  }
}

UpstreamClient* ProviderSet::find(std::string_view id) {
  for (UpstreamClient& client : clients_) {
    if (client.provider().id == id) return &client;
  }
  return nullptr;
}

Result<std::string> ProviderSet::authorization_url(std::string_view id,
                                                   std::string_view redirect_uri,
                                                   std::string_view state, std::string_view nonce,
                                                   std::string_view code_challenge) {
  UpstreamClient* client = find(id);
  if (client == nullptr) return make_error("no such provider");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  return client->authorization_url({std::string(redirect_uri), std::string(state),
                                    std::string(nonce), std::string(code_challenge)},
                                   now);
}

Result<Person> ProviderSet::finish(std::string_view id, std::string_view code,
                                   std::string_view redirect_uri, std::string_view code_verifier,
                                   std::string_view nonce, std::int64_t now) {
  UpstreamClient* client = find(id);
  if (client == nullptr) return make_error("no such provider");
  auto identity = client->exchange(code, code_verifier, redirect_uri, nonce, now);
  if (!identity) return identity.error();
  for (const std::string& group : identity->groups) {
    // Groups travel joined by this byte in sealed values (grants.h).
    if (group.find('\x1f') != std::string::npos) {
      return make_error("a group name holds a control byte");
    }
  }
  Person person;
  person.sub = client->provider().id + ":" + identity->sub;
  person.email = identity->email;
  person.name = identity->name;
  person.idp = client->provider().id;
  person.groups = std::move(identity->groups);
  return person;
}

}  // namespace tg::auth::upstream
