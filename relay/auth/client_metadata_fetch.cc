#include "relay/auth/client_metadata_fetch.h"

#include "relay/identity/jwks_fetch.h"

namespace tg::auth {
bool is_internal_address(const policy::IpAddress& address) {
  static const policy::Cidr kBlocks[] = {
      *policy::Cidr::parse("0.0.0.0/8"),      *policy::Cidr::parse("10.0.0.0/8"),
      *policy::Cidr::parse("100.64.0.0/10"),  *policy::Cidr::parse("127.0.0.0/8"),
      *policy::Cidr::parse("169.254.0.0/16"), *policy::Cidr::parse("172.16.0.0/12"),
      *policy::Cidr::parse("192.0.0.0/24"),   *policy::Cidr::parse("192.168.0.0/16"),
      *policy::Cidr::parse("198.18.0.0/15"),  *policy::Cidr::parse("224.0.0.0/3"),
      *policy::Cidr::parse("::/128"),         *policy::Cidr::parse("::1/128"),
      *policy::Cidr::parse("fc00::/7"),       *policy::Cidr::parse("fe80::/10"),
      *policy::Cidr::parse("ff00::/8"),       *policy::Cidr::parse("64:ff9b::/96"),
  };
  if (address.empty()) return true;
  for (const policy::Cidr& block : kBlocks) {
    if (block.contains(address)) return true;
  }
  return false;
}

Result<ClientMetadata> ClientMetadataFetcher::fetch(std::string_view url, std::int64_t now) {
  const std::string key(url);
  if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now) {
    return it->second.metadata;
  }
  auto parsed = identity::parse_https_url(url);
  if (!parsed) return make_error("client_id is not a valid https URL");
  if (parsed->target == "/") return make_error("a client_id URL must have a path");

  identity::FetchOptions options;
  options.ca_file = ca_file_;
  options.max_bytes = kMaxRegistrationBytes;
  options.timeout_ms = 3000;
  // Checked on the very addresses the connection then uses (no second lookup to rebind).
  options.admit_address = [this](const sockaddr* address) -> std::string {
    const policy::IpAddress ip = policy::IpAddress::from_sockaddr(address);
    bool allowed = !is_internal_address(ip);
    for (const policy::Cidr& block : allow_) allowed = allowed || block.contains(ip);
    if (allowed) return {};
    return "client_id's host resolves to an internal address (" + ip.to_string() +
           "), which this relay does not fetch";
  };
  auto body = identity::fetch_https(url, options);
  if (!body) return make_error("client metadata document: " + body.error().message);
  auto metadata = parse_client_metadata_document(*body, url);
  if (!metadata) return make_error("client metadata document: " + metadata.error().message);
  if (cache_.size() >= kMaxCachedDocuments) cache_.clear();
  cache_[key] = Cached{*metadata, now + kCacheSeconds};
  return metadata;
}

}  // namespace tg::auth
