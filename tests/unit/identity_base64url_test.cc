#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "relay/identity/base64url.h"

namespace tg::identity {
namespace {

TEST(Base64Url, DecodesRfc4648Vectors) {
  // RFC 4648 §10 without padding.
  EXPECT_EQ(decode_base64url(""), "");
  EXPECT_EQ(decode_base64url("Zg"), "f");
  EXPECT_EQ(decode_base64url("Zm8"), "fo");
  EXPECT_EQ(decode_base64url("Zm9v"), "foo");
  EXPECT_EQ(decode_base64url("Zm9vYg"), "foob");
  EXPECT_EQ(decode_base64url("Zm9vYmE"), "fooba");
  EXPECT_EQ(decode_base64url("Zm9vYmFy"), "foobar");
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  EXPECT_EQ(decode_base64url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(decode_base64url("+/8"));  // the standard alphabet's spelling
  EXPECT_EQ(encode_base64url(std::string("\xfb\xff", 2)), "-_8");
}

TEST(Base64Url, RefusesPaddingWhitespaceAndOtherCharacters) {
  EXPECT_FALSE(decode_base64url("Zg=="));
  EXPECT_FALSE(decode_base64url("Zm8="));
  EXPECT_FALSE(decode_base64url("Zm9v "));
  EXPECT_FALSE(decode_base64url("Zm 9v"));
  EXPECT_FALSE(decode_base64url("Zm9v\n"));
  EXPECT_FALSE(decode_base64url("Zm9.v"));
  EXPECT_FALSE(decode_base64url(std::string("Zm\0v", 4)));
  EXPECT_FALSE(decode_base64url("Zm9\xc3\xa9"));
}

TEST(Base64Url, RefusesImpossibleLengths) {
  EXPECT_FALSE(decode_base64url("Z"));
  EXPECT_FALSE(decode_base64url("Zm9vY"));
  EXPECT_FALSE(base64url_decoded_size(1));
  EXPECT_FALSE(base64url_decoded_size(5));
  EXPECT_EQ(base64url_decoded_size(0), 0u);
  EXPECT_EQ(base64url_decoded_size(2), 1u);
  EXPECT_EQ(base64url_decoded_size(3), 2u);
  EXPECT_EQ(base64url_decoded_size(4), 3u);
  EXPECT_EQ(base64url_decoded_size(6), 4u);
}

TEST(Base64Url, RefusesNonZeroUnusedBits) {
  // "Zg" is "f"; "Zh" spells the same byte with a stray low bit.
  EXPECT_FALSE(decode_base64url("Zh"));
  EXPECT_FALSE(decode_base64url("Zm9"));  // "Zm8" is canonical for "fo"
  EXPECT_TRUE(decode_base64url("Zm8"));
}

TEST(Base64Url, DecodesIntoACallersBufferAndRefusesOneTooSmall) {
  std::uint8_t buffer[6];
  EXPECT_EQ(decode_base64url("Zm9vYmFy", buffer), 6u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buffer), 6), "foobar");
  std::uint8_t small[5];
  EXPECT_FALSE(decode_base64url("Zm9vYmFy", small));
}

TEST(Base64Url, RoundTripsRandomBytes) {
  std::mt19937 random(7);
  for (int size = 0; size < 200; ++size) {
    std::string bytes(static_cast<std::size_t>(size), '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const std::string text = encode_base64url(bytes);
    EXPECT_EQ(text.find('='), std::string::npos);
    EXPECT_EQ(decode_base64url(text), bytes) << size;
  }
}

}  // namespace
}  // namespace tg::identity
