// Strict form decoding: repeated names, malformed escapes and NUL are errors.
#include "relay/auth/form_fields.h"

#include <algorithm>

namespace tg::auth {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      const bool complete = i + 2 < text.size();
      const int high = complete ? hex_value(text[i + 1]) : -1;
      const int low = complete ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) return make_error("malformed percent-encoding");
      if (high == 0 && low == 0) return make_error("%00 is not allowed");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '\0') {
      return make_error("NUL is not allowed");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<FormFields> FormFields::parse(std::string_view text) {
  FormFields form;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    if (form.fields_.size() == kMaxFormFields) {
      return make_error("more than " + std::to_string(kMaxFormFields) + " form fields");
    }
    const std::size_t equals = pair.find('=');
    auto name = decode(pair.substr(0, equals));
    if (!name) return name.error();
    auto value =
        decode(equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1));
    if (!value) return make_error("field \"" + *name + "\": " + value.error().message);
    if (form.find(*name) != nullptr) {
      return make_error("field \"" + *name + "\" appears more than once");
    }
    form.fields_.push_back(Field{std::move(*name), std::move(*value)});
  }
  return form;
}

const std::string* FormFields::find(std::string_view name) const {
  const auto found =
      std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.name == name; });
  return found == fields_.end() ? nullptr : &found->value;
}

std::string_view FormFields::get(std::string_view name) const {
  const std::string* value = find(name);
  return value == nullptr ? std::string_view{} : std::string_view(*value);
}

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

}  // namespace tg::auth
