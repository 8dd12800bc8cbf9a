/// Strict-Transport-Security (HSTS, RFC 6797): tells browsers that a host is reached over
/// HTTPS only, so a later `http://` link or a network that strips TLS cannot downgrade them.
///
/// The relay adds it to every answer it writes itself over TLS (errors, metadata documents,
/// refusals) and, with `[https] hsts_on_services`, to services' responses that carry none
/// (a service's own value always wins). Never over plain HTTP: RFC 6797 section 7.2 forbids
/// it there (the 400 "use https://" on the HTTPS port and the plain-HTTP admin API go
/// without). `includeSubDomains` suits a relay's own domain, whose names are all tunnels on
/// this same HTTPS port; an operator whose DOMAIN also has plain-HTTP hosts below it leaves
/// it out.
#pragma once

#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::http {

/// Two years (what browsers' preload lists ask for), and every name below the host.
inline constexpr std::string_view kDefaultStrictTransportSecurity =
    "max-age=63072000; includeSubDomains";

/// Checks a configured value: directives separated by `;`, `max-age=SECONDS` exactly once
/// (unquoted digits), `includeSubDomains` and `preload` at most once each, nothing else
/// (a misspelt directive would be ignored by browsers without a word). Names are
/// case-insensitive. The error says what is wrong in words.
Status check_strict_transport_security(std::string_view value);

/// "Strict-Transport-Security: VALUE\r\n", or "" for an empty value (HSTS off).
std::string strict_transport_security_field(std::string_view value);

}  // namespace tg::http
