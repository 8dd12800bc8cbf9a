// KeyLookup over name/value pairs: a linear scan (requests carry a few dozen headers), with a
// second value for the same name making the answer unusable.
#include "relay/http/http.h"
#include "relay/policy/context.h"

namespace tg::policy {
namespace {

template <bool kIgnoreCase>
Lookup find_pair(const void* object, std::size_t size, std::string_view key) noexcept {
  const auto* pairs = static_cast<const KeyValue*>(object);
  Lookup result;
  for (std::size_t i = 0; i < size; ++i) {
    bool same = kIgnoreCase ? http::iequals(pairs[i].key, key) : pairs[i].key == key;
    if (!same) continue;
    if (result.state == Lookup::State::kFound && result.value != pairs[i].value) {
      return Lookup::unusable();
    }
    result = Lookup::found(pairs[i].value);
  }
  return result;
}

}  // namespace

KeyLookup KeyLookup::headers(std::span<const KeyValue> pairs) {
  return KeyLookup(pairs.data(), pairs.size(), &find_pair<true>);
}

KeyLookup KeyLookup::exact(std::span<const KeyValue> pairs) {
  return KeyLookup(pairs.data(), pairs.size(), &find_pair<false>);
}

}  // namespace tg::policy
