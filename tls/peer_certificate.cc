// describe_certificate: a DER walk down to the subject and the subjectAltName extension of an
// X.509 certificate (RFC 5280 section 4.1), the subject printed as RFC 4514 prescribes.
#include "tls/peer_certificate.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <utility>

#include "tls/wolfssl_includes.h"
// clang-format off
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

namespace tg::tls {
namespace {

// Universal and context tags used below (X.690).
constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kOctetString = 0x04;
constexpr std::uint8_t kOid = 0x06;
constexpr std::uint8_t kBoolean = 0x01;
constexpr std::uint8_t kSequence = 0x30;
constexpr std::uint8_t kSet = 0x31;
constexpr std::uint8_t kVersion = 0xA0;     // [0] EXPLICIT, in TBSCertificate
constexpr std::uint8_t kExtensions = 0xA3;  // [3] EXPLICIT, in TBSCertificate
// GeneralName choices (RFC 5280 4.2.1.6), IMPLICIT, primitive.
constexpr std::uint8_t kRfc822Name = 0x81;
constexpr std::uint8_t kDnsName = 0x82;
constexpr std::uint8_t kUri = 0x86;
constexpr std::uint8_t kIpAddress = 0x87;

constexpr std::string_view kSubjectAltNameOid{"\x55\x1d\x11", 3};  // 2.5.29.17

// One DER element after another: definite lengths only, tags in one byte (all X.509 needs).
class DerReader {
 public:
  explicit DerReader(std::string_view bytes) : rest_(bytes) {}
  bool empty() const { return rest_.empty(); }
  std::uint8_t peek_tag() const { return rest_.empty() ? 0 : static_cast<std::uint8_t>(rest_[0]); }

  /// The next element's tag and content, and the whole element (tag and length included).
  bool next(std::uint8_t& tag, std::string_view& content, std::string_view* whole = nullptr) {
    if (rest_.size() < 2) return false;
    tag = static_cast<std::uint8_t>(rest_[0]);
    if ((tag & 0x1F) == 0x1F) return false;  // high tag numbers: never in a certificate
    std::size_t length = static_cast<std::uint8_t>(rest_[1]);
    std::size_t header = 2;
    if (length & 0x80) {
      const std::size_t count = length & 0x7F;
      if (count == 0 || count > 4 || rest_.size() < 2 + count) return false;  // 0: indefinite
      length = 0;
      for (std::size_t i = 0; i < count; ++i) {
        length = (length << 8) | static_cast<std::uint8_t>(rest_[2 + i]);
      }
      header += count;
    }
    if (rest_.size() - header < length) return false;
    content = rest_.substr(header, length);
    if (whole != nullptr) *whole = rest_.substr(0, header + length);
    rest_.remove_prefix(header + length);
    return true;
  }

  bool expect(std::uint8_t want, std::string_view& content, std::string_view* whole = nullptr) {
    std::uint8_t tag = 0;
    return next(tag, content, whole) && tag == want;
  }

