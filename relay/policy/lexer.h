/// Tokens of the expression language: identifiers, integers, quoted strings, punctuation.
///
/// Strings take either quote, and the escapes \\ \" \' \n \r \t \xHH and \uHHHH; they end on
/// their line. `true`, `false` and `in` are identifiers here and keywords to the parser.
/// Runs at load only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/policy/expr_error.h"

namespace tg::policy {

enum class TokenKind : std::uint8_t {
  kEnd,
  kIdent,
  kInt,
  kString,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kEq,   // ==
  kNe,   // !=
  kLt,   // <
  kLe,   // <=
  kGt,   // >
  kGe,   // >=
  kAnd,  // &&
  kOr,   // ||
  kNot,  // !
};

/// How a token is spelled in messages: "')'", "'=='", "end of expression".
std::string_view describe(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::uint32_t begin = 0;  // byte offsets into the expression text
  std::uint32_t end = 0;
  std::string text;          // identifier, or the string literal's decoded value
  std::int64_t integer = 0;  // kInt
};

struct LexResult {
  std::vector<Token> tokens;  // ends with kEnd
  std::optional<ExprError> error;
};

LexResult lex(std::string_view text);

}  // namespace tg::policy
