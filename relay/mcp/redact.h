/// Call arguments for the audit trail, with secrets taken out.
///
/// With `[mcp] audit_arguments = true` an audit line carries the `params.arguments` of a
/// tools/call or prompts/get. Arguments often hold credentials, so the value of every member
/// whose key is one of `[mcp] redact_keys` (compared ASCII case-insensitively, after JSON
/// unescaping, at any depth, in objects nested in arrays too) is replaced by "[redacted]".
/// The output is the arguments re-emitted compactly (whitespace between tokens dropped;
/// strings, numbers and literals copied byte for byte).
///
/// The input must be a message inspect_request accepted: valid JSON, no repeated keys, nested
/// at most Limits::max_depth deep. This walks it with a small scanner of its own rather than a
/// second simdjson pass: audit lines are written after the response, off the decision's path.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace tg::mcp {

/// Appends the JSON text of `message_raw`'s `params.arguments` with redact_keys' values
/// replaced, and returns true; false (nothing appended) when there is no params.arguments.
/// Arguments whose JSON text is longer than `max_bytes` are replaced as a whole by the string
/// "[omitted: N bytes]", so an audit line stays bounded.
bool append_audit_arguments(std::string_view message_raw, std::span<const std::string> redact_keys,
                            std::size_t max_bytes, std::string& out);

}  // namespace tg::mcp
