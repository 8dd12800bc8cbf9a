// NameRecord as JSON: written with escaping, read with simdjson's DOM.
#include "relay/cluster/name_record.h"

#include <simdjson.h>

#include <charconv>

namespace tg::cluster {
namespace {

std::string json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool member(simdjson::dom::object object, std::string_view name, std::string& out) {
  std::string_view text;
  if (object.at_key(name).get_string().get(text) != simdjson::SUCCESS || text.empty()) {
    return false;
  }
  out = text;
  return true;
}

}  // namespace

std::string encode_name_record(const NameRecord& record) {
  return "{\"node\":" + json_string(record.node) +
         ",\"key\":" + json_string(record.key_fingerprint) +
         ",\"session\":" + json_string(record.session) + ",\"generation\":\"" +
         std::to_string(record.generation) + "\"}";
}

Result<NameRecord> decode_name_record(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::object object;
  if (parser.parse(padded).get_object().get(object) != simdjson::SUCCESS) {
    return make_error("name record: not a JSON object");
  }
  NameRecord record;
  if (!member(object, "node", record.node)) return make_error("name record: no node");
  if (!member(object, "key", record.key_fingerprint)) return make_error("name record: no key");
  if (!member(object, "session", record.session)) return make_error("name record: no session");
  std::string generation;
  if (!member(object, "generation", generation)) {
    return make_error("name record: no generation");
  }
  const auto [end, ec] =
      std::from_chars(generation.data(), generation.data() + generation.size(), record.generation);
  if (ec != std::errc() || end != generation.data() + generation.size() || record.generation == 0) {
    return make_error("name record: bad generation");
  }
  return record;
}

std::string name_key(std::string_view prefix, std::string_view name) {
  std::string key(prefix);
  key += "names/";
  key += name;
  return key;
}

std::string_view name_of_key(std::string_view prefix, std::string_view key) {
  if (!key.starts_with(prefix)) return {};
  key.remove_prefix(prefix.size());
  if (!key.starts_with("names/")) return {};
  return key.substr(6);
}

}  // namespace tg::cluster
