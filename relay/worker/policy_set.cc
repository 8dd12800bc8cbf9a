#include "relay/worker/policy_set.h"

namespace tg {

Result<std::shared_ptr<const PolicySet>> load_policy_set(const std::string& path,
                                                         const identity::JwksLoader& load,
                                                         identity::JwtOptions options) {
  policy::Policy rules;
  if (!path.empty()) {
    auto loaded = policy::load_policy(path);
    if (!loaded) return loaded.error();
    rules = std::move(*loaded);
  }
  auto sources = identity::build_sources(rules.identity(), load, options);
  if (!sources) return make_error(path + ": " + sources.error().message);
  return std::make_shared<const PolicySet>(PolicySet{std::move(rules), std::move(*sources)});
}

}  // namespace tg
