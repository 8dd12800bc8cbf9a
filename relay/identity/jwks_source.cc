// JwksSource: the documents of URL issuers, their first fetch and their refreshes, scheduled
// and early.
#include "relay/identity/jwks_source.h"

#include <algorithm>
#include <limits>

#include "relay/identity/jwks.h"
#include "relay/identity/jwks_refresh_requests.h"

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
  Document document;
  document.url = issuer.jwks;
  document.ca_file = issuer.jwks_ca;
  document.interval = issuer.jwks_refresh_seconds;
  document.next_fetch = now + issuer.jwks_refresh_seconds;
  document.bit = jwks_document_bit(issuer.jwks, issuer.jwks_ca);
  document.text = *text;
  documents_.push_back(std::move(document));
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

std::int64_t JwksSource::early_allowed_at(std::uint64_t bit) const {
  // Documents sharing a bit are asked for together, so they leave their cooldown together.
  std::int64_t allowed = std::numeric_limits<std::int64_t>::min();
  for (const Document& document : documents_) {
    if (document.bit == bit) allowed = std::max(allowed, document.early_allowed_at);
  }
  return allowed;
}

bool JwksSource::fetch_now(const Document& document, std::int64_t now, std::uint64_t wanted) const {
  return document.next_fetch <= now ||
         ((wanted & document.bit) != 0 && early_allowed_at(document.bit) <= now);
}

bool JwksSource::refresh_due(std::int64_t now, std::uint64_t wanted) const {
  auto next = next_refresh_at(wanted);
  return next.has_value() && *next <= now;
}

std::optional<std::int64_t> JwksSource::next_refresh_at(std::uint64_t wanted) const {
  if (documents_.empty()) return std::nullopt;
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const Document& document : documents_) {
    next = std::min(next, document.next_fetch);
    if ((wanted & document.bit) != 0) next = std::min(next, early_allowed_at(document.bit));
  }
  return next;
}

std::uint64_t JwksSource::servable_requests(std::int64_t now, std::uint64_t wanted) const {
  std::uint64_t waiting = 0;  // bits of documents asked for but still in their cooldown
  for (const Document& document : documents_) {
    if ((wanted & document.bit) != 0 && !fetch_now(document, now, wanted)) {
      waiting |= document.bit;
    }
  }
  return wanted & ~waiting;
}

JwksRefresh JwksSource::refresh(std::int64_t now, std::uint64_t early) {
  std::vector<JwksPlannedFetch> planned = plan_refresh(now, early);
  std::vector<Result<std::string>> fetched;
  fetched.reserve(planned.size());
  for (const JwksPlannedFetch& fetch : planned) fetched.push_back(fetch_planned(fetch));
  return apply_refresh(now, planned, std::move(fetched));
}

std::vector<JwksPlannedFetch> JwksSource::plan_refresh(std::int64_t now, std::uint64_t early) {
  // Decided before any cooldown starts, so documents sharing a bit go together.
  std::vector<bool> chosen;
  for (const Document& document : documents_) chosen.push_back(fetch_now(document, now, early));
  std::vector<JwksPlannedFetch> planned;
  for (std::size_t i = 0; i < documents_.size(); ++i) {
    if (!chosen[i]) continue;
    Document& document = documents_[i];
    // Asked for and not yet due: this fetch is an early one, and starts a cooldown.
    const bool is_early = document.next_fetch > now;
    if (is_early) document.early_allowed_at = now + kJwksEarlyRefreshCooldownSeconds;
    planned.push_back({document.url, document.ca_file, is_early});
  }
  return planned;
}

JwksRefresh JwksSource::apply_refresh(std::int64_t now,
                                      const std::vector<JwksPlannedFetch>& planned,
                                      std::vector<Result<std::string>> fetched) {
  JwksRefresh report;
  for (std::size_t i = 0; i < planned.size() && i < fetched.size(); ++i) {
    const JwksPlannedFetch& fetch = planned[i];
    if (fetch.early) report.early.push_back(fetch.url);
    Result<std::string>& text = fetched[i];
    if (!text) report.errors.push_back(text.error().message);
    // A reload during the fetch may have dropped the document: then there is nothing to keep.
    Document* document = find(fetch.url, fetch.ca_file);
    if (document == nullptr) continue;
    if (!text) {
      // A failed early fetch leaves the schedule alone; a failed scheduled one is retried soon.
      if (!fetch.early) {
        document->next_fetch = now + std::min(document->interval, kJwksRetrySeconds);
      }
      continue;
    }
    document->next_fetch = now + document->interval;
    if (*text != document->text) {
      document->text = std::move(*text);
      report.changed.push_back(fetch.url);
    }
  }
  return report;
}

}  // namespace tg::identity
