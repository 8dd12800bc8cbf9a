/// The admin API's bearer token, read from the file `[admin] token_file` names.
///
/// One reader for everyone who needs the token: `--check-config` and start-up (through
/// check_files), the admin server itself, and `tunnelgate ctl`. So a file that one of them
/// accepts, every other accepts too, with the same message when it does not.
///
/// A token is one word: 16 to 4096 visible ASCII characters (what an `Authorization: Bearer`
/// header can carry), optionally followed by one line end (`\n` or `\r\n`), as `echo` and
/// editors write it. Anything else is refused rather than guessed at: an empty file, a short
/// token, and whitespace or control characters inside or around the token (a file such as
/// "correct horse battery staple" would otherwise be read as a shorter token than the
/// operator wrote, or as one nobody can send).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg {

inline constexpr std::size_t kMinAdminTokenChars = 16;
inline constexpr std::size_t kMaxAdminTokenChars = 4096;

/// The token in `text` (a token file's content); errors name `path`.
Result<std::string> parse_admin_token(std::string_view text, const std::string& path);

/// Reads the token file at `path`; errors read `path: message`.
Result<std::string> read_admin_token(const std::string& path);

}  // namespace tg
