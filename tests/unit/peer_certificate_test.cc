#include "tls/peer_certificate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tg::tls {
namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// openssl req -x509 -subj '/DC=example/DC=com/C=US/O=Acme, Inc./OU=bots+UID=7/CN=#bot <1> '
//   '/emailAddress=bot@acme.test' -addext 'subjectAltName=DNS:bot.acme.test,email:bot@acme.test,'
//   'URI:spiffe://acme/bot,IP:192.0.2.1,IP:2001:db8::1'
const std::string kRichCertificate = from_hex(
    "308202f230820297a00302010202142939223e938b912bd436258320e1f0a377bf69c4300a06082a8648ce3d"
    "0403023081a231173015060a0992268993f22c64011916076578616d706c6531133011060a0992268993f22c"
    "6401191603636f6d310b300906035504061302555331133011060355040a0c0a41636d652c20496e632e311e"
    "300b060355040b0c04626f7473300f060a0992268993f22c6401010c01373112301006035504030c0923626f"
    "74203c313e20311c301a06092a864886f70d010901160d626f744061636d652e74657374301e170d32363131"
    "32363131303434335a170d3336313132333131303434335a3081a231173015060a0992268993f22c64011916"
    "076578616d706c6531133011060a0992268993f22c6401191603636f6d310b30090603550406130255533113"
    "3011060355040a0c0a41636d652c20496e632e311e300b060355040b0c04626f7473300f060a0992268993f2"
    "2c6401010c01373112301006035504030c0923626f74203c313e20311c301a06092a864886f70d010901160d"
    "626f744061636d652e746573743059301306072a8648ce3d020106082a8648ce3d0301070342000411304767"
    "2ed7f89f1ce2697f49daaf2c31b47116c78c802e0026b69f9aa48a9ecb5d89b55c1dce9d250ee41ffd56a4ee"
    "b0a6a226316dd9e112e8d6ac11ec4064a381a83081a5301d0603551d0e0416041494bec83c87b03d8001465d"
    "8446f5291a1a55fdb7301f0603551d2304183016801494bec83c87b03d8001465d8446f5291a1a55fdb7300f"
    "0603551d130101ff040530030101ff30520603551d11044b3049820d626f742e61636d652e74657374810d62"
    "6f744061636d652e7465737486117370696666653a2f2f61636d652f626f748704c0000201871020010db800"
    "0000000000000000000001300a06082a8648ce3d0403020349003046022100fb96a84a2c7d81d857dabb54c5"
    "a2a7c5dda1bac0192ce452d3ce29746086ccc4022100b917a4cbef7068471b1badf04731879bb5b5f2973412"
    "50d969f58575f2469095");

// openssl req -x509 -utf8 -subj "/2.5.4.97=VATDE-123/CN=café": no SAN, a non-ASCII name and
// an attribute without a short name.
const std::string kPlainCertificate = from_hex(
    "3082019d30820143a00302010202146a7e087f7d54faa4be5984810f17b4fcd96b29c2300a06082a8648ce3d"
    "04030230243112301006035504610c0956415444452d313233310e300c06035504030c05636166c3a9301e17"
    "0d3236313132363131303530335a170d3336313132333131303530335a30243112301006035504610c095641"
    "5444452d313233310e300c06035504030c05636166c3a93059301306072a8648ce3d020106082a8648ce3d03"
    "010703420004113047672ed7f89f1ce2697f49daaf2c31b47116c78c802e0026b69f9aa48a9ecb5d89b55c1d"
    "ce9d250ee41ffd56a4eeb0a6a226316dd9e112e8d6ac11ec4064a3533051301d0603551d0e0416041494bec8"
    "3c87b03d8001465d8446f5291a1a55fdb7301f0603551d2304183016801494bec83c87b03d8001465d8446f5"
    "291a1a55fdb7300f0603551d130101ff040530030101ff300a06082a8648ce3d040302034800304502207ee8"
    "d20faff828318e11dfe0f26076867816b74a235071ac974d5a03684e90d802210083227f6ce100d442266e4e"
    "9b9574a1fc9e48fa4f504a2d93e783848ffeae7a5c");

TEST(PeerCertificate, SubjectReadsAsOpensslPrintsItInRfc2253) {
  auto described = describe_certificate(kRichCertificate);
  ASSERT_TRUE(described.ok()) << described.error().message;
  // `openssl x509 -noout -subject -nameopt RFC2253` prints exactly this.
  EXPECT_EQ(described->subject,
            R"(emailAddress=bot@acme.test,CN=\#bot \<1\>\ ,UID=7+OU=bots,O=Acme\, Inc.,C=US,)"
            R"(DC=com,DC=example)");
}

TEST(PeerCertificate, AlternativeNamesInCertificateOrder) {
  auto described = describe_certificate(kRichCertificate);
  ASSERT_TRUE(described.ok()) << described.error().message;
  EXPECT_EQ(described->san,
            (std::vector<std::string>{"bot.acme.test", "bot@acme.test", "spiffe://acme/bot",
                                      "192.0.2.1", "2001:db8::1"}));
}

TEST(PeerCertificate, FingerprintIsSha256OfTheDerInOpensshForm) {
  // python3: "SHA256:" + base64(sha256(der)).rstrip("=")
  EXPECT_EQ(describe_certificate(kRichCertificate)->fingerprint,
            "SHA256:I3P7Ty9ewY0vAHkLW1W8izhzKWQ+b+mNnozR/+lPlxs");
  EXPECT_EQ(describe_certificate(kPlainCertificate)->fingerprint,
            "SHA256:QIEs8xcLoe3dvgtRCCrKFDO1ORdRoYzhR0ZRvdNKj/0");
  EXPECT_EQ(sha256_fingerprint(""), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

TEST(PeerCertificate, Utf8StaysTextAndUnknownAttributesAreHex) {
  auto described = describe_certificate(kPlainCertificate);
  ASSERT_TRUE(described.ok()) << described.error().message;
  EXPECT_EQ(described->subject, "CN=caf\xc3\xa9,2.5.4.97=#0C0956415444452D313233");
  EXPECT_TRUE(described->san.empty());
}

TEST(PeerCertificate, EveryTruncationAndCorruptionIsAnErrorNotACrash) {
  for (const std::string* der : {&kRichCertificate, &kPlainCertificate}) {
    for (std::size_t cut = 0; cut < der->size(); ++cut) {
      EXPECT_FALSE(describe_certificate(std::string_view(*der).substr(0, cut)).ok()) << cut;
    }
    EXPECT_FALSE(describe_certificate(*der + "x").ok()) << "trailing bytes";
  }
  std::string indefinite = kPlainCertificate;
  indefinite[1] = static_cast<char>(0x80);
  EXPECT_FALSE(describe_certificate(indefinite).ok());
  EXPECT_FALSE(describe_certificate("not a certificate").ok());
}

}  // namespace
}  // namespace tg::tls
