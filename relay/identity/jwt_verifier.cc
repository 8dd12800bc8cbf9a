// JWT verification: shape, header, payload, key, signature, then the claims; see
// jwt_verifier.h for the order and the errors.
#include "relay/identity/jwt_verifier.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "relay/identity/base64url.h"
#include "relay/identity/claims_reader.h"
#include "relay/identity/json_walk.h"
#include "relay/identity/jws_signature.h"

namespace tg::identity {
namespace {

namespace od = simdjson::ondemand;

constexpr std::int64_t kMaxLeeway = 86400;
constexpr std::size_t kMaxKidBytes = 256;
constexpr std::size_t kMaxDecodedPart = kMaxTokenBytes / 4 * 3;
constexpr std::size_t kMaxSignatureBytes = kMaxRsaBits / 8;

std::atomic<std::uint64_t> next_verifier_id{1};

// One parser per thread: verify is const and shared between workers, and a parser reused
// keeps its buffers (no allocation per token once warm).
od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

// `kid` is filled up to kid_size before any read; zeroing it would cost every verification.
// NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init)
struct Header {
  JwsAlgorithm algorithm = JwsAlgorithm::kRS256;
  bool has_kid = false;
  char kid[kMaxKidBytes];
  std::size_t kid_size = 0;
  std::string_view kid_view() const { return {kid, kid_size}; }
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

Status classify_alg(std::string_view alg, JwsAlgorithm& out) {
  if (std::optional<JwsAlgorithm> accepted = parse_jws_algorithm(alg)) {
    out = *accepted;
    return Ok{};
  }
  if (iequals(alg, "none")) return make_error("alg none refused");
  if (alg.size() >= 2 && (alg[0] == 'H' || alg[0] == 'h') && (alg[1] == 'S' || alg[1] == 's')) {
    return make_error("alg HS* refused");
  }
  return make_error("alg not accepted");
}

Status read_header(std::string_view json, Header& header) {
  od::parser& parser = thread_parser();
  od::document document;
  od::object object;
  if (parser.iterate(json.data(), json.size(), json.size() + simdjson::SIMDJSON_PADDING)
              .get(document) != simdjson::SUCCESS ||
      document.get_object().get(object) != simdjson::SUCCESS) {
    return make_error("malformed: header is not a JSON object");
  }
  const Error not_json = make_error("malformed: header is not valid JSON");
  std::optional<std::string_view> alg;
  bool crit = false;
  std::vector<std::string_view> names;
  for (auto member : object) {
    od::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      return not_json;
    }
    names.push_back(name);
    od::value value = field.value();
    if (name == "alg" || name == "kid") {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return make_error("malformed: " + std::string(name) + " is not a string");
      }
      if (name == "alg") {
        alg = text;
      } else {
        if (text.size() > kMaxKidBytes) return make_error("malformed: kid too long");
        std::memcpy(header.kid, text.data(), text.size());
        header.kid_size = text.size();
        header.has_kid = true;
      }
      continue;
    }
    if (name == "crit") crit = true;
    if (!detail::walk_json_value(value)) return not_json;
  }
  if (!detail::at_document_end(document)) {
    return make_error("malformed: text after the header object");
  }
  if (detail::has_duplicate(names)) return make_error("duplicate member in header");
  if (!alg) return make_error("malformed: header has no alg");
  if (Status accepted = classify_alg(*alg, header.algorithm); !accepted) return accepted;
  // RFC 7515 §4.1.11: extensions listed in crit must be understood; none are.
  if (crit) return make_error("crit header not supported");
  return Ok{};
}

// Decodes one base64url part into `buffer`, leaving SIMDJSON_PADDING bytes after it.
std::optional<std::string_view> decode_part(std::string_view part, std::span<char> buffer) {
  if (buffer.size() < simdjson::SIMDJSON_PADDING) return std::nullopt;
  auto bytes = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(buffer.data()),
                                       buffer.size() - simdjson::SIMDJSON_PADDING);
  std::optional<std::size_t> size = decode_base64url(part, bytes);
  if (!size) return std::nullopt;
  std::memset(buffer.data() + *size, 0, simdjson::SIMDJSON_PADDING);
  return std::string_view(buffer.data(), *size);
}

std::string_view without_trailing_slash(std::string_view text) {
  return !text.empty() && text.back() == '/' ? text.substr(0, text.size() - 1) : text;
}

bool same_audience(std::string_view a, std::string_view b) {
  return !a.empty() && !b.empty() && without_trailing_slash(a) == without_trailing_slash(b);
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return sum;
}

}  // namespace

Result<std::string> read_jwks_file(const policy::JwtIssuer& issuer) {
  if (issuer.jwks_is_url) {
    return make_error("jwks " + issuer.jwks + " is a URL: it must be fetched by the caller");
  }
  std::ifstream in(issuer.jwks, std::ios::binary);
  if (!in) return make_error("cannot read " + issuer.jwks + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.tellp() > static_cast<std::streamoff>(kMaxJwksBytes)) {
    return make_error(issuer.jwks + " is larger than 1 MiB");
  }
  return text.str();
}

