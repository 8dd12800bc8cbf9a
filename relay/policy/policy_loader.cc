// parse_policy / load_policy: the TOML document walked table by table into a CompiledPolicy,
// every expression compiled where it stands, every mistake a `file:line[:col]` error.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "relay/policy/compile.h"
#include "relay/policy/compiled_policy.h"
#include "relay/policy/identity_loader.h"
#include "relay/policy/policy.h"
#include "relay/policy/source_position.h"
#include "relay/policy/toml_reader.h"

namespace tg::policy {
namespace {

// 10,000 rules take about 1.5 MB; anything near this is not a policy.
constexpr std::size_t kMaxPolicyBytes = 64 * 1024 * 1024;
constexpr std::size_t kMaxNameGlobBytes = 253;
constexpr std::size_t kMaxRuleIdBytes = 128;

class PolicyLoader {
 public:
  PolicyLoader(std::string_view text, const std::string& path)
      : text_(text), reader_(path), policy_(std::make_unique<CompiledPolicy>()) {
    policy_->source = path;
  }

  Result<std::unique_ptr<CompiledPolicy>> load(const toml::table& root) {
    std::vector<const toml::table*> expose, access;
    bool ok = reader_.known_keys(root, "the policy file", {"expose", "access", "identity"}) &&
              reader_.tables(root, "expose", "[[expose]]", expose) &&
              reader_.tables(root, "access", "[[access]]", access) &&
              read_identity(reader_, root, std::filesystem::path(reader_.path()).parent_path(),
                            policy_->identity);
    for (std::size_t i = 0; ok && i < expose.size(); ++i) ok = read_expose(*expose[i], i);
    for (std::size_t i = 0; ok && i < access.size(); ++i) ok = read_access(*access[i], i);
    if (!ok) return make_error(reader_.error());
    policy_->expose_index.build();
    policy_->access_index.build();
    return std::move(policy_);
  }

 private:
  bool rule_id(const toml::table& table, std::string_view where, std::string fallback, int line,
               std::unordered_map<std::string_view, int>& seen, std::string_view& out) {
    std::string id = std::move(fallback);
    const toml::node* node = nullptr;
    if (!reader_.string(table, "id", where, false, line, id, &node)) return false;
    int id_line = node != nullptr ? TomlReader::line_of(*node) : line;
    if (id.size() > kMaxRuleIdBytes) {
      return reader_.fail(
          id_line, "\"id\" is longer than " + std::to_string(kMaxRuleIdBytes) + " characters");
    }
    for (char c : id) {
      if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
        return reader_.fail(
            id_line, "\"id\" \"" + id + "\" must be printable ASCII without spaces or quotes");
      }
    }
    out = policy_->pool.intern(id);
    auto [previous, inserted] = seen.emplace(out, id_line);
    if (!inserted) {
      return reader_.fail(id_line, "rule id \"" + id + "\" is already used on line " +
                                       std::to_string(previous->second));
    }
    return true;
  }

  bool names(const toml::table& table, std::string_view where, int line, std::uint32_t rule,
             NameIndex& index) {
    std::vector<const toml::value<std::string>*> patterns;
    if (!reader_.strings(table, "names", where, true, false, line, patterns)) return false;
    for (const auto* pattern : patterns) {
      const std::string& text = pattern->get();
      std::string problem;
      for (char c : text) {
        if (c >= 'A' && c <= 'Z') {
          problem = "tunnel names are lower case, so \"" + text + "\" would never match";
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     std::string_view("-*?[]!^\\").find(c) != std::string_view::npos)) {
          problem = "\"" + text + "\" can never match: tunnel names hold only a-z, 0-9 and -";
        }
        if (!problem.empty()) break;
      }
      if (text.empty()) problem = "\"names\" must not hold \"\"";
      if (text.size() > kMaxNameGlobBytes) problem = "a name glob is longer than 253 characters";
      if (!problem.empty()) return reader_.fail(*pattern, problem);
      auto glob = Glob::compile(text);
      if (!glob) return reader_.fail(*pattern, glob.error().message);
      index.add(*glob, rule);
    }
    return true;
  }

