/// Redirect URIs: where the authorization endpoint may send a code, and so the one thing that
/// keeps a code from being delivered to an attacker.
///
/// Registration (`check_redirect_uri`) accepts only what OAuth 2.1 and RFC 8252 allow a
/// client to name: `https://` with a host, `http://` to a loopback host (127.0.0.1, [::1] or
/// localhost: native and CLI MCP clients listen there), or a private-use scheme in reverse
/// domain form (`com.example.app:/cb`, RFC 8252 §7.1; the dot also rules out `javascript:`,
/// `data:` and `file:`). No fragment, no user information, printable ASCII only.
///
/// Matching (`redirect_uri_matches`) is exact string comparison, with the one exception RFC
/// 8252 §7.3 makes: for a loopback `http://` URI the port may differ, because a native client
/// picks a free port each time. Host, path and query must still be identical.
#pragma once

#include <string_view>

#include "relay/base/result.h"

namespace tg::auth {

enum class RedirectUriKind { kHttps, kLoopbackHttp, kPrivateUseScheme };

inline constexpr std::size_t kMaxRedirectUriBytes = 2048;

/// The kind of a redirect URI a client may register, or why it may not.
Result<RedirectUriKind> check_redirect_uri(std::string_view uri);

/// True when `presented` (from an authorization or token request) is the registered URI.
bool redirect_uri_matches(std::string_view registered, std::string_view presented);

}  // namespace tg::auth
