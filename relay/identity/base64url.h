/// Base64url without padding (RFC 4648 §5, as JOSE uses it: RFC 7515 §2).
///
/// Decoding is strict, because a JWT's three parts and a JWK's numbers must each have exactly
/// one spelling: only `A-Z a-z 0-9 - _`, no `=` padding, no whitespace, no length of the form
/// 4k+1 (which no byte string encodes to), and the unused low bits of the last character must
/// be zero. Pure functions over the caller's bytes; decoding into a caller's buffer never
/// allocates. About 1 ns per input byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tg::identity {

/// Bytes that `encoded_size` characters decode to, or nullopt for an impossible length.
std::optional<std::size_t> base64url_decoded_size(std::size_t encoded_size);

/// Decodes `text` into `out`; the number of bytes written, or nullopt when `text` is not
/// strict unpadded base64url or `out` is too small (see base64url_decoded_size).
std::optional<std::size_t> decode_base64url(std::string_view text, std::span<std::uint8_t> out);

/// Convenience: decodes into a new string (bytes, not text).
std::optional<std::string> decode_base64url(std::string_view text);

/// Encodes without padding.
std::string encode_base64url(std::span<const std::uint8_t> bytes);
std::string encode_base64url(std::string_view bytes);

}  // namespace tg::identity
