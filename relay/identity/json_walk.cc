// A recursive walk over On-Demand values: every string unescaped, every number parsed.
#include "relay/identity/json_walk.h"

#include <algorithm>

namespace tg::identity::detail {

namespace od = simdjson::ondemand;

bool walk_json_value(od::value value, int depth) noexcept {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case od::json_type::object: {
      if (depth >= kMaxJsonDepth) return false;
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return false;
      for (auto member : object) {
        od::field field;
        std::string_view name;
        if (std::move(member).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(name) != simdjson::SUCCESS ||
            !walk_json_value(field.value(), depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::array: {
      if (depth >= kMaxJsonDepth) return false;
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return false;
      for (auto item : array) {
        od::value element;
        if (item.get(element) != simdjson::SUCCESS || !walk_json_value(element, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view text;
      return value.get_string().get(text) == simdjson::SUCCESS;
    }
    case od::json_type::number:
      return !json_number_text(value).empty();
    case od::json_type::boolean: {
      bool flag;
      return value.get_bool().get(flag) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return value.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
  }
  return false;
}

bool at_document_end(od::document& document) noexcept {
  // simdjson 3.0 has no document::at_end(): past the last token, current_location() answers
  // OUT_OF_BOUNDS.
  return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

bool has_duplicate(std::vector<std::string_view>& names) {
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

bool is_json_number(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

std::string_view json_number_text(od::value& value) noexcept {
  const std::string_view text = trim_json_space(value.raw_json_token());
  return is_json_number(text) ? text : std::string_view{};
}

std::string_view trim_json_space(std::string_view text) {
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return end == std::string_view::npos ? std::string_view{} : text.substr(0, end + 1);
}

}  // namespace tg::identity::detail
