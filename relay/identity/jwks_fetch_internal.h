/// Pieces shared by the files of jwks_fetch.h. Internal to relay/identity.
#pragma once

#include <string>
#include <string_view>

namespace tg::identity::detail {

/// `url` as an error may quote it: printable ASCII only ('?' for the rest), cut at 200.
std::string quote_url(std::string_view url);

}  // namespace tg::identity::detail
