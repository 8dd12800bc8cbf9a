/// The Origin check: the DNS-rebinding defence every tunnel gets.
///
/// A browser sends `Origin` with cross-origin requests (and with every POST). A page on some
/// other site, or one that rebinds its own DNS name to the relay, must not drive a published
/// localhost service with the visitor's browser: a request whose Origin is present must name
/// the tunnel itself (its public URL's `https://NAME.DOMAIN[:PORT]`) or one of the `origins`
/// of the access rules covering it (POLICY.md); anything else, `null` included, gets 403.
/// Requests without Origin (curl, SDK clients, servers) are not affected. Compared ASCII
/// case-insensitively, as browsers serialise origins in lower case but operators may not.
#pragma once

#include <span>
#include <string_view>

namespace tg {

/// `tunnel_url` is the tunnel's public URL as printed ("https://notes.example.com/").
bool origin_allowed(std::string_view origin, std::string_view tunnel_url,
                    std::span<const std::string_view> allowed);

}  // namespace tg
