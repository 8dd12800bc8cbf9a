/// Internal to relay/config: reads the `[signin]` table's `[[signin.provider]]` entries.
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "relay/base/result.h"
#include "relay/config/signin_provider.h"

namespace tg {

/// Reads `signin` (the value of the top-level key "signin") into `out`. Errors read
/// `path:line: message`; relative paths resolve against `dir`.
Status read_signin_providers(const toml::node& signin, const std::string& path,
                             const std::filesystem::path& dir, std::vector<SigninProvider>& out);

}  // namespace tg
