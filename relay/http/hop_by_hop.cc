#include "relay/http/hop_by_hop.h"

#include <charconv>

#include "relay/http/field_list.h"

namespace tg::http::detail {
namespace {

bool is_listed_by_connection(std::string_view name, const Header* headers, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (!iequals(headers[i].name, "connection")) {
      continue;
    }
    ListElements options(headers[i].value);
    std::string_view option;
    while (options.next(option)) {
      if (iequals(option, name)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

bool is_hop_by_hop(std::string_view name, const Header* headers, std::size_t count) {
  constexpr std::string_view kProxyPrefix = "proxy-";
  if (name.size() >= kProxyPrefix.size() &&
      iequals(name.substr(0, kProxyPrefix.size()), kProxyPrefix)) {
    return true;
  }
  for (std::string_view fixed :
       {"connection", "keep-alive", "proxy", "te", "trailer", "transfer-encoding", "upgrade"}) {
    if (iequals(name, fixed)) {
      return true;
    }
  }
  return is_listed_by_connection(name, headers, count);
}

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];
  const auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  (void)error;  // 20 digits hold any uint64_t
  out.append(digits, end);
}

}  // namespace tg::http::detail