 private:
  std::string_view rest_;
};

std::string dotted_oid(std::string_view oid) {
  std::string out;
  std::uint64_t value = 0;
  bool first = true;
  for (char c : oid) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (value > (UINT64_MAX >> 7)) return "0.0";  // absurd arcs: print something harmless
    value = (value << 7) | (byte & 0x7F);
    if (byte & 0x80) continue;
    if (first) {
      const std::uint64_t top = value < 80 ? value / 40 : 2;
      out += std::to_string(top) + "." + std::to_string(value - top * 40);
      first = false;
    } else {
      out += "." + std::to_string(value);
    }
    value = 0;
  }
  return out.empty() ? "0.0" : out;
}

// Short names for the attributes people put in client certificate subjects.
std::string attribute_name(std::string_view oid) {
  static constexpr std::string_view kX520{"\x55\x04", 2};  // 2.5.4.x
  if (oid.size() == 3 && oid.substr(0, 2) == kX520) {
    switch (static_cast<std::uint8_t>(oid[2])) {
      case 3:
        return "CN";
      case 4:
        return "SN";
      case 5:
        return "serialNumber";
      case 6:
        return "C";
      case 7:
        return "L";
      case 8:
        return "ST";
      case 9:
        return "STREET";
      case 10:
        return "O";
      case 11:
        return "OU";
      case 12:
        return "title";
      case 42:
        return "GN";
      default:
        break;
    }
  }
  if (oid == std::string_view("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10)) return "DC";
  if (oid == std::string_view("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", 10)) return "UID";
  if (oid == std::string_view("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9)) return "emailAddress";
  return dotted_oid(oid);
}

void append_hex_byte(std::string& out, std::uint8_t byte, bool escaped) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (escaped) out.push_back('\\');
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xF]);
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Lead bytes and continuations only (enough to keep text that is not UTF-8 out of logs).
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = 0;
    if (lead < 0x80) {
      extra = 0;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (text.size() - i - 1 < extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<std::uint8_t>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// A directory string as UTF-8, or false for value types that are not text.
bool decode_string(std::uint8_t tag, std::string_view content, std::string& out) {
  switch (tag) {
    case 0x0C:  // UTF8String
      if (!valid_utf8(content)) return false;
      out.assign(content);
      return true;
    case 0x12:  // NumericString
    case 0x13:  // PrintableString
    case 0x16:  // IA5String
    case 0x1A:  // VisibleString
      for (char c : content) {
        if (static_cast<std::uint8_t>(c) >= 0x80) return false;
      }
      out.assign(content);
      return true;
    case 0x14:  // TeletexString: read as Latin-1, as OpenSSL does
      for (char c : content) append_utf8(out, static_cast<std::uint8_t>(c));
      return true;
    case 0x1E:  // BMPString: UCS-2, big-endian
      if (content.size() % 2 != 0) return false;
      for (std::size_t i = 0; i < content.size(); i += 2) {
        const std::uint32_t unit = static_cast<std::uint32_t>(
            static_cast<std::uint8_t>(content[i]) << 8 | static_cast<std::uint8_t>(content[i + 1]));
        if (unit >= 0xD800 && unit < 0xE000) return false;
        append_utf8(out, unit);
      }
      return true;
    case 0x1C:  // UniversalString: UCS-4, big-endian
      if (content.size() % 4 != 0) return false;
      for (std::size_t i = 0; i < content.size(); i += 4) {
        std::uint32_t unit = 0;
        for (std::size_t k = 0; k < 4; ++k) {
          unit = unit << 8 | static_cast<std::uint8_t>(content[i + k]);
        }
        if (unit > 0x10FFFF || (unit >= 0xD800 && unit < 0xE000)) return false;
        append_utf8(out, unit);
      }
      return true;
    default:
      return false;
  }
}

// RFC 4514 section 2.4: the value's special characters escaped, control bytes as \XX.
void append_escaped(std::string& out, std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const auto byte = static_cast<std::uint8_t>(c);
    const bool special =
        c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';';
    const bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.size() && c == ' ');
    if (byte < 0x20 || byte == 0x7F) {
      append_hex_byte(out, byte, true);
    } else if (special || edge) {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
}

// Name ::= SEQUENCE OF RelativeDistinguishedName. Printed as OpenSSL's `-nameopt RFC2253`
// does: every attribute in reverse order, "," between RDNs and "+" inside a multi-valued one.
bool format_name(std::string_view name, std::string& out) {
  std::vector<std::pair<std::size_t, std::string>> attributes;  // RDN index, "TYPE=value"
  DerReader sequence(name);
  for (std::size_t rdn = 0; !sequence.empty(); ++rdn) {
    std::string_view set;
    if (!sequence.expect(kSet, set) || set.empty()) return false;
    DerReader members(set);
    while (!members.empty()) {
      std::string_view pair, oid, value, value_whole;
      std::uint8_t value_tag = 0;
      if (!members.expect(kSequence, pair)) return false;
      DerReader fields(pair);
      if (!fields.expect(kOid, oid) || oid.empty() ||
          !fields.next(value_tag, value, &value_whole) || !fields.empty()) {
        return false;
      }
      std::string text = attribute_name(oid);
      const bool named = !(text[0] >= '0' && text[0] <= '9');
      text.push_back('=');
      std::string decoded;
      if (named && decode_string(value_tag, value, decoded)) {
        append_escaped(text, decoded);
      } else {
        text.push_back('#');  // RFC 4514 2.4: the value's BER encoding in hex
        for (char c : value_whole) append_hex_byte(text, static_cast<std::uint8_t>(c), false);
      }
      attributes.emplace_back(rdn, std::move(text));
    }
  }
  for (auto it = attributes.rbegin(); it != attributes.rend(); ++it) {
    if (it != attributes.rbegin()) out.push_back(std::prev(it)->first == it->first ? '+' : ',');
    out += it->second;
  }
  return true;
}

bool read_alt_names(std::string_view general_names, std::vector<std::string>& out) {
  DerReader names(general_names);
  while (!names.empty()) {
    std::uint8_t tag = 0;
    std::string_view value;
    if (!names.next(tag, value)) return false;
    if (tag == kRfc822Name || tag == kDnsName || tag == kUri) {
      std::string text;
      if (!decode_string(0x16, value, text)) return false;  // IA5String
      if (!text.empty()) out.push_back(std::move(text));    // an empty name names nothing
    } else if (tag == kIpAddress) {
      char text[INET6_ADDRSTRLEN] = {};
      if (value.size() == 4) {
        inet_ntop(AF_INET, value.data(), text, sizeof text);
      } else if (value.size() == 16) {
        inet_ntop(AF_INET6, value.data(), text, sizeof text);
      } else {
        return false;
      }
      out.emplace_back(text);
    }
  }
  return true;
}

// Extensions ::= SEQUENCE OF Extension; only subjectAltName is read.
bool read_extensions(std::string_view extensions, std::vector<std::string>& san) {
  DerReader list(extensions);
  std::string_view sequence;
  if (!list.expect(kSequence, sequence) || !list.empty()) return false;
  DerReader items(sequence);
  while (!items.empty()) {
    std::string_view extension, oid, value, flag;
    if (!items.expect(kSequence, extension)) return false;
    DerReader fields(extension);
    if (!fields.expect(kOid, oid)) return false;
    if (fields.peek_tag() == kBoolean && !fields.expect(kBoolean, flag)) return false;
    if (!fields.expect(kOctetString, value) || !fields.empty()) return false;
    if (oid != kSubjectAltNameOid) continue;
    DerReader inner(value);
    std::string_view general_names;
    if (!inner.expect(kSequence, general_names) || !inner.empty()) return false;
    if (!read_alt_names(general_names, san)) return false;
  }
  return true;
}

std::string base64_unpadded(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 0x3F]);
  }
  if (size - i == 1) {
    const std::uint32_t v = data[i] << 16;
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
  } else if (size - i == 2) {
    const std::uint32_t v = data[i] << 16 | data[i + 1] << 8;
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
    out.push_back(kAlphabet[(v >> 6) & 0x3F]);
  }
  return out;
}

}  // namespace

std::string sha256_fingerprint(std::string_view bytes) {
  unsigned char digest[WC_SHA256_DIGEST_SIZE] = {};
  wc_Sha256Hash(reinterpret_cast<const unsigned char*>(bytes.data()),
                static_cast<word32>(bytes.size()), digest);
  return "SHA256:" + base64_unpadded(digest, sizeof digest);
}

Result<PeerCertificate> describe_certificate(std::string_view der) {
  const auto broken = [](const char* what) {
    return make_error(std::string("client certificate: ") + what);
  };
  DerReader outer(der);
  std::string_view certificate, tbs;
  if (!outer.expect(kSequence, certificate) || !outer.empty()) return broken("not a DER sequence");
  DerReader parts(certificate);
  if (!parts.expect(kSequence, tbs)) return broken("no TBSCertificate");
  DerReader fields(tbs);
  std::string_view skipped, subject;
  if (fields.peek_tag() == kVersion && !fields.expect(kVersion, skipped)) {
    return broken("bad version");
  }
  if (!fields.expect(kInteger, skipped) || !fields.expect(kSequence, skipped) ||   // serial, alg
      !fields.expect(kSequence, skipped) || !fields.expect(kSequence, skipped) ||  // issuer, time
      !fields.expect(kSequence, subject) || !fields.expect(kSequence, skipped)) {  // subject, key
    return broken("malformed TBSCertificate");
  }
  PeerCertificate described;
  if (!format_name(subject, described.subject)) return broken("malformed subject");
  while (!fields.empty()) {
    std::uint8_t tag = 0;
    std::string_view content;
    if (!fields.next(tag, content)) return broken("malformed TBSCertificate");
    if (tag == kExtensions && !read_extensions(content, described.san)) {
      return broken("malformed extensions");
    }
  }
  described.fingerprint = sha256_fingerprint(der);
  return described;
}

}  // namespace tg::tls
