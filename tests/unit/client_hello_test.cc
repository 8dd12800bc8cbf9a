#include "tls/client_hello.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/unit/client_hello_fixture.h"

namespace tg::tls {
namespace {

// Hand-assembled ClientHellos, so each field can be broken on purpose.
std::string u8(std::size_t n) {
  return std::string(1, static_cast<char>(n & 0xff));
}
std::string u16(std::size_t n) {
  return u8(n >> 8) + u8(n);
}
std::string u24(std::size_t n) {
  return u8(n >> 16) + u16(n);
}

std::string extension(std::size_t type, const std::string& data) {
  return u16(type) + u16(data.size()) + data;
}

std::string sni_extension(const std::vector<std::string>& host_names) {
  std::string list;
  for (const std::string& name : host_names) list += u8(0) + u16(name.size()) + name;
  return extension(0, u16(list.size()) + list);
}

std::string alpn_extension(const std::vector<std::string>& protocols) {
  std::string list;
  for (const std::string& protocol : protocols) list += u8(protocol.size()) + protocol;
  return extension(16, u16(list.size()) + list);
}

// supported_versions (43) offering TLS 1.3, as every modern client sends.
const std::string kSupportedVersions = extension(43, u8(2) + "\x03\x04");

std::string hello_body(const std::string& extensions, bool with_extensions = true,
                       const std::string& session_id = std::string(32, 's'),
                       const std::string& cipher_suites = "\x13\x01\x13\x02",
                       const std::string& compression = std::string(1, '\0')) {
  std::string body = "\x03\x03" + std::string(32, 'r');
  body += u8(session_id.size()) + session_id;
  body += u16(cipher_suites.size()) + cipher_suites;
  body += u8(compression.size()) + compression;
  if (with_extensions) body += u16(extensions.size()) + extensions;
  return body;
}

std::string handshake(const std::string& body) {
  return "\x01" + u24(body.size()) + body;
}

std::string record(const std::string& payload, char type = 22) {
  return std::string(1, type) + "\x03\x01" + u16(payload.size()) + payload;
}

// `message` cut into records of at most `size` bytes each.
std::string records_of(const std::string& message, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); i += size) out += record(message.substr(i, size));
  return out;
}

std::string hello(const std::string& extensions) {
  return record(handshake(hello_body(extensions)));
}

class PeekTest : public ::testing::Test {
 protected:
  ClientHelloPeek peek(std::string_view bytes) { return peek_client_hello(bytes, scratch_.get()); }
  PeekState state(std::string_view bytes) { return peek(bytes).state; }

  std::unique_ptr<char[]> scratch_ = std::make_unique<char[]>(kMaxClientHelloBytes);
};

TEST_F(PeekTest, ReadsOpensslClientHello) {
  std::string_view bytes = testing::openssl_client_hello();
  ClientHelloPeek result = peek(bytes);
  ASSERT_EQ(result.state, PeekState::kComplete);
  EXPECT_EQ(result.server_name, "notes.example.test");
  EXPECT_TRUE(result.offers_http11);
  // One record: the name is a view into the input, nothing was copied.
  EXPECT_GE(result.server_name.data(), bytes.data());
  EXPECT_LE(result.server_name.data() + result.server_name.size(), bytes.data() + bytes.size());
}

TEST_F(PeekTest, EveryPrefixOfOpensslClientHelloIsIncomplete) {
  std::string_view bytes = testing::openssl_client_hello();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(state(bytes.substr(0, n)), PeekState::kIncomplete) << "prefix " << n;
  }
}

TEST_F(PeekTest, IgnoresBytesAfterTheClientHello) {
  std::string bytes(testing::openssl_client_hello());
  bytes += record("early data", 23);
  EXPECT_EQ(peek(bytes).server_name, "notes.example.test");
}

TEST_F(PeekTest, JoinsClientHelloSplitAcrossTwoRecords) {
  std::string_view whole = testing::openssl_client_hello();
  std::string message(whole.substr(5));
  std::string bytes = record(message.substr(0, 100)) + record(message.substr(100));
  ClientHelloPeek result = peek(bytes);
  ASSERT_EQ(result.state, PeekState::kComplete);
  EXPECT_EQ(result.server_name, "notes.example.test");
  EXPECT_TRUE(result.offers_http11);
  EXPECT_GE(result.server_name.data(), scratch_.get());
  EXPECT_LT(result.server_name.data(), scratch_.get() + kMaxClientHelloBytes);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(state(std::string_view(bytes).substr(0, n)), PeekState::kIncomplete) << n;
  }
}

TEST_F(PeekTest, JoinsRecordsSplitInsideTheHandshakeHeader) {
  std::string message(testing::openssl_client_hello().substr(5));
  for (std::size_t size : {1, 2, 3, 7, 64}) {
    std::string bytes = records_of(message, size);
    ClientHelloPeek result = peek(bytes);
    ASSERT_EQ(result.state, PeekState::kComplete) << size;
    EXPECT_EQ(result.server_name, "notes.example.test") << size;
  }
}

