// Checking identity tables: issuers and jwks sources, API key names and SHA-256 digests.
#include "relay/policy/identity_loader.h"

#include <set>

namespace tg::policy {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_jwt(TomlReader& reader, const toml::table& table, const std::filesystem::path& folder,
              JwtIssuer& out) {
  constexpr std::string_view kWhere = "[[identity.jwt]]";
  out.line = TomlReader::line_of(table);
  const toml::node* jwks_node = nullptr;
  const toml::node* ca_node = nullptr;
  const toml::node* refresh_node = nullptr;
  std::vector<const toml::value<std::string>*> audiences;
  if (!reader.known_keys(table, kWhere,
                         {"issuer", "jwks", "audiences", "jwks_ca", "jwks_refresh_seconds"}) ||
      !reader.string(table, "issuer", kWhere, true, out.line, out.issuer) ||
      !reader.string(table, "jwks", kWhere, true, out.line, out.jwks, &jwks_node) ||
      !reader.strings(table, "audiences", kWhere, false, true, out.line, audiences) ||
      !reader.string(table, "jwks_ca", kWhere, false, out.line, out.jwks_ca, &ca_node) ||
      !reader.integer(table, "jwks_refresh_seconds", kWhere, kMinJwksRefreshSeconds,
                      kMaxJwksRefreshSeconds, out.jwks_refresh_seconds, &refresh_node)) {
    return false;
  }
  for (const auto* audience : audiences) {
    if (audience->get().empty()) {
      return reader.fail(*audience, "\"audiences\" in [[identity.jwt]] must not hold \"\"");
    }
    out.audiences.push_back(audience->get());
  }
  if (out.jwks.starts_with("https://")) {
    out.jwks_is_url = true;
    std::filesystem::path ca(out.jwks_ca);
    if (ca.is_relative() && !folder.empty()) out.jwks_ca = (folder / ca).string();
  } else if (out.jwks.find("://") != std::string::npos) {
    return reader.fail(*jwks_node,
                       "\"jwks\" in [[identity.jwt]] must be a file or an https:// "
                       "URL, not \"" +
                           out.jwks + "\"");
  } else if (ca_node != nullptr || refresh_node != nullptr) {
    // A file is read with each policy load; these would silently do nothing.
    return reader.fail(
        ca_node != nullptr ? *ca_node : *refresh_node,
        std::string(ca_node != nullptr ? "\"jwks_ca\"" : "\"jwks_refresh_seconds\"") +
            " in [[identity.jwt]] applies only to an https:// jwks URL");
  } else {
    std::filesystem::path path(out.jwks);
    if (path.is_relative() && !folder.empty()) out.jwks = (folder / path).string();
  }
  return true;
}

bool read_api_key(TomlReader& reader, const toml::table& table, ApiKey& out) {
  constexpr std::string_view kWhere = "[[identity.api_key]]";
  out.line = TomlReader::line_of(table);
  std::string hex;
  const toml::node* hex_node = nullptr;
  if (!reader.known_keys(table, kWhere, {"name", "sha256"}) ||
      !reader.string(table, "name", kWhere, true, out.line, out.name) ||
      !reader.string(table, "sha256", kWhere, true, out.line, hex, &hex_node)) {
    return false;
  }
  bool valid = hex.size() == 64;
  for (std::size_t i = 0; valid && i < 32; ++i) {
    int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
    valid = high >= 0 && low >= 0;
    out.sha256[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  if (!valid) {
    return reader.fail(*hex_node, "\"sha256\" of API key \"" + out.name +
                                      "\" must be 64 hex digits (the SHA-256 of the key, as "
                                      "`printf %s KEY | sha256sum` prints it)");
  }
  return true;
}

}  // namespace

bool read_identity(TomlReader& reader, const toml::table& root, const std::filesystem::path& folder,
                   Identity& out) {
  const toml::node* node = root.get("identity");
  if (node == nullptr) return true;
  const toml::table* identity = node->as_table();
  if (identity == nullptr) return reader.fail(*node, "\"identity\" must be a table");
  std::vector<const toml::table*> jwt_tables, key_tables;
  if (!reader.known_keys(*identity, "[identity]", {"jwt", "api_key"}) ||
      !reader.tables(*identity, "jwt", "[[identity.jwt]]", jwt_tables) ||
      !reader.tables(*identity, "api_key", "[[identity.api_key]]", key_tables)) {
    return false;
  }
  std::set<std::string> issuers;
  for (const toml::table* table : jwt_tables) {
    JwtIssuer issuer;
    if (!read_jwt(reader, *table, folder, issuer)) return false;
    if (!issuers.insert(issuer.issuer).second) {
      return reader.fail(issuer.line, "issuer \"" + issuer.issuer + "\" is declared twice");
    }
    out.jwt.push_back(std::move(issuer));
  }
  std::set<std::string> names;
  std::set<std::array<std::uint8_t, 32>> digests;
  for (const toml::table* table : key_tables) {
    ApiKey key;
    if (!read_api_key(reader, *table, key)) return false;
    if (!names.insert(key.name).second) {
      return reader.fail(key.line, "API key name \"" + key.name + "\" is declared twice");
    }
    if (!digests.insert(key.sha256).second) {
      return reader.fail(key.line,
                         "API key \"" + key.name + "\" has the same sha256 as an earlier key");
    }
    out.api_keys.push_back(std::move(key));
  }
  return true;
}

}  // namespace tg::policy
