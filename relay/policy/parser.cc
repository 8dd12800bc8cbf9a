// The expression parser: tokens in, a syntax tree out, or the first error with its offset.
#include "relay/policy/parser.h"

#include <algorithm>
#include <limits>

#include "relay/policy/lexer.h"

namespace tg::policy {
namespace {

constexpr std::uint32_t kFailed = std::numeric_limits<std::uint32_t>::max();

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  ParseResult run() {
    ParseResult result;
    std::uint32_t root = parse_or();
    if (root != kFailed && peek().kind != TokenKind::kEnd) {
      root = fail(peek().begin, "expected an operator or the end of the expression, found " +
                                    std::string(describe(peek().kind)) + spelled(peek()));
    }
    result.error = std::move(error_);
    result.ast = std::move(ast_);
    result.ast.root = root == kFailed ? 0 : root;
    return result;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    std::size_t index = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[index];
  }
  const Token& advance() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }
  bool is_keyword(const Token& token, std::string_view word) const {
    return token.kind == TokenKind::kIdent && token.text == word;
  }
  static std::string spelled(const Token& token) {
    if (token.kind == TokenKind::kIdent) return " \"" + token.text + "\"";
    return "";
  }

  std::uint32_t fail(std::uint32_t offset, std::string message) {
    if (!error_) error_ = ExprError{offset, std::move(message)};
    return kFailed;
  }

  std::uint32_t add(AstNode node) {
    ast_.nodes.push_back(std::move(node));
    return static_cast<std::uint32_t>(ast_.nodes.size() - 1);
  }

  std::uint32_t binary(AstKind kind, CompareOp op, std::uint32_t at, std::uint32_t left,
                       std::uint32_t right) {
    AstNode node;
    node.kind = kind;
    node.op = op;
    node.at = at;
    node.begin = ast_.nodes[left].begin;
    node.end = ast_.nodes[right].end;
    node.children = {left, right};
    return add(std::move(node));
  }

  // Guards recursion through parentheses, lists, `!` and arguments.
  struct Depth {
    explicit Depth(int& depth) : depth_(depth) { ++depth_; }
    ~Depth() { --depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;
    int& depth_;
  };
  bool too_deep(std::uint32_t offset) {
    if (depth_ <= kMaxDepth) return false;
    fail(offset, "the expression nests more than " + std::to_string(kMaxDepth) + " levels deep");
    return true;
  }

  std::uint32_t parse_or() {
    std::uint32_t left = parse_and();
    while (left != kFailed && peek().kind == TokenKind::kOr) {
      std::uint32_t at = advance().begin;
      std::uint32_t right = parse_and();
      if (right == kFailed) return kFailed;
      left = binary(AstKind::kOr, CompareOp::kEq, at, left, right);
    }
    return left;
  }

  std::uint32_t parse_and() {
    std::uint32_t left = parse_relation();
    while (left != kFailed && peek().kind == TokenKind::kAnd) {
      std::uint32_t at = advance().begin;
      std::uint32_t right = parse_relation();
      if (right == kFailed) return kFailed;
      left = binary(AstKind::kAnd, CompareOp::kEq, at, left, right);
    }
    return left;
  }

  std::optional<CompareOp> relation_op(const Token& token) const {
    switch (token.kind) {
      case TokenKind::kEq:
        return CompareOp::kEq;
      case TokenKind::kNe:
        return CompareOp::kNe;
      case TokenKind::kLt:
        return CompareOp::kLt;
      case TokenKind::kLe:
        return CompareOp::kLe;
      case TokenKind::kGt:
        return CompareOp::kGt;
      case TokenKind::kGe:
        return CompareOp::kGe;
      default:
        return is_keyword(token, "in") ? std::optional(CompareOp::kIn) : std::nullopt;
    }
  }