Result<JwtVerifier> JwtVerifier::create(const policy::Identity& identity, const JwksLoader& load,
                                        JwtOptions options) {
  JwtVerifier verifier;
  verifier.leeway_ = std::clamp<std::int64_t>(options.leeway_seconds, 0, kMaxLeeway);
  verifier.id_ = next_verifier_id.fetch_add(1, std::memory_order_relaxed);
  verifier.refresh_requests_ = options.refresh_requests;
  for (const policy::JwtIssuer& config : identity.jwt) {
    const std::string where =
        "issuer \"" + config.issuer + "\" (line " + std::to_string(config.line) + "): ";
    Result<std::string> text = load ? load(config) : make_error("no JWKS loader");
    if (!text) return make_error(where + text.error().message);
    Result<Jwks> jwks = parse_jwks(*text);
    if (!jwks) return make_error(where + jwks.error().message);
    for (const std::string& note : jwks->notes) verifier.notes_.push_back(where + note);
    const std::uint64_t bit =
        config.jwks_is_url ? jwks_document_bit(config.jwks, config.jwks_ca) : 0;
    verifier.issuers_.push_back({config.issuer, config.audiences, std::move(jwks).value(), bit});
  }
  return verifier;
}

Result<const Jwk*> JwtVerifier::select_key(const Issuer& issuer, JwsAlgorithm algorithm,
                                           bool has_kid, std::string_view kid) const {
  const KeyType wanted = key_type_for(algorithm);
  if (has_kid) {
    bool kid_known = false;
    for (const Jwk& key : issuer.jwks.keys) {
      if (key.kid != kid) continue;
      if (key.type == wanted) return &key;
      kid_known = true;
    }
    if (kid_known) return make_error("alg does not match the key");
    // The identity provider may have rotated in a key since the document was fetched.
    if (refresh_requests_ != nullptr && issuer.document_bit != 0) {
      refresh_requests_->ask(issuer.document_bit);
    }
    return make_error("unknown kid");
  }
  const Jwk* found = nullptr;
  for (const Jwk& key : issuer.jwks.keys) {
    if (key.type != wanted) continue;
    if (found != nullptr) return make_error("kid required: several keys fit");
    found = &key;
  }
  if (found == nullptr) return make_error("no key for this alg");
  return found;
}

Result<VerifiedToken> JwtVerifier::verify(std::string_view token, std::string_view tunnel_url,
                                          std::int64_t now) const {
  if (token.size() > kMaxTokenBytes) return make_error("token larger than 8 KiB");
  if (issuers_.empty()) return make_error("no JWT issuer is configured");

  // 1. Shape: header.payload.signature. An empty signature gets as far as the alg check, so
  // that an `alg: none` token is refused as such.
  const std::size_t first_dot = token.find('.');
  const std::size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos || first_dot == 0 ||
      second_dot == first_dot + 1) {
    return make_error("malformed: not three base64url parts");
  }
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  // 2. Header.
  char buffer[kMaxDecodedPart + simdjson::SIMDJSON_PADDING];
  std::optional<std::string_view> header_json = decode_part(header_part, buffer);
  if (!header_json) return make_error("malformed: header is not base64url");
  Header header;
  if (Status read = read_header(*header_json, header); !read) return read.error();

  // Payload (the same buffer: the header's fields were copied out).
  std::optional<std::string_view> payload_json = decode_part(payload_part, buffer);
  if (!payload_json) return make_error("malformed: payload is not base64url");
  VerifiedToken claims;
  claims.algorithm_ = header.algorithm;
  if (Status read = ClaimsReader::read(thread_parser(), *payload_json, claims); !read) {
    return read.error();
  }

  // 3. Issuer and key.
  if (claims.iss_.empty()) return make_error("no iss");
  const auto issuer = std::find_if(issuers_.begin(), issuers_.end(),
                                   [&](const Issuer& each) { return each.name == claims.iss_; });
  if (issuer == issuers_.end()) return make_error("unknown issuer");
  claims.issuer_index_ = static_cast<std::size_t>(issuer - issuers_.begin());
  Result<const Jwk*> key = select_key(*issuer, header.algorithm, header.has_kid, header.kid_view());
  if (!key) return key.error();

  // 4. Signature.
  std::uint8_t signature[kMaxSignatureBytes];
  // (Longer than any key's signature: refused as undecodable into the buffer.)
  const std::optional<std::size_t> signature_size = decode_base64url(signature_part, signature);
  if (!signature_size) return make_error("malformed: signature is not base64url");
  if (!verify_jws_signature(**key, signing_input,
                            std::span<const std::uint8_t>(signature, *signature_size))) {
    return make_error("signature does not verify");
  }

  // 5. Time.
  if (!claims.has_exp_) return make_error("exp missing");
  if (now > last_valid_second(claims.exp_)) return make_error("expired");
  if (claims.has_nbf_ && claims.nbf_ > saturating_add(now, leeway_)) {
    return make_error("not yet valid");
  }
  if (claims.has_iat_ && claims.iat_ > saturating_add(now, leeway_)) {
    return make_error("issued in the future");
  }

  // 6. Audience.
  if (Status audience = check_audience(claims, tunnel_url); !audience) return audience.error();
  return claims;
}

Status JwtVerifier::check_audience(const VerifiedToken& token, std::string_view tunnel_url) const {
  if (token.aud_.empty()) return make_error("aud missing");
  if (token.issuer_index_ >= issuers_.size()) return make_error("unknown issuer");
  const Issuer& issuer = issuers_[token.issuer_index_];
  for (std::string_view aud : token.aud_) {
    if (issuer.audiences.empty()) {
      if (same_audience(aud, tunnel_url)) return Ok{};
      continue;
    }
    for (const std::string& accepted : issuer.audiences) {
      if (same_audience(aud, accepted)) return Ok{};
    }
  }
  return make_error("wrong audience");
}

}  // namespace tg::identity
