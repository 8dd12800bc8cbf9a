// TomlReader: typed access to table keys, each failure worded for the file's author.
#include "relay/policy/toml_reader.h"

namespace tg::policy {
namespace {

std::string describe(std::string_view key, std::string_view where) {
  return "\"" + std::string(key) + "\" in " + std::string(where);
}

}  // namespace

bool TomlReader::fail(int line, const std::string& message) {
  if (error_.empty()) error_ = path_ + ":" + std::to_string(line > 0 ? line : 1) + ": " + message;
  return false;
}

bool TomlReader::fail_at(int line, int column, const std::string& message) {
  if (error_.empty()) {
    error_ = path_ + ":" + std::to_string(line > 0 ? line : 1) + ":" +
             std::to_string(column > 0 ? column : 1) + ": " + message;
  }
  return false;
}

// toml++ iterates a table in key order, not file order: blame the earliest unknown key.
bool TomlReader::known_keys(const toml::table& table, std::string_view where,
                            std::initializer_list<std::string_view> keys) {
  const toml::key* unknown = nullptr;
  for (auto&& [key, value] : table) {
    bool known = false;
    for (std::string_view k : keys) known = known || key.str() == k;
    if (!known && (unknown == nullptr || key.source().begin.line < unknown->source().begin.line)) {
      unknown = &key;
    }
  }
  if (unknown == nullptr) return true;
  std::string expected;
  for (std::string_view k : keys) expected += (expected.empty() ? "" : ", ") + std::string(k);
  return fail(static_cast<int>(unknown->source().begin.line),
              "unknown key " + describe(unknown->str(), where) + " (known: " + expected + ")");
}

bool TomlReader::string(const toml::table& table, std::string_view key, std::string_view where,
                        bool required, int line, std::string& out, const toml::node** node) {
  const toml::node* value = table.get(key);
  if (value == nullptr) {
    return !required || fail(line, "missing required key " + describe(key, where));
  }
  const auto* text = value->as_string();
  if (text == nullptr) return fail(*value, describe(key, where) + " must be a string");
  if (text->get().empty()) return fail(*value, describe(key, where) + " must not be empty");
  out = text->get();
  if (node != nullptr) *node = value;
  return true;
}

bool TomlReader::integer(const toml::table& table, std::string_view key, std::string_view where,
                         std::int64_t min, std::int64_t max, std::int64_t& out,
                         const toml::node** node) {
  const toml::node* value = table.get(key);
  if (value == nullptr) return true;
  const auto* number = value->as_integer();
  if (number == nullptr) return fail(*value, describe(key, where) + " must be an integer");
  if (number->get() < min || number->get() > max) {
    return fail(*value, describe(key, where) + " must be from " + std::to_string(min) + " to " +
                            std::to_string(max) + ", not " + std::to_string(number->get()));
  }
  out = number->get();
  if (node != nullptr) *node = value;
  return true;
}

bool TomlReader::strings(const toml::table& table, std::string_view key, std::string_view where,
                         bool required, bool allow_empty, int line,
                         std::vector<const toml::value<std::string>*>& out) {
  const toml::node* value = table.get(key);
  if (value == nullptr) {
    return !required || fail(line, "missing required key " + describe(key, where));
  }
  const toml::array* array = value->as_array();
  if (array == nullptr) {
    return fail(*value, describe(key, where) + " must be an array of strings, such as " +
                            std::string(key) + " = [\"…\"]");
  }
  if (array->empty() && !allow_empty) {
    return fail(*value, describe(key, where) + " must list at least one entry");
  }
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) return fail(element, describe(key, where) + " must hold only strings");
    out.push_back(text);
  }
  return true;
}

bool TomlReader::tables(const toml::table& table, std::string_view key, std::string_view display,
                        std::vector<const toml::table*>& out) {
  const toml::node* value = table.get(key);
  if (value == nullptr) return true;
  const toml::array* array = value->as_array();
  if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
    return fail(*value, "\"" + std::string(key) + "\" must be written as " + std::string(display) +
                            " tables, with double brackets");
  }
  for (const toml::node& element : *array) out.push_back(element.as_table());
  return true;
}

}  // namespace tg::policy
