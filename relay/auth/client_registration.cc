#include "relay/auth/client_registration.h"

#include <simdjson.h>

#include "relay/auth/redirect_uri.h"
#include "relay/identity/json_walk.h"

namespace tg::auth {
namespace {

namespace od = simdjson::ondemand;

Result<std::vector<std::string>> read_strings(od::value value, std::string_view what,
                                              std::size_t max) {
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return make_error(std::string(what) + " must be an array of strings");
  }
  std::vector<std::string> out;
  for (auto item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return make_error(std::string(what) + " must be an array of strings");
    }
    if (out.size() == max) {
      return make_error(std::string(what) + ": more than " + std::to_string(max));
    }
    out.emplace_back(text);
  }
  return out;
}

Result<ClientMetadata> parse(std::string_view json, bool document) {
  if (json.size() > kMaxRegistrationBytes) return make_error("the metadata is larger than 16 KiB");
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document root_document;
  od::object root;
  if (parser.iterate(padded).get(root_document) != simdjson::SUCCESS ||
      root_document.get_object().get(root) != simdjson::SUCCESS) {
    return make_error("the metadata is not a JSON object");
  }
  ClientMetadata out;
  bool saw_redirects = false;
  std::vector<std::string_view> names;
  for (auto member : root) {
    od::field field;
    std::string_view name;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      return make_error("the metadata is not valid JSON");
    }
    names.push_back(name);
    od::value value = field.value();
    if (name == "redirect_uris") {
      auto uris = read_strings(value, "redirect_uris", kMaxRedirectUris);
      if (!uris) return uris.error();
      out.redirect_uris = std::move(*uris);
      saw_redirects = true;
    } else if (name == "client_name" || name == "client_id" ||
               name == "token_endpoint_auth_method") {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return make_error(std::string(name) + " must be a string");
      }
      if (name == "client_name") {
        if (text.size() > kMaxClientNameBytes) return make_error("client_name is too long");
        out.client_name = text;
      } else if (name == "client_id") {
        out.client_id = text;
      } else if (text != "none") {
        return make_error(
            "token_endpoint_auth_method must be \"none\": this server registers public clients "
            "(PKCE protects their codes)");
      }
    } else if (name == "grant_types" || name == "response_types") {
      auto list = read_strings(value, name, 8);
      if (!list) return list.error();
      for (const std::string& item : *list) {
        const bool known = name == "grant_types"
                               ? item == "authorization_code" || item == "refresh_token"
                               : item == "code";
        if (!known) return make_error(std::string(name) + ": \"" + item + "\" is not supported");
      }
    } else if (!identity::detail::walk_json_value(value)) {
      return make_error("the metadata is not valid JSON");
    }
  }
  if (!identity::detail::at_document_end(root_document)) {
    return make_error("the metadata is not valid JSON");
  }
  if (identity::detail::has_duplicate(names)) return make_error("the metadata repeats a member");
  if (!saw_redirects || out.redirect_uris.empty()) {
    return make_error("redirect_uris must list at least one URI");
  }
  for (const std::string& uri : out.redirect_uris) {
    if (auto kind = check_redirect_uri(uri); !kind) {
      return make_error("redirect_uris: " + kind.error().message);
    }
  }
  if (!document && !out.client_id.empty()) {
    return make_error("client_id is assigned by the server, not requested");
  }
  for (const char c : out.client_name) {
    if (static_cast<unsigned char>(c) < 0x20) return make_error("client_name holds control bytes");
  }
  return out;
}

}  // namespace

Result<ClientMetadata> parse_registration_request(std::string_view json) {
  return parse(json, false);
}

Result<ClientMetadata> parse_client_metadata_document(std::string_view json, std::string_view url) {
  auto parsed = parse(json, true);
  if (!parsed) return parsed;
  if (parsed->client_id != url) {
    return make_error("the document's client_id is not the URL it was fetched from");
  }
  return parsed;
}

}  // namespace tg::auth
