// read_signin_providers: the `[[signin.provider]]` tables, each key checked for type and
// value; read_client_secret: the secret file each one names.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>

#include "relay/config/signin_providers_reader.h"
#include "relay/identity/jwks_fetch.h"

namespace tg {
namespace {

constexpr std::size_t kMaxProviderIdChars = 32;
constexpr std::size_t kMaxProviders = 16;

class ProviderReader {
 public:
  ProviderReader(const std::string& path, const std::filesystem::path& dir)
      : path_(path), dir_(dir) {}

  Status read(const toml::node& signin, std::vector<SigninProvider>& out);

 private:
  Error fail(const toml::source_region& where, const std::string& message) const {
    return make_error(path_ + ":" + std::to_string(std::max<int>(1, where.begin.line)) + ": " +
                      message);
  }
  static std::string describe(std::string_view key) {
    return "\"" + std::string(key) + "\" in [[signin.provider]]";
  }
  Status read_one(const toml::table& table, SigninProvider& provider);
  Status string(const toml::table& table, std::string_view key, bool required, std::string& out);
  Status domains(const toml::table& table, std::vector<std::string>& out);
  Status check_id(const toml::table& table, const std::string& id);
  Status check_scopes(const toml::table& table, const std::string& scopes);
  std::string resolve(const std::string& path) const {
    std::filesystem::path p(path);
    return p.is_absolute() || dir_.empty() ? path : (dir_ / p).string();
  }

  const std::string& path_;
  const std::filesystem::path& dir_;
};

Status ProviderReader::string(const toml::table& table, std::string_view key, bool required,
                              std::string& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    if (!required) return Ok{};
    return fail(table.source(), "missing required key " + describe(key));
  }
  const auto* value = node->as_string();
  if (value == nullptr) return fail(node->source(), describe(key) + " must be a string");
  if (value->get().empty()) return fail(node->source(), describe(key) + " must not be empty");
  out = value->get();
  return Ok{};
}

Status ProviderReader::check_id(const toml::table& table, const std::string& id) {
  bool slug = id.size() <= kMaxProviderIdChars && id.front() != '-' && id.back() != '-';
  for (const char c : id) {
    slug = slug && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (slug) return Ok{};
  return fail(table.get("id")->source(),
              describe("id") + " must be 1 to 32 of a-z, 0-9 and '-' (not at either end), not \"" +
                  id + "\"");
}

// A scope is an RFC 6749 §3.3 scope-token; the request must ask for `openid` or the provider
// answers without an id_token.
Status ProviderReader::check_scopes(const toml::table& table, const std::string& scopes) {
  bool openid = false;
  std::size_t start = 0;
  while (start <= scopes.size()) {
    const std::size_t end = std::min(scopes.find(' ', start), scopes.size());
    const std::string_view scope = std::string_view(scopes).substr(start, end - start);
    for (const char c : scope) {
      if (c < 0x21 || c == '"' || c == '\\' || c > 0x7e) {
        return fail(table.get("scopes")->source(),
                    describe("scopes") + " must be scope names separated by single spaces");
      }
    }
    openid = openid || scope == "openid";
    start = end + 1;
  }
  if (openid) return Ok{};
  return fail(table.get("scopes")->source(), describe("scopes") + " must include \"openid\"");
}

Status ProviderReader::domains(const toml::table& table, std::vector<std::string>& out) {
  const toml::node* node = table.get("allowed_email_domains");
  if (node == nullptr) return Ok{};
  const toml::array* array = node->as_array();
  const std::string what = describe("allowed_email_domains");
  if (array == nullptr) return fail(node->source(), what + " must be an array of strings");
  if (array->empty()) return fail(node->source(), what + " must list at least one domain");
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) return fail(element.source(), what + " must be an array of strings");
    std::string domain = value->get();
    bool valid =
        !domain.empty() && domain.size() <= 253 && domain.front() != '.' && domain.back() != '.';
    for (char& c : domain) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
    }
    if (!valid) {
      return fail(element.source(), what + ": \"" + value->get() + "\" is not a domain name");
    }
    out.push_back(std::move(domain));
  }
  return Ok{};
}

