/// What the relay knows about a visitor's client certificate (mTLS), for policy and audit.
///
/// With `[https] client_certs = "optional"` or `"required"`, wolfSSL verifies the certificate a
/// visitor sends against `client_ca` during the handshake; only a certificate that passed is
/// ever described here (`TlsStream::peer_certificate`). The description is three strings a
/// policy compares: the fingerprint, the subject and the subject alternative names.
///
/// `describe_certificate` reads them from the certificate's DER with a small reader of its own
/// (a pure function over bytes): wolfSSL without its OpenSSL compatibility layer prints names
/// only as unescaped "/C=../CN=.." and keeps DNS and URI alternative names but not e-mail
/// addresses. The reader walks only what it needs (the subject and the subjectAltName
/// extension) and refuses anything it cannot frame; wolfSSL has already parsed and verified the
/// same bytes. Cost: one SHA-256 over the certificate and a few hundred bytes of copies, once
/// per connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::tls {

struct PeerCertificate {
  /// "SHA256:" + unpadded standard base64 of the SHA-256 of the DER certificate, the form
  /// OpenSSH prints for keys (`ssh-keygen -l`), so both read alike in policies and logs.
  std::string fingerprint;
  /// The subject as an RFC 4514 string, most specific first ("CN=bot,O=Acme,C=US"): what
  /// `openssl x509 -noout -subject -nameopt RFC2253` prints for ASCII subjects (other text
  /// stays UTF-8 here). Short names CN, C, L, ST, O, OU, STREET, DC, UID, SN, GN, title,
  /// serialNumber, emailAddress; other attributes as a dotted OID with the value's DER in hex
  /// ("2.5.4.97=#0C03…"); `, + " \ < > ;`, a leading `#` or space and a trailing space
  /// escaped with a backslash, control bytes as `\XX`; a multi-valued RDN joined with "+".
  std::string subject;
  /// Subject alternative names, in certificate order: DNS names and e-mail addresses as
  /// written, URIs ("spiffe://acme/bot"), IP addresses as text ("192.0.2.1", "2001:db8::1").
  /// Other name forms (directory names, otherName) are left out.
  std::vector<std::string> san;
};

/// Describes a DER-encoded X.509 certificate; an error when the DER does not frame.
Result<PeerCertificate> describe_certificate(std::string_view der);

/// "SHA256:" + unpadded base64 of SHA-256(`bytes`).
std::string sha256_fingerprint(std::string_view bytes);

}  // namespace tg::tls
