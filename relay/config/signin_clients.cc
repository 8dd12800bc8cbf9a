// read_signin_clients: the `[[signin.client]]` tables, each key checked for type and value.
#include <initializer_list>

#include "relay/auth/redirect_uri.h"
#include "relay/config/signin_client.h"

namespace tg {
namespace {

constexpr std::size_t kMaxClients = 64;
constexpr std::size_t kMaxClientIdChars = 200;
constexpr std::size_t kMaxRedirectUris = 8;

Error fail(const std::string& path, const toml::source_region& where, const std::string& what) {
  return make_error(path + ":" + std::to_string(std::max<int>(1, where.begin.line)) + ": " + what);
}

Status read_one(const toml::table& table, const std::string& path, const std::filesystem::path& dir,
                SigninClient& client) {
  static constexpr std::string_view kKeys[] = {"id", "name", "redirect_uris", "secret_file"};
  for (auto&& [key, value] : table) {
    bool known = false;
    for (std::string_view k : kKeys) known = known || key.str() == k;
    if (!known) {
      return fail(path, key.source(),
                  "unknown key \"" + std::string(key.str()) + "\" in [[signin.client]]");
    }
  }
  client.line = static_cast<int>(table.source().begin.line);
  for (std::string_view key : {"id", "name", "secret_file"}) {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (key == "id") {
        return fail(path, table.source(), "missing required key \"id\" in [[signin.client]]");
      }
      continue;
    }
    const auto* text = node->as_string();
    if (text == nullptr || text->get().empty()) {
      return fail(path, node->source(),
                  "\"" + std::string(key) + "\" in [[signin.client]] must be a non-empty string");
    }
    std::string& out = key == "id" ? client.id : key == "name" ? client.name : client.secret_file;
    out = text->get();
  }
  bool visible = client.id.size() <= kMaxClientIdChars;
  for (const char c : client.id) visible = visible && c > 0x20 && c < 0x7f;
  if (!visible || client.id.starts_with("https://") || client.id.starts_with("tgc1.")) {
    return fail(path, table.get("id")->source(),
                "\"id\" in [[signin.client]] must be 1 to 200 visible characters and not start "
                "with \"https://\" or \"tgc1.\" (those name metadata documents and registrations)");
  }
  if (client.name.empty()) client.name = client.id;
  if (!client.secret_file.empty()) {
    std::filesystem::path file(client.secret_file);
    if (!file.is_absolute() && !dir.empty()) client.secret_file = (dir / file).string();
  }
  const toml::node* uris = table.get("redirect_uris");
  const toml::array* array = uris == nullptr ? nullptr : uris->as_array();
  if (array == nullptr || array->empty() || array->size() > kMaxRedirectUris) {
    return fail(path, uris == nullptr ? table.source() : uris->source(),
                "\"redirect_uris\" in [[signin.client]] must list 1 to 8 URIs");
  }
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      return fail(path, element.source(), "\"redirect_uris\" in [[signin.client]] must be strings");
    }
    if (auto kind = auth::check_redirect_uri(text->get()); !kind) {
      return fail(path, element.source(),
                  "\"redirect_uris\" in [[signin.client]]: " + kind.error().message);
    }
    client.redirect_uris.push_back(text->get());
  }
  return Ok{};
}

}  // namespace

Status read_signin_clients(const toml::table& signin, const std::string& path,
                           const std::filesystem::path& dir, std::vector<SigninClient>& out) {
  const toml::node* clients = signin.get("client");
  if (clients == nullptr) return Ok{};
  const toml::array* array = clients->as_array();
  if (array == nullptr || !array->is_array_of_tables() || array->size() > kMaxClients) {
    return fail(path, clients->source(),
                "\"client\" in [signin] must be at most 64 [[signin.client]] tables");
  }
  for (const toml::node& element : *array) {
    SigninClient client;
    if (Status status = read_one(*element.as_table(), path, dir, client); !status) return status;
    for (const SigninClient& earlier : out) {
      if (earlier.id == client.id) {
        return fail(path, element.as_table()->get("id")->source(),
                    "[[signin.client]] id \"" + client.id + "\" is already used on line " +
                        std::to_string(earlier.line));
      }
    }
    out.push_back(std::move(client));
  }
  return Ok{};
}

}  // namespace tg
