#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "relay/http/http.h"
#include "relay/http/path_normalize.h"

namespace tg::http {
namespace {

std::string normal(std::string_view target, const PathRules& rules = {}) {
  std::string out;
  const PathRefusal refusal = normalize_target(target, rules, out);
  EXPECT_EQ(refusal, PathRefusal::kNone) << target << ": " << to_string(refusal);
  // Whatever the input, the normal form is a fixed point.
  std::string again;
  EXPECT_EQ(normalize_target(out, rules, again), PathRefusal::kNone) << out;
  EXPECT_EQ(again, out) << "not idempotent for " << target;
  EXPECT_LE(out.size(), target.size()) << target;
  return out;
}

PathRefusal refusal(std::string_view target, const PathRules& rules = {}) {
  std::string out;
  return normalize_target(target, rules, out);
}

// The examples: each is /admin/x to a web framework, so each is /admin/x to the policy.
TEST(PathNormalize, EncodingVariantsOfOnePathAreOnePath) {
  EXPECT_EQ(normal("/admin/x"), "/admin/x");
  EXPECT_EQ(normal("/%61dmin/x"), "/admin/x");
  EXPECT_EQ(normal("/%61%64%6D%69%6e/x"), "/admin/x");
  EXPECT_EQ(normal("/./admin/x"), "/admin/x");
  EXPECT_EQ(normal("/x/../admin/x"), "/admin/x");
  EXPECT_EQ(normal("/%2e/admin/x"), "/admin/x");
  EXPECT_EQ(normal("/%2E%2E/admin/x"), "/admin/x");
  EXPECT_EQ(normal("/x/.%2e/admin/x"), "/admin/x");
  EXPECT_EQ(normal("//admin"), "/admin");
  EXPECT_EQ(normal("//admin/x"), "/admin/x");
  EXPECT_EQ(normal("/public/..//admin/x"), "/admin/x");
  EXPECT_EQ(normal("/public/%2e%2e/admin/x"), "/admin/x");
}

// RFC 3986 section 5.4 resolves references against a base; what reaches remove_dot_segments
// there is a merged path. These are those merged paths and the results the RFC gives.
TEST(PathNormalize, RemovesDotSegmentsAsRfc3986Does) {
  const PathRules rfc{.merge_slashes = false};
  EXPECT_EQ(normal("/b/c/g", rfc), "/b/c/g");
  EXPECT_EQ(normal("/b/c/./g", rfc), "/b/c/g");
  EXPECT_EQ(normal("/b/c/g/", rfc), "/b/c/g/");
  EXPECT_EQ(normal("/b/c/.", rfc), "/b/c/");
  EXPECT_EQ(normal("/b/c/./", rfc), "/b/c/");
  EXPECT_EQ(normal("/b/c/..", rfc), "/b/");
  EXPECT_EQ(normal("/b/c/../", rfc), "/b/");
  EXPECT_EQ(normal("/b/c/../g", rfc), "/b/g");
  EXPECT_EQ(normal("/b/c/../..", rfc), "/");
  EXPECT_EQ(normal("/b/c/../../", rfc), "/");
  EXPECT_EQ(normal("/b/c/../../g", rfc), "/g");
  EXPECT_EQ(normal("/b/c/../../../g", rfc), "/g");
  EXPECT_EQ(normal("/b/c/../../../../g", rfc), "/g");
  EXPECT_EQ(normal("/./g", rfc), "/g");
  EXPECT_EQ(normal("/../g", rfc), "/g");
  EXPECT_EQ(normal("/b/c/g.", rfc), "/b/c/g.");
  EXPECT_EQ(normal("/b/c/.g", rfc), "/b/c/.g");
  EXPECT_EQ(normal("/b/c/g..", rfc), "/b/c/g..");
  EXPECT_EQ(normal("/b/c/..g", rfc), "/b/c/..g");
  EXPECT_EQ(normal("/b/c/./../g", rfc), "/b/g");
  EXPECT_EQ(normal("/b/c/./g/.", rfc), "/b/c/g/");
  EXPECT_EQ(normal("/b/c/g/./h", rfc), "/b/c/g/h");
  EXPECT_EQ(normal("/b/c/g/../h", rfc), "/b/c/h");
  EXPECT_EQ(normal("/b/c/g;x=1/./y", rfc), "/b/c/g;x=1/y");
  EXPECT_EQ(normal("/b/c/g;x=1/../y", rfc), "/b/c/y");
  // Section 5.2.4's own walk-throughs.
  EXPECT_EQ(normal("/a/b/c/./../../g", rfc), "/a/g");
  EXPECT_EQ(normal("/mid/content=5/../6", rfc), "/mid/6");
}

TEST(PathNormalize, DotSegmentsAtTheEdges) {
  EXPECT_EQ(normal("/"), "/");
  EXPECT_EQ(normal("/."), "/");
  EXPECT_EQ(normal("/.."), "/");
  EXPECT_EQ(normal("/../.."), "/");
  EXPECT_EQ(normal("/a/."), "/a/");
  EXPECT_EQ(normal("/a/.."), "/");
  EXPECT_EQ(normal("/a/..."), "/a/...");
  EXPECT_EQ(normal("/.../a"), "/.../a");
  EXPECT_EQ(normal("/a/.b/..c/c.."), "/a/.b/..c/c..");
  EXPECT_EQ(normal("/%2e%2e%2e"), "/...");
}

TEST(PathNormalize, MergesRepeatedSlashesUnlessTurnedOff) {
  EXPECT_EQ(normal("///"), "/");
  EXPECT_EQ(normal("/a//b///c"), "/a/b/c");
  EXPECT_EQ(normal("/a//"), "/a/");
  EXPECT_EQ(normal("/a//.."), "/");  // merged first, as nginx does
  const PathRules keep{.merge_slashes = false};
  EXPECT_EQ(normal("//admin", keep), "//admin");
  EXPECT_EQ(normal("/a//b", keep), "/a//b");
  EXPECT_EQ(normal("/a//..", keep), "/a/");
  EXPECT_EQ(normal("///", keep), "///");
}

TEST(PathNormalize, DecodesUnreservedAndUpperCasesOtherEscapes) {
  EXPECT_EQ(normal("/public/%7Euser"), "/public/~user");
  EXPECT_EQ(normal("/public/%7euser"), "/public/~user");
  EXPECT_EQ(normal("/%41%5a%30%39%2D%5F%2e%7E"), "/AZ09-_.~");
  EXPECT_EQ(normal("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(normal("/a%20b%3fc%23d%25e"), "/a%20b%3Fc%23d%25e");
  // One decoding only: %2561 is "%61" to the service, not "a".
  EXPECT_EQ(normal("/%2561dmin"), "/%2561dmin");
  EXPECT_EQ(normal("/%25%32%66"), "/%252f");
  EXPECT_EQ(normal("/a;b=c/d,e"), "/a;b=c/d,e");
}

TEST(PathNormalize, KeepsTheQueryAsSent) {
  EXPECT_EQ(normal("/%61/./b?x=%61&y=/../z//"), "/a/b?x=%61&y=/../z//");
  EXPECT_EQ(normal("/a/..?"), "/?");
  EXPECT_EQ(normal("/?%2F%00%zz\\"), "/?%2F%00%zz\\");
}

TEST(PathNormalize, AsteriskFormIsKept) {
  EXPECT_EQ(normal("*"), "*");
}

TEST(PathNormalize, RefusesWhatHasNoSafeNormalForm) {
  EXPECT_EQ(refusal("/admin%2Fx"), PathRefusal::kEscapedSlash);
  EXPECT_EQ(refusal("/admin%2fx"), PathRefusal::kEscapedSlash);
  EXPECT_EQ(refusal("/public/..%2Fadmin"), PathRefusal::kEscapedSlash);
  EXPECT_EQ(refusal("/admin%5Cx"), PathRefusal::kEscapedSlash);
  EXPECT_EQ(refusal("/admin%5cx"), PathRefusal::kEscapedSlash);
  EXPECT_EQ(refusal("/\\admin"), PathRefusal::kBackslash);
  EXPECT_EQ(refusal("/public\\..\\admin"), PathRefusal::kBackslash);
  EXPECT_EQ(refusal("/a%00b"), PathRefusal::kEncodedNul);
  EXPECT_EQ(refusal("/a%"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal("/a%4"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal("/a%4?x"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal("/a%zz"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal("/a%%61"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal("/a%+1"), PathRefusal::kBadPercentEncoding);
  EXPECT_EQ(refusal(std::string_view("/a\0b", 4)), PathRefusal::kInvalidByte);
  EXPECT_EQ(refusal("/a b"), PathRefusal::kInvalidByte);
  EXPECT_EQ(refusal("/a#b"), PathRefusal::kInvalidByte);
  EXPECT_EQ(refusal("/caf\xc3\xa9"), PathRefusal::kInvalidByte);
  EXPECT_EQ(refusal(""), PathRefusal::kNotOriginForm);
  EXPECT_EQ(refusal("admin"), PathRefusal::kNotOriginForm);
  EXPECT_EQ(refusal("http://h/admin"), PathRefusal::kNotOriginForm);
  EXPECT_EQ(to_string(PathRefusal::kEscapedSlash), "escaped_slash");
  EXPECT_EQ(to_string(PathRefusal::kBadPercentEncoding), "bad_percent_encoding");
}

TEST(PathNormalize, EscapedSlashesCanBeKeptOrDecoded) {
  const PathRules keep{.escaped_slashes = EscapedSlashes::kKeep};
  EXPECT_EQ(normal("/a%2fb", keep), "/a%2Fb");
  EXPECT_EQ(normal("/a%5cb", keep), "/a%5Cb");
  // Kept escaped, a slash is no separator: "..%2F" is an ordinary segment.
  EXPECT_EQ(normal("/public/..%2Fadmin", keep), "/public/..%2Fadmin");
  EXPECT_EQ(normal("/public/x/..%2F../admin", keep), "/public/x/..%2F../admin");

  const PathRules decode{.escaped_slashes = EscapedSlashes::kDecode};
  EXPECT_EQ(normal("/a%2Fb", decode), "/a/b");
  EXPECT_EQ(normal("/public/..%2Fadmin", decode), "/admin");
  EXPECT_EQ(normal("/public%2F%2F..%2Fadmin", decode), "/admin");
  // A decoded %5C is a backslash, and backslashes are refused unless allowed.
  EXPECT_EQ(refusal("/a%5Cb", decode), PathRefusal::kBackslash);
  const PathRules decode_all{.escaped_slashes = EscapedSlashes::kDecode,
                             .backslash = Backslash::kSlash};
  EXPECT_EQ(normal("/public%5C..%5Cadmin", decode_all), "/admin");
  const PathRules decode_keep{.escaped_slashes = EscapedSlashes::kDecode,
                              .backslash = Backslash::kKeep};
  EXPECT_EQ(normal("/a%5Cb", decode_keep), "/a\\b");
}

TEST(PathNormalize, BackslashesCanBeKeptOrReadAsSlashes) {
  const PathRules keep{.backslash = Backslash::kKeep};
  EXPECT_EQ(normal("/a\\b", keep), "/a\\b");
  EXPECT_EQ(normal("/public\\..\\admin", keep), "/public\\..\\admin");
  const PathRules slash{.backslash = Backslash::kSlash};
  EXPECT_EQ(normal("/public\\..\\admin", slash), "/admin");
  EXPECT_EQ(normal("/\\admin", slash), "/admin");
  EXPECT_EQ(refusal("\\admin", slash), PathRefusal::kNotOriginForm);
}

TEST(PathNormalize, ARequestHeadGetsTheNormalFormAndKeepsWhatWasSent) {
  const std::string bytes = "GET /x/../%61dmin/./y?q=%2F HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead head;
  ASSERT_EQ(parse_request_head(bytes, head).state, ParseState::kComplete);
  std::string storage;
  ASSERT_EQ(normalize_request_target(head, {}, storage), PathRefusal::kNone);
  EXPECT_EQ(head.target, "/admin/y?q=%2F");
  EXPECT_EQ(head.target.data(), storage.data());
  EXPECT_EQ(head.raw_target, "/x/../%61dmin/./y?q=%2F");

  const std::string bad = "GET /a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n";
  ASSERT_EQ(parse_request_head(bad, head).state, ParseState::kComplete);
  EXPECT_EQ(normalize_request_target(head, {}, storage), PathRefusal::kEscapedSlash);
  EXPECT_EQ(head.target, "/a%2Fb");  // left as it was

  const std::string absolute = "GET http://h/a/../b HTTP/1.1\r\nHost: h\r\n\r\n";
  ASSERT_EQ(parse_request_head(absolute, head).state, ParseState::kComplete);
  ASSERT_EQ(normalize_request_target(head, {}, storage), PathRefusal::kNone);
  EXPECT_EQ(head.target, "/b");
  EXPECT_EQ(head.raw_target, "http://h/a/../b");
}

}  // namespace
}  // namespace tg::http
