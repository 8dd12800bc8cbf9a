// The expression lexer: one pass, every token with its byte range for error positions.
#include "relay/policy/lexer.h"

#include <charconv>

namespace tg::policy {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  LexResult run() {
    LexResult result;
    while (!result.error) {
      while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
      Token token;
      token.begin = static_cast<std::uint32_t>(pos_);
      if (pos_ == text_.size()) {
        token.end = token.begin;
        result.tokens.push_back(std::move(token));
        break;
      }
      result.error = next(token);
      token.end = static_cast<std::uint32_t>(pos_);
      result.tokens.push_back(std::move(token));
    }
    return result;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  ExprError error_at(std::size_t offset, std::string message) const {
    return ExprError{static_cast<std::uint32_t>(offset), std::move(message)};
  }

  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<ExprError> next(Token& token) {
    std::size_t start = pos_;
    char c = text_[pos_++];
    switch (c) {
      case '(':
        token.kind = TokenKind::kLParen;
        return std::nullopt;
      case ')':
        token.kind = TokenKind::kRParen;
        return std::nullopt;
      case '[':
        token.kind = TokenKind::kLBracket;
        return std::nullopt;
      case ']':
        token.kind = TokenKind::kRBracket;
        return std::nullopt;
      case ',':
        token.kind = TokenKind::kComma;
        return std::nullopt;
      case '.':
        token.kind = TokenKind::kDot;
        return std::nullopt;
      case '=':
        if (!take('=')) return error_at(start, "use == to compare (= alone is not an operator)");
        token.kind = TokenKind::kEq;
        return std::nullopt;
      case '!':
        token.kind = take('=') ? TokenKind::kNe : TokenKind::kNot;
        return std::nullopt;
      case '<':
        token.kind = take('=') ? TokenKind::kLe : TokenKind::kLt;
        return std::nullopt;
      case '>':
        token.kind = take('=') ? TokenKind::kGe : TokenKind::kGt;
        return std::nullopt;
      case '&':
        if (!take('&')) return error_at(start, "use && for \"and\" (& alone is not an operator)");
        token.kind = TokenKind::kAnd;
        return std::nullopt;
      case '|':
        if (!take('|')) return error_at(start, "use || for \"or\" (| alone is not an operator)");
        token.kind = TokenKind::kOr;
        return std::nullopt;
      case '"':
      case '\'':
        token.kind = TokenKind::kString;
        return quoted_string(c, start, token.text);
      default:
        break;
    }
    if (is_digit(c)) {
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      if (pos_ < text_.size() && is_ident_char(text_[pos_])) {
        return error_at(start, "a number cannot run into letters");
      }
      auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, token.integer);
      if (ec != std::errc()) return error_at(start, "this number is too large");
      token.kind = TokenKind::kInt;
      return std::nullopt;
    }
    if (is_ident_start(c)) {
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      token.kind = TokenKind::kIdent;
      token.text = text_.substr(start, pos_ - start);
      return std::nullopt;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Show the whole UTF-8 sequence, not its first byte.
      while (pos_ < text_.size() && (static_cast<unsigned char>(text_[pos_]) & 0xc0) == 0x80) {
        ++pos_;
      }
    }
    return error_at(
        start, "unexpected character '" + std::string(text_.substr(start, pos_ - start)) + "'");
  }

  std::optional<ExprError> quoted_string(char quote, std::size_t start, std::string& out) {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return std::nullopt;
      }
      if (c == '\n' || c == '\r') break;
      if (c != '\\') {
        out.push_back(c);
        ++pos_;
        continue;
      }
      std::size_t escape = pos_++;
      if (pos_ == text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '\\':
        case '"':
        case '\'':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'x':
        case 'u': {
          std::size_t digits = e == 'x' ? 2 : 4;
          std::uint32_t value = 0;
          for (std::size_t i = 0; i < digits; ++i) {
            int h = pos_ < text_.size() ? hex_value(text_[pos_]) : -1;
            if (h < 0) {
              return error_at(escape, "\\" + std::string(1, e) + " takes exactly " +
                                          std::to_string(digits) + " hex digits");
            }
            value = value * 16 + static_cast<std::uint32_t>(h);
            ++pos_;
          }
          if (value >= 0xd800 && value <= 0xdfff) {
            return error_at(escape, "\\u cannot name a UTF-16 surrogate");
          }
          if (e == 'x') {
            out.push_back(static_cast<char>(value));
          } else {
            append_utf8(out, value);
          }
          break;
        }
        default:
          return error_at(escape, "unknown escape \\" + std::string(1, e) +
                                      " (known: \\\\ \\\" \\' \\n \\r \\t \\xHH \\uHHHH)");
      }
    }
    return error_at(start, "this string is never closed");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string_view describe(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "the end of the expression";
    case TokenKind::kIdent:
      return "a name";
    case TokenKind::kInt:
      return "a number";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kEq:
      return "'=='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
    case TokenKind::kAnd:
      return "'&&'";
    case TokenKind::kOr:
      return "'||'";
    case TokenKind::kNot:
      return "'!'";
  }
  return "?";
}

LexResult lex(std::string_view text) {
  return Lexer(text).run();
}

}  // namespace tg::policy
