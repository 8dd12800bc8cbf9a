// The expression lexer and parser: every operator, precedence, literals, and errors at the
// exact byte offset.
#include <gtest/gtest.h>

#include <string>

#include "relay/policy/lexer.h"
#include "relay/policy/parser.h"

namespace tg::policy {
namespace {

// The tree as an S-expression: (op left right), [list], (.method receiver args), (fn args).
std::string sexpr(const Ast& ast, std::uint32_t index) {
  const AstNode& n = ast.nodes[index];
  auto children = [&](std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < n.children.size(); ++i) out += " " + sexpr(ast, n.children[i]);
    return out;
  };
  switch (n.kind) {
    case AstKind::kBool:
      return n.boolean ? "true" : "false";
    case AstKind::kInt:
      return std::to_string(n.integer);
    case AstKind::kString:
      return "\"" + n.text + "\"";
    case AstKind::kList:
      return "[" + (n.children.empty() ? std::string() : children(0).substr(1)) + "]";
    case AstKind::kAttribute:
      return n.text;
    case AstKind::kIndex:
      return "(index" + children(0) + ")";
    case AstKind::kNot:
      return "(!" + children(0) + ")";
    case AstKind::kAnd:
      return "(&&" + children(0) + ")";
    case AstKind::kOr:
      return "(||" + children(0) + ")";
    case AstKind::kCompare:
      return "(" + std::string(to_string(n.op)) + children(0) + ")";
    case AstKind::kMethod:
      return "(." + n.text + children(0) + ")";
    case AstKind::kCall:
      return "(" + n.text + children(0) + ")";
  }
  return "?";
}

std::string parse(std::string_view text) {
  ParseResult result = parse_expression(text);
  if (result.error) return "error";
  return sexpr(result.ast, result.ast.root);
}

// "offset: message" of the error, or "(no error)".
std::string error(std::string_view text) {
  ParseResult result = parse_expression(text);
  if (!result.error) return "(no error)";
  return std::to_string(result.error->offset) + ": " + result.error->message;
}

TEST(PolicyLexer, TokensCarryTheirByteRanges) {
  LexResult lexed = lex("ssh.user  == 'a'");
  ASSERT_FALSE(lexed.error);
  ASSERT_EQ(lexed.tokens.size(), 6u);
  EXPECT_EQ(lexed.tokens[0].kind, TokenKind::kIdent);
  EXPECT_EQ(lexed.tokens[1].kind, TokenKind::kDot);
  EXPECT_EQ(lexed.tokens[3].kind, TokenKind::kEq);
  EXPECT_EQ(lexed.tokens[3].begin, 10u);
  EXPECT_EQ(lexed.tokens[3].end, 12u);
  EXPECT_EQ(lexed.tokens[4].kind, TokenKind::kString);
  EXPECT_EQ(lexed.tokens[4].begin, 13u);
  EXPECT_EQ(lexed.tokens[4].end, 16u);
  EXPECT_EQ(lexed.tokens[5].kind, TokenKind::kEnd);
}

TEST(PolicyLexer, EveryOperator) {
  LexResult lexed = lex("== != < <= > >= && || ! ( ) [ ] , .");
  ASSERT_FALSE(lexed.error);
  std::vector<TokenKind> kinds;
  for (const Token& token : lexed.tokens) kinds.push_back(token.kind);
  EXPECT_EQ(kinds,
            (std::vector<TokenKind>{TokenKind::kEq, TokenKind::kNe, TokenKind::kLt, TokenKind::kLe,
                                    TokenKind::kGt, TokenKind::kGe, TokenKind::kAnd, TokenKind::kOr,
                                    TokenKind::kNot, TokenKind::kLParen, TokenKind::kRParen,
                                    TokenKind::kLBracket, TokenKind::kRBracket, TokenKind::kComma,
                                    TokenKind::kDot, TokenKind::kEnd}));
}

TEST(PolicyLexer, StringEscapes) {
  EXPECT_EQ(parse(R"("a\"b\\c\n\t\r")"), "\"a\"b\\c\n\t\r\"");
  EXPECT_EQ(parse(R"('it\'s "quoted"')"), "\"it's \"quoted\"\"");
  EXPECT_EQ(parse(R"("\x41\u00e9\u20ac")"), "\"A\xc3\xa9\xe2\x82\xac\"");
  EXPECT_EQ(parse("\"caf\xc3\xa9\""), "\"caf\xc3\xa9\"");
}

TEST(PolicyLexer, Errors) {
  EXPECT_EQ(error(R"(ssh.user = "x")"), "9: use == to compare (= alone is not an operator)");
  EXPECT_EQ(error("a & b"), "2: use && for \"and\" (& alone is not an operator)");
  EXPECT_EQ(error("a | b"), "2: use || for \"or\" (| alone is not an operator)");
  EXPECT_EQ(error(R"(a == "abc)"), "5: this string is never closed");
  EXPECT_EQ(error("a == 'ab\ncd'"), "5: this string is never closed");
  EXPECT_EQ(error(R"(a == "a\qb")"),
            "7: unknown escape \\q (known: \\\\ \\\" \\' \\n \\r \\t "
            "\\xHH \\uHHHH)");
  EXPECT_EQ(error(R"(a == "\u12")"), "6: \\u takes exactly 4 hex digits");
  EXPECT_EQ(error(R"(a == "\ud800")"), "6: \\u cannot name a UTF-16 surrogate");
  EXPECT_EQ(error("time.hour == 12ab"), "13: a number cannot run into letters");
  EXPECT_EQ(error("time.hour == 99999999999999999999"), "13: this number is too large");
  EXPECT_EQ(error("a # b"), "2: unexpected character '#'");
  EXPECT_EQ(error("a == \xc3\xa9"), "5: unexpected character '\xc3\xa9'");
}

TEST(PolicyParser, Literals) {
  EXPECT_EQ(parse("true"), "true");
  EXPECT_EQ(parse("false"), "false");
  EXPECT_EQ(parse("42"), "42");
  EXPECT_EQ(parse("'x'"), "\"x\"");
  EXPECT_EQ(parse("a in []"), "(in a [])");
  EXPECT_EQ(parse("a in ['x', \"y\",]"), "(in a [\"x\" \"y\"])");
  EXPECT_EQ(parse("time.weekday in [1, 2]"), "(in time.weekday [1 2])");
}

TEST(PolicyParser, AttributePathsIndexesAndCalls) {
  EXPECT_EQ(parse("ssh.source.ip == 'x'"), "(== ssh.source.ip \"x\")");
  EXPECT_EQ(parse("tls.client_cert.san.contains('a')"), "(.contains tls.client_cert.san \"a\")");
  EXPECT_EQ(parse("http.header['X-Foo'].startsWith('a')"),
            "(.startsWith (index http.header \"X-Foo\") \"a\")");
  EXPECT_EQ(parse("jwt.claims[\"tenant\"] == 'acme'"),
            "(== (index jwt.claims \"tenant\") \"acme\")");
  EXPECT_EQ(parse("source.ip in cidr('10.0.0.0/8')"), "(in source.ip (cidr \"10.0.0.0/8\"))");
  EXPECT_EQ(parse("has(jwt.sub)"), "(has jwt.sub)");
  EXPECT_EQ(parse("f()"), "(f)");
  EXPECT_EQ(parse("a.matches('x', 'y')"), "(.matches a \"x\" \"y\")");
}

TEST(PolicyParser, EachOperator) {
  EXPECT_EQ(parse("a == b"), "(== a b)");
  EXPECT_EQ(parse("a != b"), "(!= a b)");
  EXPECT_EQ(parse("a < 1"), "(< a 1)");
  EXPECT_EQ(parse("a <= 1"), "(<= a 1)");
  EXPECT_EQ(parse("a > 1"), "(> a 1)");
  EXPECT_EQ(parse("a >= 1"), "(>= a 1)");
  EXPECT_EQ(parse("a in b"), "(in a b)");
  EXPECT_EQ(parse("a && b"), "(&& a b)");
  EXPECT_EQ(parse("a || b"), "(|| a b)");
  EXPECT_EQ(parse("!a"), "(! a)");
  EXPECT_EQ(parse("!!a"), "(! (! a))");
}

TEST(PolicyParser, Precedence) {
  EXPECT_EQ(parse("a || b && c"), "(|| a (&& b c))");
  EXPECT_EQ(parse("a && b || c"), "(|| (&& a b) c)");
  EXPECT_EQ(parse("(a || b) && c"), "(&& (|| a b) c)");
  EXPECT_EQ(parse("a || b || c"), "(|| (|| a b) c)");
  EXPECT_EQ(parse("a == 'x' || b != 'y' && c in ['z']"),
            "(|| (== a \"x\") (&& (!= b \"y\") (in c [\"z\"])))");
  // As in CEL, ! binds tighter than comparisons; the checker refuses `!string`.
  EXPECT_EQ(parse("!a == b"), "(== (! a) b)");
  EXPECT_EQ(parse("!(a == b)"), "(! (== a b))");
  EXPECT_EQ(parse("!a && b"), "(&& (! a) b)");
  EXPECT_EQ(parse("a.startsWith('x') && !b.contains('y')"),
            "(&& (.startsWith a \"x\") (! (.contains b \"y\")))");
}

TEST(PolicyParser, SpansCoverParentheses) {
  ParseResult result = parse_expression("x && (a || b)");
  ASSERT_FALSE(result.error);
  const AstNode& root = result.ast.nodes[result.ast.root];
  const AstNode& right = result.ast.nodes[root.children[1]];
  EXPECT_EQ(right.begin, 5u);
  EXPECT_EQ(right.end, 13u);
  EXPECT_EQ(root.at, 2u);
}

TEST(PolicyParser, Errors) {
  EXPECT_EQ(error(""), "0: the expression is empty");
  EXPECT_EQ(error("   "), "0: the expression is empty");
  EXPECT_EQ(error("a == "), "5: expected a value, found the end of the expression");
  EXPECT_EQ(error("(a == b"), "7: expected ')' to close '(', found the end of the expression");
  EXPECT_EQ(error("a in ['x' 'y']"), "10: expected ',' or ']' in the list, found a string");
  EXPECT_EQ(error("h['x' == 'y'"),
            "12: expected ']' to close '[', found the end of the expression");
  EXPECT_EQ(error("a == b == c"), "7: comparisons do not chain; add parentheses");
  EXPECT_EQ(error("a b"),
            "2: expected an operator or the end of the expression, found a name \"b\"");
  EXPECT_EQ(error("a.b."), "4: expected a method name after '.', found the end of the expression");
  EXPECT_EQ(error("h['x'].foo == 'y'"),
            "7: \".foo\" can only follow an attribute name; to call a method, write .foo(…)");
  EXPECT_EQ(error("a.startsWith('x' 'y')"),
            "17: expected ',' or ')' in the arguments of startsWith(), found a string");
  EXPECT_EQ(error("in == 'x'"), "0: expected a value before 'in'");
  EXPECT_EQ(error("a == )"), "5: expected a value, found ')'");
}

TEST(PolicyParser, DepthIsBounded) {
  std::string deep(kMaxDepth + 1, '(');
  deep += "a" + std::string(kMaxDepth + 1, ')');
  EXPECT_EQ(error(deep), std::to_string(kMaxDepth) + ": the expression nests more than " +
                             std::to_string(kMaxDepth) + " levels deep");
  std::string nots(kMaxDepth + 1, '!');
  EXPECT_NE(error(nots + "a").find("nests more than"), std::string::npos);

  std::string chain = "a";
  for (int i = 0; i < kMaxTreeDepth + 1; ++i) chain += " || a";
  EXPECT_NE(error(chain).find("operators deep"), std::string::npos);
  std::string long_text(kMaxExpressionBytes + 1, ' ');
  EXPECT_EQ(error(long_text), "0: the expression is longer than 16384 bytes");
}

}  // namespace
}  // namespace tg::policy