TEST_F(PeekTest, NoServerNameIsCompleteWithEmptyName) {
  std::string bytes = hello(kSupportedVersions + alpn_extension({"http/1.1"}));
  ClientHelloPeek result = peek(bytes);
  EXPECT_EQ(result.state, PeekState::kComplete);
  EXPECT_TRUE(result.server_name.empty());
  EXPECT_TRUE(result.offers_http11);
}

TEST_F(PeekTest, NoExtensionsAtAllIsComplete) {
  std::string bytes = record(handshake(hello_body("", false)));
  ClientHelloPeek result = peek(bytes);
  EXPECT_EQ(result.state, PeekState::kComplete);
  EXPECT_TRUE(result.server_name.empty());
  EXPECT_TRUE(result.offers_http11);
}

TEST_F(PeekTest, AlpnDecidesHttp11) {
  std::string sni = sni_extension({"a.example.test"});
  EXPECT_TRUE(peek(hello(sni)).offers_http11);  // absent: any client speaks HTTP/1.1
  EXPECT_FALSE(peek(hello(sni + alpn_extension({"h2"}))).offers_http11);
  EXPECT_FALSE(peek(hello(sni + alpn_extension({"http/1.0", "acme-tls/1"}))).offers_http11);
  EXPECT_TRUE(peek(hello(sni + alpn_extension({"h2", "http/1.1"}))).offers_http11);
  EXPECT_TRUE(peek(hello(alpn_extension({"http/1.1"}) + sni)).offers_http11);
  EXPECT_EQ(peek(hello(sni + alpn_extension({"h2"}))).server_name, "a.example.test");
}

TEST_F(PeekTest, SkipsOtherNameTypes) {
  std::string list = u8(7) + u16(3) + "xyz" + u8(0) + u16(4) + "a.bc";
  std::string bytes = hello(extension(0, u16(list.size()) + list));  // outlives the view
  ClientHelloPeek result = peek(bytes);
  EXPECT_EQ(result.state, PeekState::kComplete);
  EXPECT_EQ(result.server_name, "a.bc");
}

TEST_F(PeekTest, OtherProtocolsAreNotTls) {
  using namespace std::string_view_literals;  // keeps the NUL bytes below
  for (std::string_view bytes :
       {"GET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, "G"sv, "SSH-2.0-OpenSSH_9.2\r\n"sv,
        "PRI * HTTP/2.0"sv, "\x16\x02"sv, "\x16\x03\x00"sv, "\x16\x03\x04\x00\x10"sv,
        "\x80\x2e\x01\x00\x02"sv}) {
    EXPECT_EQ(state(bytes), PeekState::kNotTls) << bytes;
  }
}

TEST_F(PeekTest, ShortPrefixesOfARecordHeaderAreIncomplete) {
  EXPECT_EQ(state(""), PeekState::kIncomplete);
  EXPECT_EQ(state("\x16"), PeekState::kIncomplete);
  EXPECT_EQ(state("\x16\x03"), PeekState::kIncomplete);
  EXPECT_EQ(state("\x16\x03\x03\x01"), PeekState::kIncomplete);
}

TEST_F(PeekTest, BrokenRecordLengthsAreMalformed) {
  EXPECT_EQ(state(std::string("\x16\x03\x01\x00\x00", 5)), PeekState::kMalformed);
  EXPECT_EQ(state("\x16\x03\x01\x41\x01"), PeekState::kMalformed);  // 16641 > 2^14 + 256
}

TEST_F(PeekTest, OtherHandshakeMessagesAreMalformed) {
  std::string server_hello = "\x02" + u24(40) + std::string(40, 'x');
  EXPECT_EQ(state(record(server_hello)), PeekState::kMalformed);
  // Judged from the handshake header alone, before the record is complete.
  EXPECT_EQ(state(record(server_hello).substr(0, 9)), PeekState::kMalformed);
}

TEST_F(PeekTest, OversizedClientHelloIsMalformed) {
  // Refused from its header, before the 20 KB arrive.
  std::string header = "\x01" + u24(20000);
  EXPECT_EQ(state(record(header + std::string(100, 'x')).substr(0, 9)), PeekState::kMalformed);
  // Exactly at the limit is accepted, one byte more is not.
  std::string padding_at_limit(kMaxClientHelloBytes - hello_body("").size() - 4 - 4, 'p');
  std::string at_limit = handshake(hello_body(extension(21, padding_at_limit)));
  ASSERT_EQ(at_limit.size(), kMaxClientHelloBytes);
  EXPECT_EQ(state(records_of(at_limit, 16384)), PeekState::kComplete);
  EXPECT_EQ(state(records_of(at_limit, 1000)), PeekState::kComplete);
  std::string over = handshake(hello_body(extension(21, padding_at_limit + "p")));
  EXPECT_EQ(state(records_of(over, 16384)), PeekState::kMalformed);
  EXPECT_EQ(state(records_of(over, 1000)), PeekState::kMalformed);
}

