/// Cookie headers, read and rewritten: pure functions over the header's bytes.
///
/// A Cookie request header is `name=value` pairs separated by ";" and optional spaces
/// (RFC 6265 §4.2.1; several Cookie fields are joined with "; " before they get here). The
/// relay reads its own cookies from it and removes them before a request reaches the service,
/// so a session cookie never leaves the relay; every other cookie passes untouched, in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::auth {

/// The relay's cookies. `__Host-` makes browsers keep them to the exact host, with `Secure`
/// and `Path=/` (RFC 6265bis §4.1.3.2): a tunnel can never set one for another.
inline constexpr std::string_view kTunnelSessionCookie = "__Host-tg_session";
inline constexpr std::string_view kAuthSessionCookie = "__Host-tg_auth";
inline constexpr std::string_view kConsentCookie = "__Host-tg_consent";

/// The value of the first cookie called `name` in `header`, or "" when there is none. When
/// the same name appears twice the result is "" and `*repeated` (if given) is set: a second
/// copy is how a sibling host would try to plant a value, and the relay then trusts neither.
std::string_view cookie_value(std::string_view header, std::string_view name,
                              bool* repeated = nullptr);

/// `header` without the cookies called `name` ("" when nothing is left).
std::string without_cookie(std::string_view header, std::string_view name);

/// A Set-Cookie field line (with CRLF) for `name=value` on this host only: Path=/, Secure,
/// HttpOnly, SameSite=Lax, Max-Age (0 removes it).
std::string set_cookie_field(std::string_view name, std::string_view value,
                             std::int64_t max_age_seconds);

}  // namespace tg::auth