Status ProviderReader::read_one(const toml::table& table, SigninProvider& provider) {
  static constexpr std::string_view kKeys[] = {
      "id",          "display_name",       "issuer",
      "client_id",   "client_secret_file", "scopes",
      "email_claim", "groups_claim",       "allowed_email_domains",
      "ca_file"};
  for (auto&& [key, value] : table) {
    bool known = false;
    for (std::string_view k : kKeys) known = known || key.str() == k;
    if (!known) return fail(key.source(), "unknown key " + describe(key.str()));
  }
  provider.line = static_cast<int>(table.source().begin.line);
  Status status = string(table, "id", true, provider.id);
  if (status) status = check_id(table, provider.id);
  if (status) status = string(table, "display_name", false, provider.display_name);
  if (status) status = string(table, "issuer", true, provider.issuer);
  if (status) {
    auto url = identity::parse_https_url(provider.issuer);
    if (!url) {
      status = fail(table.get("issuer")->source(), describe("issuer") + ": " + url.error().message);
    } else if (provider.issuer.find('?') != std::string::npos) {
      status = fail(table.get("issuer")->source(),
                    describe("issuer") + " must not have a query (OpenID Connect Discovery §3)");
    }
  }
  if (status) status = string(table, "client_id", true, provider.client_id);
  if (status) status = string(table, "client_secret_file", true, provider.client_secret_file);
  if (status) status = string(table, "scopes", false, provider.scopes);
  if (status) status = check_scopes(table, provider.scopes);
  if (status) status = string(table, "email_claim", false, provider.email_claim);
  if (status) status = string(table, "groups_claim", false, provider.groups_claim);
  if (status) status = domains(table, provider.allowed_email_domains);
  if (status) status = string(table, "ca_file", false, provider.ca_file);
  if (!status) return status;
  if (provider.display_name.empty()) provider.display_name = provider.id;
  provider.client_secret_file = resolve(provider.client_secret_file);
  if (table.contains("ca_file")) provider.ca_file = resolve(provider.ca_file);
  return Ok{};
}

Status ProviderReader::read(const toml::node& signin, std::vector<SigninProvider>& out) {
  const toml::table* table = signin.as_table();
  if (table == nullptr) return fail(signin.source(), "\"signin\" must be a table");
  // The other keys of [signin] are config.cc's (ConfigReader::read_signin checks them all).
  const toml::node* providers = table->get("provider");
  if (providers == nullptr) {
    return fail(table->source(), "[signin] needs at least one [[signin.provider]]");
  }
  const toml::array* array = providers->as_array();
  if (array == nullptr || array->empty() || !array->is_array_of_tables()) {
    return fail(providers->source(), "\"provider\" in [signin] must be [[signin.provider]] tables");
  }
  if (array->size() > kMaxProviders) {
    return fail(providers->source(),
                "at most " + std::to_string(kMaxProviders) + " [[signin.provider]] tables");
  }
  for (const toml::node& element : *array) {
    SigninProvider provider;
    if (Status status = read_one(*element.as_table(), provider); !status) return status;
    for (const SigninProvider& earlier : out) {
      if (earlier.id == provider.id) {
        return fail(element.as_table()->get("id")->source(),
                    "[[signin.provider]] id \"" + provider.id + "\" is already used on line " +
                        std::to_string(earlier.line));
      }
    }
    out.push_back(std::move(provider));
  }
  return Ok{};
}

}  // namespace

Status read_signin_providers(const toml::node& signin, const std::string& path,
                             const std::filesystem::path& dir, std::vector<SigninProvider>& out) {
  return ProviderReader(path, dir).read(signin, out);
}

Result<std::string> read_client_secret(const std::string& path) {
  const std::string what = path + ": cannot read the client secret: ";
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return make_error(what + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return make_error(what + "not a regular file");
  // A provider's client secret lets anyone sign people in as the relay: like an SSH key, a
  // file others can read is refused rather than used.
  if ((info.st_mode & 077) != 0) {
    return make_error(path + ": the client secret file can be read by others (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(what + std::strerror(errno));
  std::string text(kMaxClientSecretChars + 3, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return make_error(what + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with('\n')) {
    text.pop_back();
  }
  if (text.empty()) return make_error(path + ": the client secret file is empty");
  if (text.size() > kMaxClientSecretChars) {
    return make_error(path + ": the client secret is longer than " +
                      std::to_string(kMaxClientSecretChars) + " characters");
  }
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e) {
      return make_error(path +
                        ": the client secret must be one word of visible ASCII (spaces, tabs "
                        "or control characters found)");
    }
  }
  return text;
}

}  // namespace tg
