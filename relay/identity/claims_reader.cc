// Payload to VerifiedToken: one pass over the top-level members, copying what is exposed into
// the token's own buffer (which the payload's length bounds: unescaping never lengthens).
#include "relay/identity/claims_reader.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "relay/identity/json_walk.h"

namespace tg::identity {
namespace {

namespace od = simdjson::ondemand;
using policy::Lookup;

// NumericDates are clamped to ±2^62 seconds so that adding a leeway cannot overflow.
constexpr std::int64_t kDateLimit = std::int64_t{1} << 62;

class Arena {
 public:
  Arena(char* base, std::size_t capacity) : base_(base), capacity_(capacity) {}
  // A copy of `text` inside the arena; false when it does not fit (which the size bound
  // makes impossible, but a parser bug must not become a buffer overflow).
  bool copy(std::string_view text, std::string_view& out) {
    if (text.size() > capacity_ - used_) return false;
    if (!text.empty()) std::memcpy(base_ + used_, text.data(), text.size());
    out = std::string_view(base_ + used_, text.size());
    used_ += text.size();
    return true;
  }

 private:
  char* base_;
  std::size_t capacity_;
  std::size_t used_ = 0;
};

// A NumericDate from the number's JSON text (already checked to be a JSON number). Parsed here
// rather than by simdjson, whose 3.0 fallback parser reads some long mantissas with an exponent
// as 0 (an absurd `nbf` must not become "valid since 1970") and refuses integers past 64 bits.
// Fractions are floored; magnitudes past 2^62 are clamped; a number too large or too small for a
// double is refused.
bool read_date(std::string_view text, std::int64_t& out) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  seconds = std::floor(seconds);
  const auto limit = static_cast<double>(kDateLimit);
  out = seconds >= limit    ? kDateLimit
        : seconds <= -limit ? -kDateLimit
                            : static_cast<std::int64_t>(seconds);
  return true;
}

enum class ListClaim { kNone, kAud, kGroups, kScope };

ListClaim list_claim(std::string_view name) {
  if (name == "aud") return ListClaim::kAud;
  if (name == "groups") return ListClaim::kGroups;
  if (name == "scope") return ListClaim::kScope;
  return ListClaim::kNone;
}

Error malformed_claim(std::string_view name, std::string_view expected) {
  return make_error("malformed: claim " + std::string(name) + " is not " + std::string(expected));
}

}  // namespace

Status ClaimsReader::read(od::parser& parser, std::string_view json, VerifiedToken& out) {
  od::document document;
  od::object object;
  if (parser.iterate(json.data(), json.size(), json.size() + simdjson::SIMDJSON_PADDING)
              .get(document) != simdjson::SUCCESS ||
      document.get_object().get(object) != simdjson::SUCCESS) {
    return make_error("malformed: payload is not a JSON object");
  }
  out.text_ = std::make_unique<char[]>(json.size() + 1);
  out.text_size_ = json.size();
  Arena arena(out.text_.get(), json.size());
  const Error not_json = make_error("malformed: payload is not valid JSON");
  const Error too_big = make_error("malformed: payload claims do not fit");

  for (auto member : object) {
    if (out.claims_.size() == kMaxClaims) {
      return make_error("malformed: more than " + std::to_string(kMaxClaims) + " claims");
    }
    od::field field;
    std::string_view raw_name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(raw_name) != simdjson::SUCCESS) {
      return not_json;
    }
    VerifiedToken::Claim claim;
    if (!arena.copy(raw_name, claim.name)) return too_big;
    const std::string_view name = claim.name;
    od::value value = field.value();
    od::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) return not_json;
    const bool is_date = name == "exp" || name == "nbf" || name == "iat";
    const bool is_text = name == "iss" || name == "sub" || name == "email";
    const ListClaim list = list_claim(name);

    switch (type) {
      case od::json_type::string: {
        if (is_date) return malformed_claim(name, "a number");
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) return not_json;
        if (!arena.copy(text, claim.value)) return too_big;
        claim.state = Lookup::State::kFound;
        if (name == "iss") out.iss_ = claim.value;
        if (name == "sub") out.sub_ = claim.value;
        if (name == "email") out.email_ = claim.value;
        if (list == ListClaim::kAud) out.aud_.push_back(claim.value);
        if (list == ListClaim::kGroups) out.groups_.push_back(claim.value);
        if (list == ListClaim::kScope) out.scope_text_ = claim.value;
        break;
      }
      case od::json_type::number: {
        if (is_text || list != ListClaim::kNone) return malformed_claim(name, "a string");
        const std::string_view raw = detail::json_number_text(value);
        if (raw.empty()) return not_json;
        if (!arena.copy(raw, claim.value)) return too_big;
        claim.state = Lookup::State::kFound;
        if (is_date) {
          std::int64_t date = 0;
          if (!read_date(raw, date)) return malformed_claim(name, "a usable NumericDate");
          if (name == "exp") {
            out.exp_ = date;
            out.has_exp_ = true;
          } else if (name == "nbf") {
            out.nbf_ = date;
            out.has_nbf_ = true;
          } else {
            out.iat_ = date;
            out.has_iat_ = true;
          }
        }
        break;
      }
      case od::json_type::boolean: {
        if (is_date) return malformed_claim(name, "a number");
        if (is_text || list != ListClaim::kNone) return malformed_claim(name, "a string");
        bool flag = false;
        if (value.get_bool().get(flag) != simdjson::SUCCESS) return not_json;
        if (!arena.copy(flag ? "true" : "false", claim.value)) return too_big;
        claim.state = Lookup::State::kFound;
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return not_json;
        claim.state = Lookup::State::kAbsent;  // as if not sent
        break;
      }
      case od::json_type::array: {
        if (is_date) return malformed_claim(name, "a number");
        if (is_text) return malformed_claim(name, "a string");
        claim.state = Lookup::State::kUnusable;
        if (list == ListClaim::kNone) {
          if (!detail::walk_json_value(value)) return not_json;
          break;
        }
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) return not_json;
        std::vector<std::string_view>& items = list == ListClaim::kAud      ? out.aud_
                                               : list == ListClaim::kGroups ? out.groups_
                                                                            : out.scope_items_;
        for (auto item : array) {
          std::string_view text, copy;
          if (item.get_string().get(text) != simdjson::SUCCESS) {
            return malformed_claim(name, "a string or an array of strings");
          }
          if (!arena.copy(text, copy)) return too_big;
          items.push_back(copy);
        }
        break;
      }
      case od::json_type::object: {
        if (is_date) return malformed_claim(name, "a number");
        if (is_text) return malformed_claim(name, "a string");
        if (list != ListClaim::kNone) {
          return malformed_claim(name, "a string or an array of strings");
        }
        if (!detail::walk_json_value(value)) return not_json;
        claim.state = Lookup::State::kUnusable;
        break;
      }
    }
    out.claims_.push_back(claim);
  }
  if (!detail::at_document_end(document)) {
    return make_error("malformed: text after the payload object");
  }

  std::vector<std::string_view> names;
  names.reserve(out.claims_.size());
  for (const VerifiedToken::Claim& claim : out.claims_) names.push_back(claim.name);
  if (detail::has_duplicate(names)) return make_error("duplicate claim in payload");
  return Ok{};
}

}  // namespace tg::identity
