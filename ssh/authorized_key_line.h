/// One line of an OpenSSH authorized_keys file, split into its parts without libssh.
///
/// The format is `[options] keytype base64 [comment]`, where options are comma-separated
/// and may hold double-quoted strings with spaces (and `\"`), so the key type is the first
/// word after the options field, never a word found inside a quoted option. The relay
/// publishes on what the key may do by policy, not by these options: an option that
/// restricts what a key may do (from=, command=, permitlisten=, no-port-forwarding,
/// restrict, expiry-time=, …) cannot be honoured here, so a line carrying one is refused at
/// load rather than accepted with the restriction silently dropped. Options the relay
/// satisfies by its nature (it never offers a pty, agent or X11 forwarding, nor runs
/// ~/.ssh/rc) are accepted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::ssh {

struct KeyLine {
  enum class Kind : std::uint8_t { kBlank, kKey, kError };
  Kind kind = Kind::kBlank;
  std::string_view type;    // kKey: "ssh-ed25519", …
  std::string_view base64;  // kKey
  std::string error;        // kError: what is wrong, without the file and line
};

/// Splits `line` (no newline). `is_key_type` says whether a word names a key type.
KeyLine parse_authorized_key_line(std::string_view line, bool (*is_key_type)(std::string_view));

}  // namespace tg::ssh
