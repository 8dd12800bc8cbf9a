// Globs, addresses and CIDR blocks, and the name index built from globs.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "relay/policy/glob.h"
#include "relay/policy/ip_address.h"
#include "relay/policy/name_index.h"

namespace tg::policy {
namespace {

Glob glob(std::string_view pattern) {
  auto compiled = Glob::compile(pattern);
  EXPECT_TRUE(compiled.ok()) << pattern << ": " << (compiled.ok() ? "" : compiled.error().message);
  return compiled.ok() ? *compiled : *Glob::compile("");
}

TEST(PolicyGlob, Shapes) {
  EXPECT_EQ(glob("alice").shape(), Glob::Shape::kExact);
  EXPECT_EQ(glob("alice-*").shape(), Glob::Shape::kPrefix);
  EXPECT_EQ(glob("alice-*").literal(), "alice-");
  EXPECT_EQ(glob("*-staging").shape(), Glob::Shape::kSuffix);
  EXPECT_EQ(glob("*-staging").literal(), "-staging");
  EXPECT_EQ(glob("*api*").shape(), Glob::Shape::kContains);
  EXPECT_EQ(glob("*").shape(), Glob::Shape::kAnything);
  EXPECT_EQ(glob("**").shape(), Glob::Shape::kAnything);
  EXPECT_EQ(glob("a**").shape(), Glob::Shape::kPrefix);
  EXPECT_EQ(glob("a\\*").shape(), Glob::Shape::kExact);
  EXPECT_EQ(glob("a\\*").literal(), "a*");
  EXPECT_EQ(glob("a*b").shape(), Glob::Shape::kGeneral);
  EXPECT_EQ(glob("a?").shape(), Glob::Shape::kGeneral);
  EXPECT_EQ(glob("[ab]*").shape(), Glob::Shape::kGeneral);
  EXPECT_EQ(glob("*a*b*").shape(), Glob::Shape::kGeneral);
}

TEST(PolicyGlob, Matching) {
  struct Case {
    std::string_view pattern, text;
    bool matches;
  };
  const Case cases[] = {
      {"alice", "alice", true},
      {"alice", "alice2", false},
      {"alice-*", "alice-", true},
      {"alice-*", "alice-api", true},
      {"alice-*", "alic", false},
      {"*-staging", "web-staging", true},
      {"*-staging", "-staging", true},
      {"*-staging", "web-stagingx", false},
      {"*api*", "my-api-1", true},
      {"*api*", "ap", false},
      {"*", "", true},
      {"*", "anything/at/all", true},
      {"a*b", "ab", true},
      {"a*b", "axxb", true},
      {"a*b", "axxbc", false},
      {"a*b*c", "abbbc", true},
      {"a*b*c", "acb", false},
      {"*a*b*", "xaxbx", true},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"a?c", "abbc", false},
      {"[abc]-*", "b-1", true},
      {"[abc]-*", "d-1", false},
      {"[a-c][!0-9]", "bx", true},
      {"[a-c][!0-9]", "b7", false},
      {"[^a]", "b", true},
      {"[]a]", "]", true},
      {"[a\\]]", "]", true},
      {"a\\?", "a?", true},
      {"a\\?", "ab", false},
      {"/api/*/items", "/api/v1/x/items", true},
      {"*.*", "a.b", true},
      {"*.*", "ab", false},
      {"", "", true},
      {"", "a", false},
  };
  for (const Case& test : cases) {
    EXPECT_EQ(glob(test.pattern).matches(test.text), test.matches)
        << test.pattern << " vs " << test.text;
  }
}

TEST(PolicyGlob, Errors) {
  EXPECT_EQ(Glob::compile("a\\").error().message, "bad glob \"a\\\": it ends with a lone \\");
  EXPECT_EQ(Glob::compile("a[bc").error().message,
            "bad glob \"a[bc\": the [ at position 2 is never closed with ]");
  EXPECT_EQ(Glob::compile("[]").error().message,
            "bad glob \"[]\": the [ at position 1 is never closed with ]");
  EXPECT_EQ(Glob::compile("[9-0]").error().message,
            "bad glob \"[9-0]\": the range 9-0 runs backwards");
}

TEST(PolicyIp, ParsesAndPrints) {
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->to_string(), "10.0.0.1");
  EXPECT_EQ(IpAddress::parse("2001:DB8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.1")->family(), IpAddress::Family::kV4);
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.1")->to_string(), "192.0.2.1");
  EXPECT_EQ(*IpAddress::parse("10.0.0.1"), IpAddress::v4(0x0a000001));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("10.0.0"));
  EXPECT_FALSE(IpAddress::parse("10.0.0.256"));
  EXPECT_FALSE(IpAddress::parse("fe80::1%eth0"));
  EXPECT_FALSE(IpAddress::parse("host.example.com"));
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1')));
  EXPECT_TRUE(IpAddress().empty());
}

