/// HTTP/1.1 framing for the reverse proxy: pure functions over byte views.
///
/// The proxy never trusts a byte it has not framed itself. These parsers read a request or
/// response head and say exactly how its body is delimited, reject anything that two
/// parsers could frame differently (request smuggling), and never allocate: results are
/// views into the caller's buffer, valid as long as that buffer is. Each parser answers
/// "need more bytes", "bad, with the status to send", or "complete, N bytes consumed", and
/// is called again from the start with more bytes (heads are small; rescanning is cheaper
/// than keeping state).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tg::http {

inline constexpr std::size_t kMaxHeadBytes = 16 * 1024;
inline constexpr std::size_t kMaxHeaders = 100;

struct Header {
  std::string_view name;   // as sent (case preserved); compare case-insensitively
  std::string_view value;  // leading and trailing whitespace trimmed
};

enum class ParseState { kIncomplete, kComplete, kError };

/// How a message body is delimited.
enum class BodyFraming {
  kNone,        // no body (GET without length, 204, 304, HEAD responses, 1xx)
  kLength,      // Content-Length bytes
  kChunked,     // Transfer-Encoding: chunked (the only transfer coding accepted)
  kUntilClose,  // responses only: the body runs until the publisher closes
};

struct RequestHead {
  std::string_view method;
  std::string_view target;      // origin-form path and query ("/mcp?x=1"); absolute-form is
                                // accepted and reduced to its path when its host matches `host`;
                                // normalize_request_target (path_normalize.h) then brings it to
                                // the normal form the policy and the service see
  std::string_view raw_target;  // the request-target exactly as sent (absolute-form too)
  int version_minor = 1;        // HTTP/1.<version_minor>; only 1.0 and 1.1 are accepted
  std::array<Header, kMaxHeaders> headers{};
  std::size_t header_count = 0;

  std::string_view host;  // the Host header (required for HTTP/1.1), port included
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;   // with kLength (0 too: "Content-Length: 0" is kLength)
  bool keep_alive = true;             // after this exchange (Connection: close, HTTP/1.0 rules)
  bool expect_continue = false;       // Expect: 100-continue
  bool upgrade = false;               // Connection: upgrade with an Upgrade header
  std::string_view upgrade_protocol;  // the Upgrade header's value
};

struct ResponseHead {
  int status = 0;
  std::string_view reason;
  int version_minor = 1;
  std::array<Header, kMaxHeaders> headers{};
  std::size_t header_count = 0;

  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;  // with kLength; with kNone, what a HEAD or 304 states
  bool keep_alive = true;            // the publisher's side may be reused after this response

  /// Set by the proxy, never by the parser: a Strict-Transport-Security value the relay adds
  /// for the visitor (`[https] hsts_on_services`, the service having sent none).
  std::string_view added_strict_transport_security;
};

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  std::size_t consumed = 0;       // with kComplete: bytes of the head, CRLFCRLF included
  int error_status = 0;           // with kError: 400, 431 (head too large), 501 (unknown TE),
                                  // 505 (version)
  std::string_view error_reason;  // with kError: a short static reason for logs and bodies
};

/// Parses a request head at the start of `bytes`. kIncomplete while no blank line has arrived
/// and fewer than kMaxHeadBytes bytes are present; kError 431 past that.
/// Rejected with 400: bare LF line ends, obs-fold, whitespace before a colon, control or NUL
/// bytes in names or values, invalid token characters in method or header names, missing or
/// duplicate Host in HTTP/1.1, both Content-Length and Transfer-Encoding, Content-Length that
/// is not all digits or repeats with a different value, Transfer-Encoding other than exactly
/// "chunked" (case-insensitive; 501 for an unknown coding), absolute-form naming another
/// host than Host.
ParseResult parse_request_head(std::string_view bytes, RequestHead& out);

/// True for a GET or HEAD request whose head announces a body: chunked, or a Content-Length
/// above 0. Such content has no defined meaning (RFC 9110 section 9.3.1), and a service that
/// never reads GET bodies takes its bytes for the next request on its connection, one the
/// relay never decided; so the proxy refuses these unless the operator allows them.
bool is_get_or_head_with_body(const RequestHead& head);

/// Parses a response head. `request_method` decides body framing (HEAD, CONNECT) together
/// with the status (1xx, 204, 304 have no body). Errors are 502 (a bad response from the
/// publisher's service).
ParseResult parse_response_head(std::string_view bytes, std::string_view request_method,
                                ResponseHead& out);

/// Finds a header by case-insensitive name; empty view when absent.
std::string_view find_header(const Header* headers, std::size_t count, std::string_view name);

