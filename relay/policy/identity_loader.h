/// Reads `[identity]`: the `[[identity.jwt]]` issuers and `[[identity.api_key]]` keys.
/// Internal to the policy loader.
#pragma once

#include <filesystem>

#include "relay/policy/identity.h"
#include "relay/policy/toml_reader.h"

namespace tg::policy {

/// Fills `out` from the document's `identity` table (if any). Relative jwks paths resolve
/// against `folder`. False after recording the error in `reader`.
bool read_identity(TomlReader& reader, const toml::table& root, const std::filesystem::path& folder,
                   Identity& out);

}  // namespace tg::policy