TEST(PolicyIp, FromSockaddr) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0xc0000201);
  EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4)).to_string(),
            "192.0.2.1");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr.s6_addr[0] = 0x20;
  v6.sin6_addr.s6_addr[1] = 0x01;
  v6.sin6_addr.s6_addr[15] = 0x05;
  EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6)).to_string(),
            "2001::5");
  std::memset(v6.sin6_addr.s6_addr, 0, 16);
  v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xff;
  v6.sin6_addr.s6_addr[12] = 10;
  EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6)),
            IpAddress::v4(0x0a000000));
  EXPECT_TRUE(IpAddress::from_sockaddr(nullptr).empty());
}

bool in(std::string_view block, std::string_view address) {
  auto cidr = Cidr::parse(block);
  EXPECT_TRUE(cidr.ok()) << block;
  return cidr.ok() && cidr->contains(*IpAddress::parse(address));
}

TEST(PolicyCidr, V4) {
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.255.255"));
  EXPECT_TRUE(in("10.0.0.0/8", "10.0.0.0"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.0"));
  EXPECT_FALSE(in("10.0.0.0/8", "9.255.255.255"));
  EXPECT_TRUE(in("192.168.4.0/22", "192.168.7.255"));
  EXPECT_FALSE(in("192.168.4.0/22", "192.168.8.0"));
  EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(in("203.0.113.9/32", "203.0.113.9"));
  EXPECT_TRUE(in("203.0.113.9", "203.0.113.9"));
  EXPECT_FALSE(in("203.0.113.9", "203.0.113.8"));
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));  // families never mix
  EXPECT_EQ(Cidr::parse("10.0.0.0/8")->prefix(), 8u);
}

TEST(PolicyCidr, V6) {
  EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(in("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1"));
  EXPECT_FALSE(in("2001:db8:0:0:8000::/65", "2001:db8::7fff:0:0:1"));
  EXPECT_TRUE(in("::/0", "fe80::1"));
  EXPECT_FALSE(in("::/0", "10.0.0.1"));
  EXPECT_TRUE(in("::1/128", "::1"));
  EXPECT_FALSE(in("::1/128", "::2"));
  EXPECT_TRUE(in("fd00::/8", "fdff:ffff::1"));
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.1.2.3"));
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
}

TEST(PolicyCidr, Errors) {
  EXPECT_EQ(Cidr::parse("10.0.0.0/").error().message,
            "the prefix length after \"/\" must be a number from 0 to 32");
  EXPECT_EQ(Cidr::parse("10.0.0.0/8x").error().message,
            "the prefix length after \"/\" must be a number from 0 to 32");
  EXPECT_EQ(Cidr::parse("10.0.0.0/-1").error().message,
            "the prefix length after \"/\" must be a number from 0 to 32");
  EXPECT_EQ(Cidr::parse("::/129").error().message,
            "the prefix length after \"/\" must be a number from 0 to 128");
  EXPECT_EQ(Cidr::parse("10.0.0/8").error().message, "\"10.0.0\" is not an IP address");
  EXPECT_EQ(Cidr::parse("/8").error().message, "\"\" is not an IP address");
  EXPECT_EQ(Cidr::parse("2001:db8::1/32").error().message,
            "\"2001:db8::1/32\" has address bits set past the /32 prefix; did you mean "
            "\"2001:db8::/32\"?");
  EXPECT_EQ(Cidr::parse("::ffff:10.0.0.0/64").error().message,
            "an IPv4-mapped block needs a prefix of at least /96");
}

