// check_strict_transport_security: the configured value checked the way a browser would read
// it (RFC 6797 section 6.1), so what the operator wrote is what browsers enforce.
#include "relay/http/strict_transport_security.h"

#include "relay/http/http.h"

namespace tg::http {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

Status check_strict_transport_security(std::string_view value) {
  bool max_age = false, subdomains = false, preload = false;
  while (true) {
    const auto semicolon = value.find(';');
    const std::string_view directive = trim(value.substr(0, semicolon));
    const auto equals = directive.find('=');
    const std::string_view name = trim(directive.substr(0, equals));
    const std::string_view argument =
        equals == std::string_view::npos ? std::string_view() : trim(directive.substr(equals + 1));
    if (iequals(name, "max-age")) {
      if (max_age) return make_error("\"max-age\" is given twice");
      if (argument.empty() || argument.size() > 10 ||
          argument.find_first_not_of("0123456789") != std::string_view::npos) {
        return make_error("\"max-age\" needs a number of seconds, as in max-age=63072000");
      }
      max_age = true;
    } else if (iequals(name, "includeSubDomains") || iequals(name, "preload")) {
      bool& seen = iequals(name, "preload") ? preload : subdomains;
      if (seen) return make_error("\"" + std::string(name) + "\" is given twice");
      if (equals != std::string_view::npos) {
        return make_error("\"" + std::string(name) + "\" takes no value");
      }
      seen = true;
    } else {
      return make_error("\"" + std::string(directive) +
                        "\" is not a directive of Strict-Transport-Security (max-age, "
                        "includeSubDomains, preload)");
    }
    if (semicolon == std::string_view::npos) break;
    value.remove_prefix(semicolon + 1);
  }
  if (!max_age) return make_error("\"max-age\" is required, as in max-age=63072000");
  return Ok{};
}

std::string strict_transport_security_field(std::string_view value) {
  if (value.empty()) return {};
  std::string field = "strict-transport-security: ";
  field.append(value).append("\r\n");
  return field;
}

}  // namespace tg::http
