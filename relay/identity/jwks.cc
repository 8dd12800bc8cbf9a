// JWKS parsing: read each key's members strictly, then decide whether the key is usable and
// say why not in a note.
#include "relay/identity/jwks.h"

#include <simdjson.h>

#include <optional>
#include <utility>

#include "relay/identity/base64url.h"
#include "relay/identity/json_walk.h"
#include "relay/identity/jws_signature.h"

namespace tg::identity {
namespace {

namespace od = simdjson::ondemand;

// The members of one JWK this layer reads; views into the parser's string buffer.
struct JwkMembers {
  std::optional<std::string_view> kty, kid, alg, use, crv, n, e, x, y;
  bool has_key_ops = false, key_ops_verify = false;
  bool has_private_parts = false;
};

// The members read as strings.
constexpr std::pair<std::string_view, std::optional<std::string_view> JwkMembers::*>
    kStringMembers[] = {
        {"kty", &JwkMembers::kty}, {"kid", &JwkMembers::kid}, {"alg", &JwkMembers::alg},
        {"use", &JwkMembers::use}, {"crv", &JwkMembers::crv}, {"n", &JwkMembers::n},
        {"e", &JwkMembers::e},     {"x", &JwkMembers::x},     {"y", &JwkMembers::y}};

// Text from the key set quoted in a note: printable ASCII, at most 64 characters.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) {
    out.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?');
  }
  if (text.size() > 64) out += "...";
  return out + "\"";
}

bool read_string(od::value value, std::optional<std::string_view>& out) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  out = text;
  return true;
}

// Reads one JWK object; false when it is malformed (a member of the wrong type, a repeated
// member, bad JSON inside it).
bool read_members(od::object object, JwkMembers& out, std::string& problem) {
  std::vector<std::string_view> names;
  for (auto member : object) {
    od::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      problem = "is not valid JSON";
      return false;
    }
    names.push_back(name);
    od::value value = field.value();
    std::optional<std::string_view>* target = nullptr;
    for (const auto& [known, member_pointer] : kStringMembers) {
      if (name == known) target = &(out.*member_pointer);
    }
    if (target != nullptr) {
      if (!read_string(value, *target)) {
        problem = "has a member \"" + std::string(name) + "\" that is not a string";
        return false;
      }
      continue;
    }
    if (name == "key_ops") {
      out.has_key_ops = true;
      od::array ops;
      if (value.get_array().get(ops) != simdjson::SUCCESS) {
        problem = "has a key_ops that is not an array";
        return false;
      }
      for (auto item : ops) {
        std::string_view op;
        if (item.get_string().get(op) != simdjson::SUCCESS) {
          problem = "has a key_ops entry that is not a string";
          return false;
        }
        if (op == "verify") out.key_ops_verify = true;
      }
      continue;
    }
    if (name == "d" || name == "p" || name == "q" || name == "dp" || name == "dq" || name == "qi" ||
        name == "k") {
      out.has_private_parts = true;
    }
    if (!detail::walk_json_value(value)) {
      problem = "is not valid JSON";
      return false;
    }
  }
  if (detail::has_duplicate(names)) {
    problem = "names a member twice";
    return false;
  }
  return true;
}

std::vector<std::uint8_t> without_leading_zeros(const std::string& bytes) {
  std::size_t start = 0;
  while (start < bytes.size() && bytes[start] == '\0') ++start;
  return {bytes.begin() + static_cast<std::ptrdiff_t>(start), bytes.end()};
}

int bit_length(const std::vector<std::uint8_t>& number) {
  if (number.empty()) return 0;
  int bits = static_cast<int>(number.size() - 1) * 8;
  for (std::uint8_t top = number.front(); top != 0; top >>= 1) ++bits;
  return bits;
}

