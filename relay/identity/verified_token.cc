// VerifiedToken: claim lookup, filling the access context, and copying with views rebased
// onto the copy's buffer.
#include "relay/identity/verified_token.h"

#include <cstring>

namespace tg::identity {
namespace {

std::string_view rebase(std::string_view view, const char* from, const char* to) {
  if (view.data() == nullptr || view.empty()) return {};
  return std::string_view(to + (view.data() - from), view.size());
}

}  // namespace

VerifiedToken::VerifiedToken(const VerifiedToken& other) {
  rebase_from(other);
}

VerifiedToken& VerifiedToken::operator=(const VerifiedToken& other) {
  if (this != &other) rebase_from(other);
  return *this;
}

void VerifiedToken::rebase_from(const VerifiedToken& other) {
  text_size_ = other.text_size_;
  text_ = std::make_unique<char[]>(text_size_ + 1);
  if (other.text_) std::memcpy(text_.get(), other.text_.get(), text_size_);
  const char* from = other.text_.get();
  const char* to = text_.get();
  iss_ = rebase(other.iss_, from, to);
  sub_ = rebase(other.sub_, from, to);
  email_ = rebase(other.email_, from, to);
  scope_text_ = rebase(other.scope_text_, from, to);
  auto rebase_all = [&](const std::vector<std::string_view>& views,
                        std::vector<std::string_view>& into) {
    into.clear();
    into.reserve(views.size());
    for (std::string_view view : views) into.push_back(rebase(view, from, to));
  };
  rebase_all(other.aud_, aud_);
  rebase_all(other.groups_, groups_);
  rebase_all(other.scope_items_, scope_items_);
  claims_.clear();
  claims_.reserve(other.claims_.size());
  for (const Claim& claim : other.claims_) {
    claims_.push_back({rebase(claim.name, from, to), rebase(claim.value, from, to), claim.state});
  }
  exp_ = other.exp_;
  nbf_ = other.nbf_;
  iat_ = other.iat_;
  has_exp_ = other.has_exp_;
  has_nbf_ = other.has_nbf_;
  has_iat_ = other.has_iat_;
  algorithm_ = other.algorithm_;
  issuer_index_ = other.issuer_index_;
}

policy::StringList VerifiedToken::scope() const {
  if (!scope_items_.empty()) return policy::StringList(scope_items_);
  return policy::StringList::space_separated(scope_text_);
}

policy::Lookup VerifiedToken::claim(std::string_view name) const noexcept {
  // Claim names are unique (the reader refuses repeats), so the first match is the answer.
  for (const Claim& claim : claims_) {
    if (claim.name != name) continue;
    if (claim.state == policy::Lookup::State::kUnusable) return policy::Lookup::unusable();
    if (claim.state == policy::Lookup::State::kFound && !claim.value.empty()) {
      return policy::Lookup::found(claim.value);
    }
    return policy::Lookup::absent();
  }
  return policy::Lookup::absent();
}

policy::Lookup VerifiedToken::find_claim(const VerifiedToken& token,
                                         std::string_view name) noexcept {
  return token.claim(name);
}

void VerifiedToken::fill(policy::AccessContext& context) const {
  context.jwt_iss = iss_;
  context.jwt_sub = sub_;
  context.jwt_email = email_;
  context.jwt_aud = policy::StringList(aud_);
  context.jwt_groups = policy::StringList(groups_);
  context.jwt_scope = scope();
  context.jwt_claims = policy::KeyLookup::bind<&VerifiedToken::find_claim>(*this);
}

}  // namespace tg::identity