  std::uint32_t parse_relation() {
    std::uint32_t left = parse_unary();
    if (left == kFailed) return kFailed;
    std::optional<CompareOp> op = relation_op(peek());
    if (!op) return left;
    std::uint32_t at = advance().begin;
    std::uint32_t right = parse_unary();
    if (right == kFailed) return kFailed;
    if (relation_op(peek())) {
      return fail(peek().begin, "comparisons do not chain; add parentheses");
    }
    return binary(AstKind::kCompare, *op, at, left, right);
  }

  std::uint32_t parse_unary() {
    if (peek().kind != TokenKind::kNot) return parse_postfix();
    Depth depth(depth_);
    const Token& bang = advance();
    if (too_deep(bang.begin)) return kFailed;
    std::uint32_t operand = parse_unary();
    if (operand == kFailed) return kFailed;
    AstNode node;
    node.kind = AstKind::kNot;
    node.at = node.begin = bang.begin;
    node.end = ast_.nodes[operand].end;
    node.children = {operand};
    return add(std::move(node));
  }

  // '(' [expr (',' expr)*] ')' after a method or function name; appends to `node.children`.
  bool parse_arguments(AstNode& node) {
    const Token& open = advance();
    Depth depth(depth_);
    if (too_deep(open.begin)) return false;
    if (peek().kind != TokenKind::kRParen) {
      while (true) {
        std::uint32_t argument = parse_or();
        if (argument == kFailed) return false;
        node.children.push_back(argument);
        if (peek().kind != TokenKind::kComma) break;
        advance();
      }
    }
    if (peek().kind != TokenKind::kRParen) {
      fail(peek().begin, "expected ',' or ')' in the arguments of " + node.text + "(), found " +
                             std::string(describe(peek().kind)) + spelled(peek()));
      return false;
    }
    node.end = advance().end;
    return true;
  }

  std::uint32_t parse_postfix() {
    std::uint32_t node_index = parse_primary();
    while (node_index != kFailed) {
      if (peek().kind == TokenKind::kDot) {
        advance();
        const Token& name = peek();
        if (name.kind != TokenKind::kIdent) {
          return fail(name.begin, "expected a method name after '.', found " +
                                      std::string(describe(name.kind)));
        }
        advance();
        if (peek().kind != TokenKind::kLParen) {
          return fail(name.begin, "\"." + name.text +
                                      "\" can only follow an attribute name; to call a method, "
                                      "write ." +
                                      name.text + "(…)");
        }
        AstNode node;
        node.kind = AstKind::kMethod;
        node.text = name.text;
        node.at = name.begin;
        node.begin = ast_.nodes[node_index].begin;
        node.children = {node_index};
        if (!parse_arguments(node)) return kFailed;
        node_index = add(std::move(node));
      } else if (peek().kind == TokenKind::kLBracket) {
        const Token& open = advance();
        Depth depth(depth_);
        if (too_deep(open.begin)) return kFailed;
        std::uint32_t key = parse_or();
        if (key == kFailed) return kFailed;
        if (peek().kind != TokenKind::kRBracket) {
          return fail(peek().begin,
                      "expected ']' to close '[', found " + std::string(describe(peek().kind)));
        }
        AstNode node;
        node.kind = AstKind::kIndex;
        node.at = open.begin;
        node.begin = ast_.nodes[node_index].begin;
        node.end = advance().end;
        node.children = {node_index, key};
        node_index = add(std::move(node));
      } else {
        break;
      }
    }
    return node_index;
  }

