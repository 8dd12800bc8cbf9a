#include "relay/proxy/origin_check.h"

#include "relay/http/http.h"

namespace tg {

bool origin_allowed(std::string_view origin, std::string_view tunnel_url,
                    std::span<const std::string_view> allowed) {
  if (tunnel_url.ends_with('/')) tunnel_url.remove_suffix(1);
  if (http::iequals(origin, tunnel_url)) return true;
  for (std::string_view entry : allowed) {
    if (entry.ends_with('/')) entry.remove_suffix(1);
    if (http::iequals(origin, entry)) return true;
  }
  return false;
}

}  // namespace tg
