/// The claims of a token whose signature and claims have been checked, in the form the
/// access decision reads them.
///
/// A `VerifiedToken` owns one buffer holding every claim it exposes (names and values,
/// unescaped) and hands out views into it, so it can be kept (by the token cache, or beside a
/// long-lived stream to end it at `expires_at()`) and copied without dangling. `fill` points an
/// AccessContext's jwt_* attributes at it: no copy, no allocation; the token must outlive the
/// decision.
///
/// `jwt.claims["name"]` answers any top-level claim: strings as their value, numbers as their
/// JSON text ("1700000000"), booleans as "true"/"false"; objects and arrays are unusable (a
/// policy comparing them cannot be evaluated, which fails closed); null and "" are absent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "relay/identity/jws_algorithm.h"
#include "relay/policy/context.h"

namespace tg::identity {

class VerifiedToken {
 public:
  VerifiedToken() = default;
  VerifiedToken(const VerifiedToken& other);
  VerifiedToken& operator=(const VerifiedToken& other);
  VerifiedToken(VerifiedToken&&) noexcept = default;
  VerifiedToken& operator=(VerifiedToken&&) noexcept = default;
  ~VerifiedToken() = default;

  std::string_view issuer() const { return iss_; }
  std::string_view subject() const { return sub_; }  // "" when the token has no sub
  std::string_view email() const { return email_; }  // "" when the token has no email
  std::span<const std::string_view> audiences() const { return aud_; }
  std::span<const std::string_view> groups() const { return groups_; }
  /// `scope` as a space-separated string or as an array.
  policy::StringList scope() const;
  /// A top-level claim by name (see above).
  policy::Lookup claim(std::string_view name) const noexcept;

  std::int64_t expires_at() const { return exp_; }  // `exp`, seconds since the epoch
  JwsAlgorithm algorithm() const { return algorithm_; }
  std::size_t issuer_index() const { return issuer_index_; }  // in the verifier's issuers

  /// Sets context.jwt_{iss,sub,email,aud,groups,scope,claims} to views of this token.
  void fill(policy::AccessContext& context) const;

 private:
  friend class ClaimsReader;
  friend class JwtVerifier;

  struct Claim {
    std::string_view name;
    std::string_view value;
    policy::Lookup::State state = policy::Lookup::State::kAbsent;
  };

  static policy::Lookup find_claim(const VerifiedToken& token, std::string_view name) noexcept;
  void rebase_from(const VerifiedToken& other);

  std::unique_ptr<char[]> text_;  // every view below points into it
  std::size_t text_size_ = 0;
  std::string_view iss_, sub_, email_, scope_text_;
  std::vector<std::string_view> aud_, groups_, scope_items_;
  std::vector<Claim> claims_;
  std::int64_t exp_ = 0;
  bool has_exp_ = false, has_nbf_ = false, has_iat_ = false;
  std::int64_t nbf_ = 0, iat_ = 0;
  JwsAlgorithm algorithm_ = JwsAlgorithm::kRS256;
  std::size_t issuer_index_ = 0;
};

}  // namespace tg::identity
