/// Request paths in one normal form, the same for the policy and for the service.
///
/// A rule such as `deny = ['http.path.startsWith("/admin")']` is only as good as the path it
/// reads. Visitors can spell one path many ways (`/%61dmin`, `/./admin`, `/x/../admin`,
/// `/%2e/admin`, `//admin`), and the web framework behind a tunnel reads most of them as
/// `/admin`. So the relay decides each request on the normal form of its path and forwards
/// exactly that form: what the policy judged is what the service routes. Paths that have no
/// safe normal form are refused (400) instead of guessed at.
///
/// The normal form, in RFC 3986 section 6.2.2 order:
/// 1. percent-encoding: escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded,
///    every other escape keeps its byte with upper-case hex (`%c3` is `%C3`);
/// 2. repeated slashes are one (`merge_slashes`, on by default, like nginx; Envoy's
///    `merge_slashes` does the same);
/// 3. dot segments are removed (section 5.2.4), also those spelled with escapes (`%2e%2E`);
///    a `..` above the root stays at the root.
/// The query string is kept byte for byte: it is the service's to read.
///
/// Refused, as nginx and HAProxy's strict normalisers refuse them: a `%` without two hex
/// digits, `%00`. Refused by default, with a setting to relax each (Envoy's
/// `path_with_escaped_slashes_action`): `%2F` and `%5C` (an escaped `/` or `\`, which some
/// services decode into a separator after the policy has looked) and a raw `\` (which browsers'
/// URL parsers, Node's `new URL` among them, IIS and Envoy read as `/`).
///
/// Pure and allocation-free beyond the caller's string (reused from request to request):
/// one pass to normalise escapes, one in place over the segments. The result is never longer
/// than the input, and normalising it again changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::http {

/// What `%2F` and `%5C` become.
enum class EscapedSlashes : std::uint8_t {
  kReject,  // 400 (default)
  kKeep,    // kept escaped (`%2F`): not a separator to the policy; the service decides
  kDecode,  // decoded: `%2F` is a `/` and normalised as one; `%5C` is a `\` (see Backslash)
};

/// What a `\` in the path becomes.
enum class Backslash : std::uint8_t {
  kReject,  // 400 (default)
  kKeep,    // an ordinary byte of its segment
  kSlash,   // a `/`, as WHATWG URL parsers, IIS and Envoy read it
};

struct PathRules {
  bool merge_slashes = true;
  EscapedSlashes escaped_slashes = EscapedSlashes::kReject;
  Backslash backslash = Backslash::kReject;
};

/// Why a path has no normal form. kNone: it has one.
enum class PathRefusal : std::uint8_t {
  kNone,
  kBadPercentEncoding,  // `%` not followed by two hex digits
  kEncodedNul,          // `%00`
  kEscapedSlash,        // `%2F` or `%5C` under EscapedSlashes::kReject
  kBackslash,           // `\` (or a decoded `%5C`) under Backslash::kReject
  kInvalidByte,         // a byte no request-target may hold (the head parser refuses these first)
  kNotOriginForm,       // neither `/…` nor `*`
  kCount,
};

/// "bad_percent_encoding", "encoded_nul", "escaped_slash", "backslash", "invalid_byte",
/// "not_origin_form": the `reason` of logs and metrics.
std::string_view to_string(PathRefusal refusal);

struct RequestHead;

/// Writes the normal form of the request-target `target` (origin form, query included, or
/// `*`) into `out`, replacing what it held. `*` is kept as it is. On a refusal `out` holds
/// nothing useful.
PathRefusal normalize_target(std::string_view target, const PathRules& rules, std::string& out);

/// Brings a parsed head's `target` to its normal form, written into `storage` (which `target`
/// then views: keep it unchanged while the head is used). `raw_target` keeps what was sent.
/// On a refusal the head is left as it was.
PathRefusal normalize_request_target(RequestHead& head, const PathRules& rules,
                                     std::string& storage);

}  // namespace tg::http
