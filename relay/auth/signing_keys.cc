#include "relay/auth/signing_keys.h"

namespace tg::auth {

Status SigningKeys::rotate(std::int64_t now) {
  Set set;
  set.signs_from = now;
  std::uint64_t number = 0;
  {
    std::lock_guard lock(mutex_);
    if (!sets_.empty()) set.signs_from = now + kSwitchDelaySeconds;
    number = ++rotations_;
  }
  for (unsigned i = 0; i < threads_; ++i) {
    auto key = identity::SigningKey::generate(
        identity::JwsAlgorithm::kES256,
        "signin-" + std::to_string(now) + "-" + std::to_string(number) + "-" + std::to_string(i));
    if (!key) return key.error();
    set.keys.push_back(std::make_unique<identity::SigningKey>(std::move(*key)));
  }
  std::lock_guard lock(mutex_);
  sets_.push_back(std::move(set));
  // A set signs until the next one starts; its tokens are good for token_seconds_ more (and
  // the verifiers' leeway). Keep every set some valid token may still name.
  std::size_t keep_from = 0;
  for (std::size_t i = 0; i + 1 < sets_.size(); ++i) {
    if (sets_[i + 1].signs_from + token_seconds_ + kLeewaySeconds < now) keep_from = i + 1;
  }
  sets_.erase(sets_.begin(), sets_.begin() + static_cast<std::ptrdiff_t>(keep_from));
  return Ok{};
}

std::string SigningKeys::jwks() const {
  std::lock_guard lock(mutex_);
  std::vector<const identity::SigningKey*> keys;
  for (const Set& set : sets_) {
    for (const auto& key : set.keys) keys.push_back(key.get());
  }
  return identity::jwks_json(keys);
}

Result<std::string> SigningKeys::sign(unsigned thread, std::string_view payload, std::int64_t now) {
  identity::SigningKey* key = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sets_.rbegin(); it != sets_.rend(); ++it) {
      if (it->signs_from <= now) {
        key = it->keys[thread].get();
        break;
      }
    }
    if (key == nullptr && !sets_.empty()) key = sets_.front().keys[thread].get();
  }
  if (key == nullptr) return make_error("no signing key");
  // Outside the lock: only this thread ever uses its key of a set, and a set outlives the
  // tokens it signs by far more than this call.
  return key->sign_jwt(payload);
}

}  // namespace tg::auth