  std::uint32_t parse_primary() {
    const Token& token = peek();
    AstNode node;
    node.at = node.begin = token.begin;
    node.end = token.end;
    switch (token.kind) {
      case TokenKind::kInt:
        node.kind = AstKind::kInt;
        node.integer = advance().integer;
        return add(std::move(node));
      case TokenKind::kString:
        node.kind = AstKind::kString;
        node.text = advance().text;
        return add(std::move(node));
      case TokenKind::kLParen: {
        Depth depth(depth_);
        advance();
        if (too_deep(token.begin)) return kFailed;
        std::uint32_t inner = parse_or();
        if (inner == kFailed) return kFailed;
        if (peek().kind != TokenKind::kRParen) {
          return fail(peek().begin, "expected ')' to close '(', found " +
                                        std::string(describe(peek().kind)) + spelled(peek()));
        }
        // Keep the parentheses in the node's text, for explanations that quote it.
        ast_.nodes[inner].begin = node.begin;
        ast_.nodes[inner].end = advance().end;
        return inner;
      }
      case TokenKind::kLBracket:
        return parse_list();
      case TokenKind::kIdent:
        break;
      default:
        return fail(token.begin, "expected a value, found " + std::string(describe(token.kind)));
    }
    if (token.text == "true" || token.text == "false") {
      node.kind = AstKind::kBool;
      node.boolean = advance().text == "true";
      return add(std::move(node));
    }
    if (token.text == "in") return fail(token.begin, "expected a value before 'in'");
    if (peek(1).kind == TokenKind::kLParen) {
      node.kind = AstKind::kCall;
      node.text = advance().text;
      if (!parse_arguments(node)) return kFailed;
      return add(std::move(node));
    }
    // An attribute path: names joined by dots, up to a name that is a method call.
    node.kind = AstKind::kAttribute;
    node.text = advance().text;
    while (peek().kind == TokenKind::kDot && peek(1).kind == TokenKind::kIdent &&
           peek(2).kind != TokenKind::kLParen) {
      advance();
      const Token& part = advance();
      node.text += ".";
      node.text += part.text;
      node.end = part.end;
    }
    return add(std::move(node));
  }

  std::uint32_t parse_list() {
    const Token& open = advance();
    Depth depth(depth_);
    if (too_deep(open.begin)) return kFailed;
    AstNode node;
    node.kind = AstKind::kList;
    node.at = node.begin = open.begin;
    while (peek().kind != TokenKind::kRBracket) {
      std::uint32_t element = parse_or();
      if (element == kFailed) return kFailed;
      node.children.push_back(element);
      if (peek().kind == TokenKind::kComma) {
        advance();
      } else if (peek().kind != TokenKind::kRBracket) {
        return fail(peek().begin, "expected ',' or ']' in the list, found " +
                                      std::string(describe(peek().kind)) + spelled(peek()));
      }
    }
    node.end = advance().end;
    return add(std::move(node));
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  Ast ast_;
  std::optional<ExprError> error_;
};

}  // namespace

std::string_view to_string(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kIn:
      return "in";
  }
  return "?";
}

ParseResult parse_expression(std::string_view text) {
  if (text.size() > kMaxExpressionBytes) {
    ParseResult result;
    result.error = ExprError{
        0, "the expression is longer than " + std::to_string(kMaxExpressionBytes) + " bytes"};
    return result;
  }
  LexResult lexed = lex(text);
  if (lexed.error) {
    ParseResult result;
    result.error = std::move(lexed.error);
    return result;
  }
  if (lexed.tokens.size() == 1) {
    ParseResult result;
    result.error = ExprError{0, "the expression is empty"};
    return result;
  }
  ParseResult result = Parser(std::move(lexed.tokens)).run();
  if (!result.error) {
    // Children precede their parents in `nodes`, so one forward pass finds every depth. The
    // checker, compiler and evaluator recurse this deep.
    std::vector<int> depth(result.ast.nodes.size(), 1);
    for (std::size_t i = 0; i < result.ast.nodes.size(); ++i) {
      for (std::uint32_t child : result.ast.nodes[i].children) {
        depth[i] = std::max(depth[i], depth[child] + 1);
      }
      if (depth[i] > kMaxTreeDepth) {
        result.error = ExprError{result.ast.nodes[i].at,
                                 "the expression is more than " + std::to_string(kMaxTreeDepth) +
                                     " operators deep; join long chains of || with in [...]"};
        break;
      }
    }
  }
  return result;
}

}  // namespace tg::policy
