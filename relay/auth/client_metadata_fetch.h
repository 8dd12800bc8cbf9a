/// Fetching a Client ID Metadata Document: an MCP client whose client_id is an https:// URL
/// publishes its registration there, and the authorization server reads it.
///
/// The URL is a stranger's choice, so the fetch is the classic server-side request forgery
/// risk. Defences: https only, with a path; the host's addresses are resolved once and the
/// fetch refused when any of them is loopback, private (RFC 1918, ULA), link-local, CGNAT,
/// multicast or unspecified, unless the operator's allow-list (`[signin]
/// client_metadata_allow`) covers it; the connection then uses those same addresses (no
/// second lookup a rebinding DNS answer could change); no redirects; at most 16 KiB; a
/// 3-second deadline.
/// Documents are cached (per sign-in thread, at most kMaxCachedDocuments, 5 minutes each).
/// Blocking: sign-in threads only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/auth/client_registration.h"
#include "relay/base/result.h"
#include "relay/policy/ip_address.h"

namespace tg::auth {

/// Whether `address` is one a stranger's URL must not make the relay call.
bool is_internal_address(const policy::IpAddress& address);

class ClientMetadataFetcher {
 public:
  static constexpr std::size_t kMaxCachedDocuments = 1000;
  static constexpr std::int64_t kCacheSeconds = 300;

  ClientMetadataFetcher(std::vector<policy::Cidr> allow, std::string ca_file)
      : allow_(std::move(allow)), ca_file_(std::move(ca_file)) {}

  Result<ClientMetadata> fetch(std::string_view url, std::int64_t now);

 private:
  struct Cached {
    ClientMetadata metadata;
    std::int64_t expires = 0;
  };
  std::vector<policy::Cidr> allow_;
  std::string ca_file_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace tg::auth