  bool expression(const toml::value<std::string>& node, Phase phase, CompiledExpression& out) {
    const std::string& text = node.get();
    CompileResult compiled = compile_expression(text, phase, policy_->program, policy_->pool);
    if (compiled.error) {
      TextPosition start{static_cast<int>(node.source().begin.line),
                         static_cast<int>(node.source().begin.column)};
      TextPosition at = locate_in_toml_string(text_, start, text, compiled.error->offset);
      return reader_.fail_at(at.line, at.column, compiled.error->message);
    }
    out.root = compiled.root;
    // Only exposure refusals quote their expression; access decisions name rules, not text.
    if (phase == kExposePhase) out.text = policy_->pool.intern(text);
    return true;
  }

  bool actor_class(const toml::node& node, std::string_view key, ActorClass& out) {
    const auto* text = node.as_string();
    auto parsed = text != nullptr ? parse_actor_class(text->get()) : std::nullopt;
    if (!parsed) {
      return reader_.fail(node, "\"" + std::string(key) +
                                    "\" in [[expose]] must name human, workload or agent" +
                                    (text != nullptr ? ", not \"" + text->get() + "\"" : ""));
    }
    out = *parsed;
    return true;
  }

  bool read_expose(const toml::table& table, std::size_t index) {
    constexpr std::string_view kWhere = "[[expose]]";
    int line = TomlReader::line_of(table);
    auto rule_index = static_cast<std::uint32_t>(policy_->expose_rules.size());
    ExposeRule rule;
    if (!reader_.known_keys(table, kWhere, {"id", "names", "when", "class", "classes"}) ||
        !rule_id(table, kWhere, "expose[" + std::to_string(index) + "]", line, expose_ids_,
                 rule.id) ||
        !names(table, kWhere, line, rule_index, policy_->expose_index)) {
      return false;
    }
    if (const toml::node* when = table.get("when")) {
      const auto* text = when->as_string();
      if (text == nullptr) {
        return reader_.fail(*when, "\"when\" in [[expose]] must be an expression string");
      }
      if (!expression(*text, kExposePhase, rule.when)) return false;
      rule.has_when = true;
    }
    bool has_class = false;
    if (const toml::node* node = table.get("class")) {
      if (!actor_class(*node, "class", rule.default_class)) return false;
      has_class = true;
    }
    if (const toml::node* node = table.get("classes")) {
      const toml::array* array = node->as_array();
      if (array == nullptr || array->empty()) {
        return reader_.fail(*node,
                            "\"classes\" in [[expose]] must list classes, such as "
                            "classes = [\"human\", \"agent\"]");
      }
      bool first = true;
      for (const toml::node& element : *array) {
        ActorClass listed;
        if (!actor_class(element, "classes", listed)) return false;
        rule.requestable |= class_bit(listed);
        // Without `class`, a publisher that asks for nothing gets the first listed.
        if (!has_class && first) rule.default_class = listed;
        first = false;
      }
    }
    rule.requestable |= class_bit(rule.default_class);
    policy_->expose_rules.push_back(rule);
    return true;
  }

  // Compiles `texts` onto the policy's access roots, giving their range. With `settings`,
  // notes which identity attributes the expressions read (a node's operands precede it, so
  // an expression is the nodes appended while compiling it).
  bool access_expressions(const std::vector<const toml::value<std::string>*>& texts,
                          std::uint32_t& begin, std::uint32_t& count,
                          AccessRuleSettings* settings) {
    auto& roots = policy_->access_roots;
    begin = static_cast<std::uint32_t>(roots.size());
    for (const auto* text : texts) {
      CompiledExpression compiled;
      const std::size_t first_node = policy_->program.nodes.size();
      if (!expression(*text, kAccessPhase, compiled)) return false;
      roots.push_back(compiled.root);
      if (settings == nullptr) continue;
      for (std::size_t n = first_node; n < policy_->program.nodes.size(); ++n) {
        const Attr attr = policy_->program.nodes[n].attr;
        if (attr >= Attr::kJwtIss && attr <= Attr::kJwtClaims) settings->reads_jwt = true;
        if (attr == Attr::kApiKeyName) settings->reads_api_key = true;
      }
    }
    count = static_cast<std::uint32_t>(roots.size()) - begin;
    return true;
  }