// Fills `key` from the members, or says why the key is not usable.
Status build_key(const JwkMembers& m, Jwk& key) {
  if (!m.kty) return make_error("has no kty");
  if (m.use && *m.use != "sig") return make_error("is for use " + quoted(*m.use) + ", not \"sig\"");
  if (m.has_key_ops && !m.key_ops_verify) return make_error("has key_ops without \"verify\"");
  if (*m.kty == "RSA") {
    key.type = KeyType::kRsa;
    std::optional<std::string> n = m.n ? decode_base64url(*m.n) : std::nullopt;
    std::optional<std::string> e = m.e ? decode_base64url(*m.e) : std::nullopt;
    if (!n || !e) return make_error("has no valid base64url n and e");
    key.modulus = without_leading_zeros(*n);
    key.exponent = without_leading_zeros(*e);
    key.bits = bit_length(key.modulus);
    if (key.bits < kMinRsaBits) {
      return make_error("is an RSA key of " + std::to_string(key.bits) + " bits (" +
                        std::to_string(kMinRsaBits) + " at least)");
    }
    if (key.bits > kMaxRsaBits) {
      return make_error("is an RSA key of " + std::to_string(key.bits) + " bits (" +
                        std::to_string(kMaxRsaBits) + " at most)");
    }
    // A public exponent is odd and above 1; eight bytes is far beyond any in use.
    if (key.exponent.empty() || key.exponent.size() > 8 || (key.exponent.back() & 1) == 0 ||
        (key.exponent.size() == 1 && key.exponent[0] == 1)) {
      return make_error("has an unusable RSA exponent");
    }
  } else if (*m.kty == "EC") {
    if (!m.crv || *m.crv != "P-256") {
      return make_error("is on curve " + quoted(m.crv.value_or("")) + " (only P-256 is accepted)");
    }
    key.type = KeyType::kEcP256;
    key.bits = 256;
    std::optional<std::string> x = m.x ? decode_base64url(*m.x) : std::nullopt;
    std::optional<std::string> y = m.y ? decode_base64url(*m.y) : std::nullopt;
    // RFC 7518 §6.2.1.2: the coordinates are the full 32 bytes.
    if (!x || !y || x->size() != 32 || y->size() != 32) {
      return make_error("has no valid 32-byte base64url x and y");
    }
    std::copy(x->begin(), x->end(), key.point.begin());
    std::copy(y->begin(), y->end(), key.point.begin() + 32);
  } else if (*m.kty == "OKP") {
    if (!m.crv || *m.crv != "Ed25519") {
      return make_error("is on curve " + quoted(m.crv.value_or("")) +
                        " (only Ed25519 is accepted)");
    }
    key.type = KeyType::kEd25519;
    key.bits = 256;
    std::optional<std::string> x = m.x ? decode_base64url(*m.x) : std::nullopt;
    if (!x || x->size() != 32) return make_error("has no valid 32-byte base64url x");
    std::copy(x->begin(), x->end(), key.point.begin());
  } else if (*m.kty == "oct") {
    return make_error("is a symmetric key (kty \"oct\"), never accepted");
  } else {
    return make_error("has kty " + quoted(*m.kty) + " (RSA, EC and OKP are accepted)");
  }
  if (m.alg) {
    if (*m.alg != to_string(key.algorithm())) {
      return make_error("declares alg " + quoted(*m.alg) + ", but " +
                        std::string(to_string(key.type)) + " keys verify only " +
                        std::string(to_string(key.algorithm())));
    }
    key.declares_alg = true;
  }
  if (m.kid) key.kid = *m.kid;
  return check_public_key(key);
}

std::string key_label(std::size_t index, const JwkMembers& m) {
  std::string label = "jwks: key " + std::to_string(index);
  if (m.kid) label += " (kid " + quoted(*m.kid) + ")";
  return label;
}

}  // namespace

Result<Jwks> parse_jwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return make_error("jwks: larger than 1 MiB");
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document document;
  od::object root;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_object().get(root) != simdjson::SUCCESS) {
    return make_error("jwks: not a JSON object");
  }
  Jwks jwks;
  bool saw_keys = false;
  std::vector<std::string_view> names;
  for (auto member : root) {
    od::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      return make_error("jwks: not valid JSON");
    }
    names.push_back(name);
    if (name != "keys") {
      if (!detail::walk_json_value(field.value())) return make_error("jwks: not valid JSON");
      continue;
    }
    saw_keys = true;
    od::array keys;
    if (field.value().get_array().get(keys) != simdjson::SUCCESS) {
      return make_error("jwks: \"keys\" is not an array");
    }
    std::size_t index = 0;
    for (auto item : keys) {
      if (index == kMaxJwksEntries) {
        return make_error("jwks: more than " + std::to_string(kMaxJwksEntries) + " keys");
      }
      od::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) {
        return make_error("jwks: key " + std::to_string(index) + " is not a JSON object");
      }
      JwkMembers members;
      std::string problem;
      if (!read_members(object, members, problem)) {
        return make_error("jwks: key " + std::to_string(index) + " " + problem);
      }
      Jwk key;
      Status built = build_key(members, key);
      if (!built) {
        jwks.notes.push_back(key_label(index, members) + " left out: " + built.error().message);
      } else {
        bool repeated = false;
        for (const Jwk& earlier : jwks.keys) {
          repeated = repeated || (earlier.kid == key.kid && earlier.type == key.type);
        }
        if (repeated) {
          jwks.notes.push_back(key_label(index, members) +
                               " left out: an earlier key has the same kid and type");
        } else {
          if (members.has_private_parts) {
            jwks.notes.push_back(key_label(index, members) +
                                 " holds private key material: a JWKS should publish only "
                                 "public keys (only the public part is used)");
          }
          jwks.keys.push_back(std::move(key));
        }
      }
      ++index;
    }
  }
  if (!detail::at_document_end(document)) {
    return make_error("jwks: not valid JSON (text after the object)");
  }
  if (detail::has_duplicate(names)) return make_error("jwks: a member is named twice");
  if (!saw_keys) return make_error("jwks: no \"keys\" array");
  if (jwks.keys.empty()) {
    std::string message = "jwks: no usable key";
    for (const std::string& note : jwks.notes) message += "; " + note.substr(6);
    return make_error(std::move(message));
  }
  return jwks;
}

}  // namespace tg::identity