// The rules the index finds for a name, each once, sorted.
std::vector<std::uint32_t> lookup(const NameIndex& index, std::string_view name) {
  std::set<std::uint32_t> rules;
  index.for_each_match(name, [&](std::uint32_t rule) { rules.insert(rule); });
  return {rules.begin(), rules.end()};
}

TEST(PolicyNameIndex, FindsEveryShape) {
  NameIndex index;
  index.add(glob("billing"), 0);
  index.add(glob("alice-*"), 1);
  index.add(glob("alice-api"), 2);
  index.add(glob("*-staging"), 3);
  index.add(glob("*"), 4);
  index.add(glob("a?ice-*"), 5);
  index.add(glob("*-api*"), 6);
  index.add(glob("alice-*"), 7);
  index.add(glob("al*"), 7);  // a rule with two globs matching the same name
  index.add(glob("billing"), 8);
  index.build();
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(lookup(index, "billing"), (V{0, 4, 8}));
  EXPECT_EQ(lookup(index, "alice-api"), (V{1, 2, 4, 5, 6, 7}));
  EXPECT_EQ(lookup(index, "alice-staging"), (V{1, 3, 4, 5, 7}));
  EXPECT_EQ(lookup(index, "alice-"), (V{1, 4, 5, 7}));
  EXPECT_EQ(lookup(index, "alic"), (V{4, 7}));
  EXPECT_EQ(lookup(index, "bob"), (V{4}));
  EXPECT_EQ(lookup(index, ""), (V{4}));
}

TEST(PolicyNameIndex, LongLabelsSplitAcrossNodes) {
  NameIndex index;
  index.add(glob("a-very-long-prefix-shared-by-two-rules-*"), 0);
  index.add(glob("a-very-long-prefix-shared-by-two-rules-x*"), 1);
  index.add(glob("a-very-long-prefix-that-differs-late-*"), 2);
  index.add(glob("*-an-equally-long-suffix-for-the-reverse-walk"), 3);
  index.add(glob("a-very-long-prefix-shared-by-two-rules-xyz-exactly"), 4);
  index.build();
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(lookup(index, "a-very-long-prefix-shared-by-two-rules-"), (V{0}));
  EXPECT_EQ(lookup(index, "a-very-long-prefix-shared-by-two-rules-xyz-exactly"), (V{0, 1, 4}));
  EXPECT_EQ(lookup(index, "a-very-long-prefix-shared-by-two-rule"), V{});
  EXPECT_EQ(lookup(index, "a-very-long-prefix-that-differs-late-1"), (V{2}));
  EXPECT_EQ(lookup(index, "a-very-long-prefix-that-differs-late"), V{});
  EXPECT_EQ(lookup(index, "x-an-equally-long-suffix-for-the-reverse-walk"), (V{3}));
  EXPECT_EQ(lookup(index, "an-equally-long-suffix-for-the-reverse-walk"), V{});
}

TEST(PolicyNameIndex, EmptyIndexFindsNothing) {
  NameIndex index;
  index.build();
  EXPECT_TRUE(lookup(index, "anything").empty());
}

TEST(PolicyNameIndex, ManyPrefixesShareATrie) {
  NameIndex index;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    index.add(glob("tenant-" + std::to_string(i) + "-*"), i);
  }
  index.add(glob("tenant-42"), 20000);
  index.build();
  using V = std::vector<std::uint32_t>;
  EXPECT_EQ(lookup(index, "tenant-42-api"), (V{42}));
  EXPECT_EQ(lookup(index, "tenant-4242-api"), (V{4242}));
  EXPECT_EQ(lookup(index, "tenant-9999-"), (V{9999}));
  EXPECT_EQ(lookup(index, "tenant-42"), (V{20000}));
  EXPECT_EQ(lookup(index, "tenant-10000-x"), V{});
  EXPECT_EQ(lookup(index, "other"), V{});
}

}  // namespace
}  // namespace tg::policy