TEST_F(PeekTest, InterruptedHandshakeIsMalformed) {
  std::string message(testing::openssl_client_hello().substr(5));
  std::string alert = record("\x02\x28", 21);
  EXPECT_EQ(state(record(message.substr(0, 100)) + alert), PeekState::kMalformed);
}

TEST_F(PeekTest, BrokenFieldLengthsAreMalformed) {
  std::string sni = sni_extension({"a.example.test"});
  std::string body = hello_body(sni);
  EXPECT_EQ(state(record(handshake(body))), PeekState::kComplete);  // the control
  // A handshake length one short of the body cuts the extensions block; one byte of junk
  // after the extensions leaves the message longer than its fields.
  EXPECT_EQ(state(record("\x01" + u24(body.size() - 1) + body)), PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(body + "x"))), PeekState::kMalformed);
  // A handshake length beyond the record is not an error: the rest may follow in the next.
  std::string cut = "\x01" + u24(body.size()) + body.substr(0, body.size() - 3);
  EXPECT_EQ(state(record(cut)), PeekState::kIncomplete);
  // Session id over 32 bytes, odd or empty cipher suites, no compression method.
  EXPECT_EQ(state(record(handshake(hello_body(sni, true, std::string(33, 's'))))),
            PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(hello_body(sni, true, "", "\x13\x01\x13")))),
            PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(hello_body(sni, true, "", "")))), PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(hello_body(sni, true, "", "\x13\x01", "")))),
            PeekState::kMalformed);
  // Extensions block longer or shorter than the rest of the message.
  std::string fields = hello_body("", false);
  EXPECT_EQ(state(record(handshake(fields + u16(sni.size() + 1) + sni))), PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(fields + u16(sni.size() - 1) + sni))), PeekState::kMalformed);
  EXPECT_EQ(state(record(handshake(fields + std::string(1, '\0')))), PeekState::kMalformed);
  // One extension running past the block.
  std::string overrun = u16(0) + u16(50) + "abc";
  EXPECT_EQ(state(record(handshake(fields + u16(overrun.size()) + overrun))),
            PeekState::kMalformed);
}

TEST_F(PeekTest, BrokenServerNameIsMalformed) {
  auto with_sni_data = [](const std::string& data) { return hello(extension(0, data)); };
  EXPECT_EQ(state(with_sni_data("")), PeekState::kMalformed);
  EXPECT_EQ(state(with_sni_data(u16(0))), PeekState::kMalformed);  // empty list
  EXPECT_EQ(state(with_sni_data(u16(6) + u8(0) + u16(4) + "abcd")), PeekState::kMalformed);
  EXPECT_EQ(state(with_sni_data(u16(8) + u8(0) + u16(5) + "abcd")), PeekState::kMalformed);
  EXPECT_EQ(state(with_sni_data(u16(7) + u8(0) + u16(4) + "abcd" + "z")), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({""}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({std::string("a\0b", 3)}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({"a\x1b[2Jb"}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({"caf\xc3\xa9.test"}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({"a b"}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({"a.test", "b.test"}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(sni_extension({"a.test"}) + sni_extension({"b.test"}))),
            PeekState::kMalformed);
  std::string longest(253, 'a');
  EXPECT_EQ(peek(hello(sni_extension({longest}))).server_name, longest);
  EXPECT_EQ(state(hello(sni_extension({longest + "a"}))), PeekState::kMalformed);
}

TEST_F(PeekTest, BrokenAlpnIsMalformed) {
  EXPECT_EQ(state(hello(extension(16, ""))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(extension(16, u16(0)))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(alpn_extension({""}))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(extension(16, u16(3) + u8(5) + "h2"))), PeekState::kMalformed);
  EXPECT_EQ(state(hello(alpn_extension({"h2"}) + alpn_extension({"http/1.1"}))),
            PeekState::kMalformed);
}

// Every single-byte corruption of the real hello must give some answer without reading out of
// bounds (run under -DTG_SANITIZE=ON to make that check meaningful).
TEST_F(PeekTest, SurvivesEveryByteCorruption) {
  std::string bytes(testing::openssl_client_hello());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int value : {0x00, 0x01, 0x7f, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(value);
      ClientHelloPeek result = peek(corrupt);
      if (result.state == PeekState::kComplete && !result.server_name.empty()) {
        EXPECT_LE(result.server_name.size(), 253u);
      }
    }
  }
}

}  // namespace
}  // namespace tg::tls
