/// What a client says about itself: a Dynamic Client Registration request (RFC 7591 §2) or a
/// Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document). Pure parsers
/// over the JSON bytes, strict and bounded: at most kMaxRegistrationBytes, at most
/// kMaxRedirectUris redirect URIs, each checked by check_redirect_uri (redirect_uri.h); a
/// client that asks for anything but the code flow as a public client is refused, so what is
/// registered is exactly what the endpoints enforce.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::auth {

inline constexpr std::size_t kMaxRegistrationBytes = 16 * 1024;
inline constexpr std::size_t kMaxRedirectUris = 8;
inline constexpr std::size_t kMaxClientNameBytes = 200;

struct ClientMetadata {
  std::string client_id;  // a metadata document's own client_id ("" in a registration request)
  std::string client_name;
  std::vector<std::string> redirect_uris;
};

/// A DCR request body. Errors are phrases for error_description; those about the redirect
/// URIs start with "redirect_uris" (invalid_redirect_uri), the rest are invalid_client_metadata.
Result<ClientMetadata> parse_registration_request(std::string_view json);

/// A Client ID Metadata Document fetched from `url`: its `client_id` must be `url`.
Result<ClientMetadata> parse_client_metadata_document(std::string_view json, std::string_view url);

}  // namespace tg::auth
