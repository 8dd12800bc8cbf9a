/// Public names of tunnels: validation of requested names and stable names for keys.
///
/// A requested name must be one DNS label. A publisher that asks for no name (`-R 80:…` or
/// `-R 0:…`) gets its key's stable name: a keyed hash of the key's fingerprint under a secret
/// of the relay, so the URL is the same on every reconnect and relay restart, cannot be
/// guessed from the key alone, and uses an alphabet without look-alike characters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg {

/// nullopt when `name` is a valid DNS label ([a-z0-9-]{1,63}, no leading or trailing
/// hyphen, lower case); otherwise the reason, in words for the publisher's terminal.
std::optional<std::string> validate_name(std::string_view name);

/// The stable name of `key_fingerprint` (e.g. "SHA256:…") under `secret`: 12 characters from
/// "abcdefghijkmnpqrstuvwxyz23456789" (no 0/o, 1/l), always starting with a letter.
/// `index` 0 is the name itself; 1, 2, … give the numbered variants "<name>-2", "<name>-3", …
/// for further anonymous forwards in the same connection.
std::string stable_name(std::string_view key_fingerprint, std::string_view secret,
                        unsigned index = 0);

/// Lower-cases ASCII and strips one trailing dot; used on SNI and Host before lookup.
std::string normalize_host(std::string_view host);

/// Splits "NAME.DOMAIN[:port]" into NAME when the rest is exactly `domain` (case-insensitive,
/// port ignored); nullopt otherwise.
std::optional<std::string_view> name_under_domain(std::string_view host, std::string_view domain);

}  // namespace tg
