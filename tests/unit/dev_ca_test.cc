#include "tls/dev_ca.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tls/tls.h"
#include "tls/wolfssl_includes.h"

namespace tg::tls {
namespace {

class DevCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_library();
    char pattern[] = "/tmp/tg-devca-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(DevCaTest, IssuedLeafVerifiesAgainstTheWrittenCaAndNamesTheHost) {
  const std::string ca = dir_ + "/dev-ca.pem";
  const std::string ca_cert = dir_ + "/ca.pem";
  auto created = create_dev_ca(ca, ca_cert);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto authority = DevCertificateAuthority::load(ca);
  ASSERT_TRUE(authority.ok()) << authority.error().message;

  const auto* leaf = (*authority)->leaf_for("notes.localhost");
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ((*authority)->leaf_for("notes.localhost"), leaf) << "issued once, then cached";

  WOLFSSL_CERT_MANAGER* manager = wolfSSL_CertManagerNew();
  ASSERT_EQ(wolfSSL_CertManagerLoadCA(manager, ca_cert.c_str(), nullptr), WOLFSSL_SUCCESS);
  EXPECT_EQ(wolfSSL_CertManagerVerifyBuffer(manager, leaf->data(), static_cast<long>(leaf->size()),
                                            WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  wolfSSL_CertManagerFree(manager);

  // The subjectAltName entry: dNSName [2] with the host (curl checks it for real in the
  // integration tests; this catches a certificate issued for the wrong name).
  const std::string der(leaf->begin(), leaf->end());
  EXPECT_NE(der.find(std::string("\x82\x0f") + "notes.localhost"), std::string::npos);
  EXPECT_EQ(der.find("other.localhost"), std::string::npos);
}

TEST_F(DevCaTest, RefusesImplausibleHosts) {
  const std::string ca = dir_ + "/dev-ca.pem";
  ASSERT_TRUE(create_dev_ca(ca, dir_ + "/ca.pem").ok());
  auto authority = DevCertificateAuthority::load(ca);
  ASSERT_TRUE(authority.ok());
  EXPECT_EQ((*authority)->leaf_for(""), nullptr);
  EXPECT_EQ((*authority)->leaf_for("bad name"), nullptr);
  EXPECT_EQ((*authority)->leaf_for(std::string(200, 'a')), nullptr);
}

TEST_F(DevCaTest, MissingFileIsAClearError) {
  auto authority = DevCertificateAuthority::load(dir_ + "/absent.pem");
  ASSERT_FALSE(authority.ok());
  EXPECT_NE(authority.error().message.find("absent.pem"), std::string::npos);
}

}  // namespace
}  // namespace tg::tls

namespace tg::tls {
namespace {

TEST_F(DevCaTest, ServerContextStartsASessionForAnyPlausibleName) {
  const std::string ca = dir_ + "/dev-ca.pem";
  ASSERT_TRUE(create_dev_ca(ca, dir_ + "/ca.pem").ok());
  auto context = ServerTlsContext::with_dev_ca(ca);
  ASSERT_TRUE(context.ok()) << context.error().message;
  WOLFSSL* ssl = (*context)->new_session("demo.localhost");
  ASSERT_NE(ssl, nullptr);
  wolfSSL_free(ssl);
  EXPECT_EQ((*context)->new_session(""), nullptr);
}

}  // namespace
}  // namespace tg::tls
