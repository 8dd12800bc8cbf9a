// Base64url, table-driven: one lookup per character, four characters to three bytes.
#include "relay/identity/base64url.h"

#include <array>

namespace tg::identity {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

}  // namespace

std::optional<std::size_t> base64url_decoded_size(std::size_t encoded_size) {
  if (encoded_size % 4 == 1) return std::nullopt;
  return encoded_size / 4 * 3 + (encoded_size % 4 == 0 ? 0 : encoded_size % 4 - 1);
}

std::optional<std::size_t> decode_base64url(std::string_view text, std::span<std::uint8_t> out) {
  const std::optional<std::size_t> size = base64url_decoded_size(text.size());
  if (!size || *size > out.size()) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0, o = 0;
  // Whole quanta: invalid characters are caught by OR-ing the looked-up values, which sets
  // the top bit when any is 0xff, so the loop has one branch per four characters.
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint8_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]],
                       d = kDecode[in[i + 3]];
    if ((a | b | c | d) & 0x80) return std::nullopt;
    const std::uint32_t bits = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                               (std::uint32_t{c} << 6) | std::uint32_t{d};
    out[o++] = static_cast<std::uint8_t>(bits >> 16);
    out[o++] = static_cast<std::uint8_t>(bits >> 8);
    out[o++] = static_cast<std::uint8_t>(bits);
  }
  const std::size_t rest = text.size() - i;  // 0, 2 or 3
  if (rest >= 2) {
    const std::uint8_t a = kDecode[in[i]], b = kDecode[in[i + 1]];
    const std::uint8_t c = rest == 3 ? kDecode[in[i + 2]] : 0;
    if ((a | b | c) & 0x80) return std::nullopt;
    // The bits past the last whole byte must be zero: otherwise several texts would decode to
    // the same bytes.
    if (rest == 2 && (b & 0x0f) != 0) return std::nullopt;
    if (rest == 3 && (c & 0x03) != 0) return std::nullopt;
    out[o++] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
    if (rest == 3) out[o++] = static_cast<std::uint8_t>((b << 4) | (c >> 2));
  }
  return o;
}

std::optional<std::string> decode_base64url(std::string_view text) {
  const std::optional<std::size_t> size = base64url_decoded_size(text.size());
  if (!size) return std::nullopt;
  std::string bytes(*size, '\0');
  auto span = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
  if (!decode_base64url(text, span)) return std::nullopt;
  return bytes;
}

std::string encode_base64url(std::span<const std::uint8_t> bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t bits = (std::uint32_t{bytes[i]} << 16) |
                               (std::uint32_t{bytes[i + 1]} << 8) | std::uint32_t{bytes[i + 2]};
    text.push_back(kAlphabet[(bits >> 18) & 63]);
    text.push_back(kAlphabet[(bits >> 12) & 63]);
    text.push_back(kAlphabet[(bits >> 6) & 63]);
    text.push_back(kAlphabet[bits & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const std::uint32_t bits =
        (std::uint32_t{bytes[i]} << 16) | (rest == 2 ? std::uint32_t{bytes[i + 1]} << 8 : 0);
    text.push_back(kAlphabet[(bits >> 18) & 63]);
    text.push_back(kAlphabet[(bits >> 12) & 63]);
    if (rest == 2) text.push_back(kAlphabet[(bits >> 6) & 63]);
  }
  return text;
}

std::string encode_base64url(std::string_view bytes) {
  return encode_base64url(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace tg::identity
