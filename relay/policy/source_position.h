/// Where a byte of a TOML string value lies in the file, for `file:line:col` errors.
///
/// toml++ reports where a value starts (its opening quote); an expression error is at a byte
/// offset of the value's decoded text. This re-reads the raw string from the file, decoding
/// as TOML does (escapes in "basic" strings, none in 'literal' ones, the newline trimmed
/// after an opening """ or ''', line-ending backslashes), to map the offset back to a line
/// and a column. Columns count characters (UTF-8 code points) from 1, as toml++ does; an
/// escape is blamed on its backslash. Should the re-read ever disagree with toml++'s value,
/// the answer falls back to the value's line and its column plus the offset.
#pragma once

#include <cstddef>
#include <string_view>

namespace tg::policy {

struct TextPosition {
  int line = 1;
  int column = 1;
};

/// `start` is the value's position as toml++ reports it (the opening quote).
TextPosition locate_in_toml_string(std::string_view document, TextPosition start,
                                   std::string_view decoded, std::size_t offset);

}  // namespace tg::policy
