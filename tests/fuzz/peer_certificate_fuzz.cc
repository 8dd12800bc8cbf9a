// Fuzzes describe_certificate, the DER reader behind tls.client_cert.subject and .san. Only
// certificates wolfSSL verified reach it in the relay, but it must hold on any bytes. Checked
// beyond memory safety: a described certificate has an OpenSSH-form fingerprint of exactly its
// bytes, a subject without raw control bytes (they are escaped as \XX), alternative names that
// are not empty, and the same answer a second time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tls/peer_certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view der = tg::fuzz::as_text(data, size);
  const auto described = tg::tls::describe_certificate(der);
  if (!described.ok()) {
    FUZZ_CHECK(!described.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(described->fingerprint == tg::tls::sha256_fingerprint(der));
  FUZZ_CHECK(described->fingerprint.size() == 7 + 43);  // "SHA256:" + 32 bytes in base64
  for (char c : described->subject) {
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
  for (const auto& name : described->san) FUZZ_CHECK(!name.empty());
  const auto again = tg::tls::describe_certificate(der);
  FUZZ_CHECK(again.ok() && again->subject == described->subject && again->san == described->san);
  return 0;
}
