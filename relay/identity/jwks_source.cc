// JwksSource: the documents of URL issuers, their first fetch and their refreshes.
#include "relay/identity/jwks_source.h"

#include <algorithm>
#include <limits>

#include "relay/identity/jwks.h"

namespace tg::identity {

JwksSource::JwksSource(FetchOptions options, Fetcher fetch)
    : options_(std::move(options)), fetch_(std::move(fetch)) {}

JwksLoader JwksSource::loader(std::int64_t now) {
  return [this, now](const policy::JwtIssuer& issuer) { return load(issuer, now); };
}

JwksSource::Document* JwksSource::find(const std::string& url, const std::string& ca_file) {
  for (Document& document : documents_) {
    if (document.url == url && document.ca_file == ca_file) return &document;
  }
  return nullptr;
}

Result<std::string> JwksSource::fetch(const std::string& url, const std::string& ca_file) const {
  FetchOptions options = options_;
  options.ca_file = ca_file;
  auto text = fetch_(url, options);
  if (!text) return text.error();
  // A document the verifier could not use must not replace one it can.
  auto keys = parse_jwks(*text);
  if (!keys) return make_error(url + ": " + keys.error().message);
  return text;
}

Result<std::string> JwksSource::load(const policy::JwtIssuer& issuer, std::int64_t now) {
  if (!issuer.jwks_is_url) return read_jwks_file(issuer);
  if (const Document* held = find(issuer.jwks, issuer.jwks_ca)) return held->text;
  auto text = fetch(issuer.jwks, issuer.jwks_ca);
  if (!text) return text.error();
  documents_.push_back(Document{issuer.jwks, issuer.jwks_ca, issuer.jwks_refresh_seconds,
                                now + issuer.jwks_refresh_seconds, *text});
  return text;
}

void JwksSource::retain(const policy::Identity& identity) {
  std::vector<Document> kept;
  for (const policy::JwtIssuer& issuer : identity.jwt) {
    if (!issuer.jwks_is_url) continue;
    auto same = [&](const Document& d) {
      return d.url == issuer.jwks && d.ca_file == issuer.jwks_ca;
    };
    auto in_kept = std::find_if(kept.begin(), kept.end(), same);
    if (in_kept != kept.end()) {
      if (issuer.jwks_refresh_seconds < in_kept->interval) {
        in_kept->next_fetch -= in_kept->interval - issuer.jwks_refresh_seconds;
        in_kept->interval = issuer.jwks_refresh_seconds;
      }
      continue;
    }
    auto held = std::find_if(documents_.begin(), documents_.end(), same);
    if (held == documents_.end()) continue;  // never loaded: nothing to keep
    Document document = std::move(*held);
    // A shorter interval than before brings the next fetch forward; a longer one waits for
    // the fetch already planned.
    if (issuer.jwks_refresh_seconds < document.interval) {
      document.next_fetch -= document.interval - issuer.jwks_refresh_seconds;
    }
    document.interval = issuer.jwks_refresh_seconds;
    kept.push_back(std::move(document));
  }
  documents_ = std::move(kept);
}

bool JwksSource::refresh_due(std::int64_t now) const {
  auto next = next_refresh_at();
  return next.has_value() && *next <= now;
}

std::optional<std::int64_t> JwksSource::next_refresh_at() const {
  if (documents_.empty()) return std::nullopt;
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const Document& document : documents_) next = std::min(next, document.next_fetch);
  return next;
}

JwksRefresh JwksSource::refresh(std::int64_t now) {
  JwksRefresh report;
  for (Document& document : documents_) {
    if (document.next_fetch > now) continue;
    auto text = fetch(document.url, document.ca_file);
    if (!text) {
      report.errors.push_back(text.error().message);
      document.next_fetch = now + std::min(document.interval, kJwksRetrySeconds);
      continue;
    }
    document.next_fetch = now + document.interval;
    if (*text != document.text) {
      document.text = std::move(*text);
      report.changed.push_back(document.url);
    }
  }
  return report;
}

}  // namespace tg::identity
