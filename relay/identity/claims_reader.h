/// Internal to relay/identity: reads a JWT payload (JSON) into a VerifiedToken, before the
/// verifier has checked anything but its shape. Duplicate claim names and well-known claims of
/// the wrong type (`exp` as a string, `groups` as an object) are errors; other claims of any
/// type are kept for `jwt.claims`.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string_view>

#include "relay/base/result.h"
#include "relay/identity/verified_token.h"

namespace tg::identity {

/// At most this many top-level claims in a payload.
inline constexpr std::size_t kMaxClaims = 256;

class ClaimsReader {
 public:
  /// `json` must be followed by simdjson::SIMDJSON_PADDING readable bytes.
  static Status read(simdjson::ondemand::parser& parser, std::string_view json, VerifiedToken& out);
};

}  // namespace tg::identity