bool iequals(std::string_view a, std::string_view b);

/// Incremental validator for a chunked body. The proxy forwards chunked bodies as they are
/// (no re-encoding, no copy) up to the last chunk; this scanner walks the same bytes to find
/// where the body ends and refuses malformed framing (sizes that are not hex, overflow past
/// 2^63, a `+` or `0x` prefix, bad chunk extensions, a missing CRLF after chunk data,
/// oversized trailers). It also says which bytes are the trailer section, so that a request's
/// trailer fields can be dropped rather than forwarded (see `Step::trailer_bytes`).
class ChunkedScanner {
 public:
  /// A chunk-size line (size, extensions, CRLF) longer than this is refused; real senders
  /// write a few bytes, and an endless extension would otherwise hold the scanner forever.
  static constexpr std::size_t kMaxSizeLineBytes = 4096;
  /// The trailer section (every trailer line and the final CRLF) is capped like a head.
  static constexpr std::size_t kMaxTrailerBytes = 16384;

  struct Step {
    std::size_t consumed = 0;  // bytes of input that belong to the body
    /// The last `trailer_bytes` of `consumed` are the trailer section (trailer fields and the
    /// final CRLF, after the last chunk's line): forwarding `consumed - trailer_bytes`, then
    /// CRLF once `done`, sends the same body with no trailer fields.
    std::size_t trailer_bytes = 0;
    bool done = false;  // the terminating chunk and trailers are complete
    bool error = false;
  };
  /// Feeds the next bytes of the stream; stops at the end of the body (`done`), so bytes
  /// past `consumed` belong to the next message.
  Step feed(std::string_view bytes);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State {
    kSize,                   // hex digits of the chunk size
    kExtension,              // after ';': the first byte of an extension name
    kExtensionName,          // inside a name: more token bytes, '=', ';' or CR
    kExtensionValue,         // after '=': a token or a quoted-string starts
    kExtensionToken,         // inside a token value
    kExtensionQuoted,        // inside a quoted-string value
    kExtensionQuotedEscape,  // after a backslash in a quoted-string
    kExtensionQuotedEnd,     // after the closing quote: ';' or CR
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,  // a trailer field's first byte, or the CR of the final CRLF
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,
    kDone,
    kError
  };
  State state_ = State::kSize;
  std::uint64_t remaining_ = 0;
  std::size_t size_digits_ = 0;
  std::size_t line_bytes_ = 0;     // bytes of the current chunk-size line
  std::size_t trailer_bytes_ = 0;  // total trailer bytes, capped
};

/// What the relay adds when it forwards a request to the publisher's service.
struct ForwardContext {
  std::string_view target_host;      // the local target the publisher named ("localhost:8080")
  std::string_view client_ip;        // for X-Forwarded-For
  std::string_view original_host;    // for X-Forwarded-Host
  std::string_view proto = "https";  // for X-Forwarded-Proto
  /// Header names (lower case) the visitor sent that must not reach the service: the
  /// credentials the relay consumed, and any claim to be the relay's own assertion.
  std::span<const std::string_view> drop;
  /// Header lines the relay adds (each "Name: value\r\n"), after its X-Forwarded-*.
  std::string_view extra_fields;
};

/// Appends the head to send to the publisher: request line in origin form, hop-by-hop headers
/// removed (Connection and the names it lists, Keep-Alive, Proxy-*, TE, Trailer, Upgrade
/// unless upgrading), any incoming X-Forwarded-* replaced by ours, Host rewritten to
/// `target_host`, Transfer-Encoding: chunked kept when the body is chunked, Connection:
/// upgrade kept for upgrades, otherwise Connection: keep-alive.
void write_forward_request_head(const RequestHead& head, const ForwardContext& ctx,
                                std::string& out);

/// Appends the head to send to the visitor: hop-by-hop headers removed, framing kept
/// (Content-Length or chunked); `keep_alive` false adds Connection: close.
void write_visitor_response_head(const ResponseHead& head, bool keep_alive, std::string& out);

/// A complete small response generated by the relay itself (errors: 400, 404, 421, 431, 502,
/// 503, 504), with a short text body and Connection: close when `close` is set; `fields` as
/// for make_response.
std::string make_error_response(int status, std::string_view detail, bool close,
                                std::string_view fields = {});

/// A complete response generated by the relay: `fields` are extra header lines, each ending
/// in CRLF, written by the relay (never copied from a peer); Cache-Control: no-store, since
/// the relay's answers depend on who asks.
std::string make_response(int status, std::string_view content_type, std::string_view fields,
                          std::string_view body, bool close);

std::string_view status_reason(int status);

}  // namespace tg::http
