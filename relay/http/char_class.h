/// Byte classes of the HTTP grammar (RFC 9110 section 5.6, RFC 9112), shared by every parser in
/// relay/http. Each class is a 256-entry table built at compile time, so a test is one load;
/// the parsers run one of these per byte of every head and chunk-size line they read.
#pragma once

#include <array>
#include <cstdint>

namespace tg::http::detail {

enum CharClass : std::uint8_t {
  kToken = 1 << 0,       // tchar: method, header names, list elements
  kFieldValue = 1 << 1,  // VCHAR, obs-text, SP, HTAB: header values and reason phrases
  kTarget = 1 << 2,      // VCHAR except '#': a request-target byte
  kHexDigit = 1 << 3,
  kDigit = 1 << 4,
  kHostChar = 1 << 5,    // reg-name, IP-literal and port bytes: ALPHA DIGIT -._~!$&'()*+,;=:[]%
  kQuotedText = 1 << 6,  // qdtext: HTAB, SP, VCHAR except '"' and '\', obs-text
};

constexpr std::array<std::uint8_t, 256> make_char_classes() {
  std::array<std::uint8_t, 256> table{};
  auto mark = [&table](unsigned char c, std::uint8_t cls) {
    table[c] = static_cast<std::uint8_t>(table[c] | cls);
  };
  for (int c = 0x21; c <= 0x7E; ++c) {
    mark(static_cast<unsigned char>(c), kFieldValue | kQuotedText);
    if (c != '#') {
      mark(static_cast<unsigned char>(c), kTarget);
    }
  }
  for (int c = 0x80; c <= 0xFF; ++c) {
    mark(static_cast<unsigned char>(c), kFieldValue | kQuotedText);
  }
  mark(' ', kFieldValue | kQuotedText);
  mark('\t', kFieldValue | kQuotedText);
  table['"'] = static_cast<std::uint8_t>(table['"'] & ~kQuotedText);
  table['\\'] = static_cast<std::uint8_t>(table['\\'] & ~kQuotedText);

  for (int c = '0'; c <= '9'; ++c) {
    mark(static_cast<unsigned char>(c), kToken | kDigit | kHexDigit | kHostChar);
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    mark(static_cast<unsigned char>(c), kToken | kHostChar);
  }
  for (int c = 'A'; c <= 'Z'; ++c) {
    mark(static_cast<unsigned char>(c), kToken | kHostChar);
  }
  for (int c = 'a'; c <= 'f'; ++c) {
    mark(static_cast<unsigned char>(c), kHexDigit);
  }
  for (int c = 'A'; c <= 'F'; ++c) {
    mark(static_cast<unsigned char>(c), kHexDigit);
  }
  for (char c : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'}) {
    mark(static_cast<unsigned char>(c), kToken);
  }
  for (char c : {'-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':',
                 '[', ']', '%'}) {
    mark(static_cast<unsigned char>(c), kHostChar);
  }
  return table;
}

inline constexpr std::array<std::uint8_t, 256> kCharClasses = make_char_classes();

constexpr bool has_class(char c, CharClass cls) {
  return (kCharClasses[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool is_token_char(char c) {
  return has_class(c, kToken);
}
constexpr bool is_field_value_char(char c) {
  return has_class(c, kFieldValue);
}
constexpr bool is_whitespace(char c) {
  return c == ' ' || c == '\t';
}

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return c - 'A' + 10;  // callers have checked kHexDigit
}

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace tg::http::detail
