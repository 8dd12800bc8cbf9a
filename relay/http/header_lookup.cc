// Case-insensitive header names (RFC 9110 section 5.1): ASCII only, as names are tokens.
#include "relay/http/char_class.h"
#include "relay/http/http.h"

namespace tg::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view find_header(const Header* headers, std::size_t count, std::string_view name) {
  for (std::size_t i = 0; i < count; ++i) {
    if (iequals(headers[i].name, name)) {
      return headers[i].value;
    }
  }
  return {};
}

}  // namespace tg::http
