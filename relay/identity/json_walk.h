/// Internal to relay/identity: strict reading of small JSON documents with simdjson On-Demand.
///
/// On-Demand validates only what is read, so the identity code reads everything: values it
/// does not use are walked by `walk_json_value` (bounded depth), and objects whose member
/// names repeat are refused (`has_duplicate`), because two readers of the same token could
/// otherwise pick different copies of `exp` or `sub`.
#pragma once

#include <simdjson.h>

#include <string_view>
#include <vector>

namespace tg::identity::detail {

/// Nesting allowed inside a token or JWKS member before the document is refused.
inline constexpr int kMaxJsonDepth = 16;

/// Reads `value` to its end, checking it is well formed and not nested deeper than
/// kMaxJsonDepth (counting from `depth`). False on any error.
bool walk_json_value(simdjson::ondemand::value value, int depth = 0) noexcept;

/// True when the whole document has been read: nothing follows the root value.
bool at_document_end(simdjson::ondemand::document& document) noexcept;

/// True when two of `names` are equal. Reorders `names`.
bool has_duplicate(std::vector<std::string_view>& names);

/// True when `text` is exactly one JSON number (RFC 8259 §6). Checked here rather than with
/// simdjson 3.0's get_number, which refuses valid integers beyond 64 bits.
bool is_json_number(std::string_view text);

/// The text of the number `value` (validated with is_json_number), without consuming it; ""
/// when it is not one. Callers move on without reading the value: On-Demand skips it.
std::string_view json_number_text(simdjson::ondemand::value& value) noexcept;

/// `text` without trailing JSON whitespace (On-Demand's raw number tokens keep it).
std::string_view trim_json_space(std::string_view text);

}  // namespace tg::identity::detail
