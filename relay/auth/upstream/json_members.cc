// read_json_members: simdjson On-Demand over a padded copy, with relay/identity's strict walk
// for the members nobody reads.
#include "relay/auth/upstream/json_members.h"

#include <simdjson.h>

#include "relay/identity/json_walk.h"

namespace tg::auth::upstream {
namespace {

namespace od = simdjson::ondemand;

Status read_list(od::value value, std::string_view name, std::vector<std::string>& out) {
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return make_error("\"" + std::string(name) + "\" is not an array");
  }
  out.clear();
  for (auto item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return make_error("\"" + std::string(name) + "\" holds something other than strings");
    }
    if (out.size() == kMaxArrayItems) {
      return make_error("\"" + std::string(name) + "\" has more than " +
                        std::to_string(kMaxArrayItems) + " items");
    }
    out.emplace_back(text);
  }
  return Ok{};
}

}  // namespace

Status read_json_members(std::string_view json, std::vector<WantedMember> wanted) {
  if (json.size() > kMaxProviderJsonBytes) return make_error("larger than 256 KiB");
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document document;
  od::object root;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_object().get(root) != simdjson::SUCCESS) {
    return make_error("not a JSON object");
  }
  std::vector<std::string_view> names;
  std::vector<std::string> owned_names;  // unescaped keys live in the parser's buffer only briefly
  for (auto member : root) {
    od::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      return make_error("not valid JSON");
    }
    owned_names.emplace_back(name);
    WantedMember* match = nullptr;
    for (WantedMember& candidate : wanted) {
      if (candidate.name == name) match = &candidate;
    }
    if (match == nullptr) {
      if (!identity::detail::walk_json_value(field.value())) return make_error("not valid JSON");
      continue;
    }
    if (match->present != nullptr) *match->present = true;
    if (match->list != nullptr) {
      if (Status read = read_list(field.value(), name, *match->list); !read) return read;
      continue;
    }
    std::string_view text;
    if (field.value().get_string().get(text) != simdjson::SUCCESS) {
      return make_error("\"" + std::string(name) + "\" is not a string");
    }
    match->text->assign(text);
  }
  if (!identity::detail::at_document_end(document)) return make_error("not valid JSON");
  names.assign(owned_names.begin(), owned_names.end());
  if (identity::detail::has_duplicate(names)) return make_error("a member is named twice");
  return Ok{};
}

}  // namespace tg::auth::upstream