  bool read_access(const toml::table& table, std::size_t index) {
    constexpr std::string_view kWhere = "[[access]]";
    int line = TomlReader::line_of(table);
    auto rule_index = static_cast<std::uint32_t>(policy_->access_rules.size());
    AccessRule rule;
    std::string_view id;
    std::vector<const toml::value<std::string>*> allow, deny;
    if (!reader_.known_keys(table, kWhere,
                            {"id", "names", "allow", "deny", "mcp", "origins", "scopes"}) ||
        !rule_id(table, kWhere, "access[" + std::to_string(index) + "]", line, access_ids_, id) ||
        !names(table, kWhere, line, rule_index, policy_->access_index) ||
        !reader_.strings(table, "allow", kWhere, false, true, line, allow) ||
        !reader_.strings(table, "deny", kWhere, false, true, line, deny)) {
      return false;
    }
    if (allow.empty() && deny.empty()) {
      return reader_.fail(line,
                          "an [[access]] rule needs allow or deny expressions (to deny "
                          "everything, write deny = [\"true\"])");
    }
    AccessRuleSettings settings;
    if (!access_expressions(deny, rule.deny_begin, rule.deny_count, nullptr) ||
        !access_expressions(allow, rule.allow_begin, rule.allow_count, &settings) ||
        !access_settings(table, line, settings)) {
      return false;
    }
    policy_->access_rules.push_back(rule);
    policy_->access_settings.push_back(std::move(settings));
    policy_->access_rule_ids.push_back(id);
    return true;
  }

  // `mcp`, `origins` and `scopes` of an [[access]] rule.
  bool access_settings(const toml::table& table, int line, AccessRuleSettings& settings) {
    constexpr std::string_view kWhere = "[[access]]";
    if (const toml::node* node = table.get("mcp")) {
      const auto* flag = node->as_boolean();
      if (flag == nullptr) {
        return reader_.fail(*node, "\"mcp\" in [[access]] must be true or false");
      }
      settings.mcp = flag->get();
    }
    std::vector<const toml::value<std::string>*> origins, scopes;
    if (!reader_.strings(table, "origins", kWhere, false, true, line, origins) ||
        !reader_.strings(table, "scopes", kWhere, false, true, line, scopes)) {
      return false;
    }
    for (const auto* origin : origins) {
      const std::string& text = origin->get();
      const bool scheme = text.starts_with("https://") || text.starts_with("http://");
      if (!scheme || text.ends_with("/") ||
          text.find('/', text.find("//") + 2) != std::string::npos) {
        return reader_.fail(*origin,
                            "an origin is scheme://host[:port], such as "
                            "\"https://app.example.com\", not \"" +
                                text + "\"");
      }
      settings.origins.push_back(policy_->pool.intern(text));
    }
    for (const auto* scope : scopes) {
      const std::string& text = scope->get();
      if (text.empty() || text.find_first_of(" \"\\") != std::string::npos) {
        return reader_.fail(*scope,
                            "a scope is one OAuth scope token (no spaces or quotes), "
                            "not \"" +
                                text + "\"");
      }
      settings.scopes.push_back(policy_->pool.intern(text));
    }
    return true;
  }

  std::string_view text_;
  TomlReader reader_;
  std::unique_ptr<CompiledPolicy> policy_;
  std::unordered_map<std::string_view, int> expose_ids_;
  std::unordered_map<std::string_view, int> access_ids_;
};

}  // namespace

Result<Policy> parse_policy(std::string_view text, const std::string& path) {
  // toml++ reports syntax errors by exception; they stop here, as values. So does running
  // out of memory while building a huge policy.
  try {
    toml::table root = toml::parse(text, std::string_view(path));
    auto compiled = PolicyLoader(text, path).load(root);
    if (!compiled) return compiled.error();
    return Policy(std::move(*compiled));
  } catch (const toml::parse_error& e) {
    return make_error(path + ":" + std::to_string(std::max<int>(1, e.source().begin.line)) + ":" +
                      std::to_string(std::max<int>(1, e.source().begin.column)) + ": " +
                      std::string(e.description()));
  } catch (const std::exception& e) {
    return make_error(path + ": cannot load: " + e.what());
  }
}

Result<Policy> load_policy(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  std::string problem;
  try {
    char buffer[64 * 1024];
    for (ssize_t n; problem.empty() && (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno != EINTR) problem = std::strerror(errno);
      if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() > kMaxPolicyBytes) problem = "larger than 64 MiB, not a policy file";
    }
  } catch (const std::exception& e) {
    problem = e.what();
  }
  ::close(fd);
  if (!problem.empty()) return make_error(path + ": cannot read: " + problem);
  return parse_policy(text, path);
}

}  // namespace tg::policy
