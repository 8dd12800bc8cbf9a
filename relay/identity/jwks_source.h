/// Where the JWKS of each `[[identity.jwt]]` issuer comes from: the file it names, or the last
/// good document fetched from its https:// URL, refreshed in the background and, when a token
/// names a kid the document lacks, early.
///
/// A `JwksSource` keeps one document per (URL, CA file). Its `loader` is what
/// `JwtVerifier::create` takes: a file issuer is read from disk on every load; a URL issuer is
/// answered from the document already held, and fetched (blocking, fetch_https) only the first
/// time the URL is seen, so a policy reload costs no network round trip. A control-path loop
/// then asks `refresh_due(now, wanted)`, or sleeps until `next_refresh_at(wanted)`, and calls
/// `refresh(now, taken)`, which fetches again every document whose `jwks_refresh_seconds` have
/// passed and every document asked for early, and reports which changed: for those, the caller
/// builds a new JwtVerifier (with `loader` again, which now answers the new text) and hands it
/// to the workers.
///
/// Early refreshes. `wanted` is the word of JwksRefreshRequests (jwks_refresh_requests.h): the
/// documents (one bit each, `jwks_document_bit`) whose key set a worker found without a token's
/// kid. A document asked for is fetched at once unless it was fetched early less than
/// kJwksEarlyRefreshCooldownSeconds ago; then the request waits for the cooldown to end (it is
/// not dropped: a key published just after the last early fetch is still picked up). So however
/// many unknown kids arrive, a document gets at most one early fetch per cooldown. The caller
/// clears the bits `servable_requests(now, wanted)` names before calling `refresh(now, taken)`
/// with them: requests that arrive during the fetch stay for the next round. A successful early
/// fetch also restarts the document's refresh interval; a failed one keeps the last good
/// document, is reported like a failed refresh, and leaves the schedule alone.
///
/// A fetched document is kept only when `parse_jwks` accepts it (a 200 with a broken or
/// keyless body does not replace good keys). A failed refresh keeps the last good document,
/// is reported for the log, and is retried after kJwksRetrySeconds rather than the full
/// interval. A first fetch that fails keeps nothing, so the policy naming it fails to load
/// (the verifier's rule: no issuer that cannot be checked) and the next load tries again.
///
/// A refresh in three steps. `refresh` blocks for up to the fetch timeout per document, and
/// whoever holds the source meanwhile (the lock of JwksDocuments) would hold up a reload with
/// it. So it is also offered in steps: `plan_refresh(now, early)` chooses the documents (and
/// starts the cooldowns of early ones), `fetch_planned` fetches one (it reads nothing but the
/// source's options and fetcher, which never change, so it may run unlocked beside loads and
/// retains), and `apply_refresh` keeps what came back. A document a reload dropped during the
/// fetch stays dropped; one it kept gets the fetched text, reported as changed, so the caller's
/// next load picks it up.
///
/// Threads: a JwksSource is used by one thread at a time (a control thread or the refresh
/// thread, under the owner's lock); only `fetch_planned` may run beside the others. The loader
/// it returns captures the source: use it only while the source lives, inside
/// JwtVerifier::create, on that same thread. Workers never see the source: they share the
/// immutable JwtVerifier built from its text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/identity/jwks_fetch.h"
#include "relay/identity/jwt_verifier.h"
#include "relay/policy/identity.h"

namespace tg::identity {

/// After a failed refresh, the next attempt comes this soon (or at the issuer's interval, if
/// shorter).
inline constexpr std::int64_t kJwksRetrySeconds = 30;

/// At most one early fetch per document this often, however many unknown kids arrive (the
/// default of jose's createRemoteJWKSet).
inline constexpr std::int64_t kJwksEarlyRefreshCooldownSeconds = 30;

/// One document `plan_refresh` chose to fetch.
struct JwksPlannedFetch {
  std::string url;
  std::string ca_file;
  bool early = false;  // asked for and not yet due: an early fetch, in its cooldown now
};

/// What one `refresh` did.
struct JwksRefresh {
  std::vector<std::string> changed;  // URLs whose document changed: rebuild the verifier
  std::vector<std::string> errors;   // one line per failed fetch ("https://…: timed out")
  std::vector<std::string> early;    // URLs fetched early (asked for, not yet due)
};

class JwksSource {
 public:
  /// How documents are fetched; tests pass a fake.
  using Fetcher = std::function<Result<std::string>(std::string_view url, const FetchOptions&)>;

  /// `options` apply to every fetch, except `ca_file`, which comes from each issuer.
  explicit JwksSource(FetchOptions options = {}, Fetcher fetch = fetch_https);

  /// A loader for JwtVerifier::create at time `now` (seconds since the epoch; starts the
  /// refresh interval of a URL fetched for the first time).
  JwksLoader loader(std::int64_t now);

  /// Forgets the documents that `identity` (the policy now in use) no longer names, and takes
  /// its refresh intervals (the shortest, when several issuers share a document). Call it
  /// after a new policy and its verifier have replaced the old ones.
  void retain(const policy::Identity& identity);

  /// Whether some document is due for a fetch at `now`, by its interval or because it is in
  /// `wanted` (early requests, one bit per document) and out of its cooldown.
  bool refresh_due(std::int64_t now, std::uint64_t wanted = 0) const;
  /// When the next document is due, `wanted` counted; nullopt when there are none (no URL
  /// issuers). May be in the past.
  std::optional<std::int64_t> next_refresh_at(std::uint64_t wanted = 0) const;

  /// The bits of `wanted` that `refresh(now, …)` would serve: those whose documents it fetches
  /// at `now`, and those that stand for no document (stale requests). The bits of documents in
  /// their cooldown are left out: they stay asked for.
  std::uint64_t servable_requests(std::int64_t now, std::uint64_t wanted) const;

  /// Fetches every document due at `now`, and those asked for in `early` and out of their
  /// cooldown; see JwksRefresh. The three steps below, in one call.
  JwksRefresh refresh(std::int64_t now, std::uint64_t early = 0);

  /// The documents `refresh(now, early)` fetches; the early ones start their cooldown now.
  std::vector<JwksPlannedFetch> plan_refresh(std::int64_t now, std::uint64_t early = 0);
  /// Fetches and checks one planned document: its JWKS text, or why not. Safe beside any other
  /// call (it touches no document).
  Result<std::string> fetch_planned(const JwksPlannedFetch& planned) const {
    return fetch(planned.url, planned.ca_file);
  }
  /// Keeps what `fetched` (one result per entry of `planned`, in order) brought, as of the plan's
  /// `now`, and reports it. Documents no longer held are left alone.
  JwksRefresh apply_refresh(std::int64_t now, const std::vector<JwksPlannedFetch>& planned,
                            std::vector<Result<std::string>> fetched);

  std::size_t document_count() const { return documents_.size(); }

 private:
  struct Document {
    std::string url;
    std::string ca_file;
    std::int64_t interval = policy::kDefaultJwksRefreshSeconds;
    std::int64_t next_fetch = 0;
    std::uint64_t bit = 0;              // jwks_document_bit(url, ca_file)
    std::int64_t early_allowed_at = 0;  // the end of the cooldown of the last early fetch
    std::string text;                   // the last good JWKS
  };

  // Whether `document` is fetched at `now`: due, or asked for in `wanted` and out of cooldown.
  bool fetch_now(const Document& document, std::int64_t now, std::uint64_t wanted) const;
  // When the documents standing for `bit` may next be fetched early.
  std::int64_t early_allowed_at(std::uint64_t bit) const;

  Result<std::string> load(const policy::JwtIssuer& issuer, std::int64_t now);
  // Fetches and checks one document's text: the JWKS text, or why not.
  Result<std::string> fetch(const std::string& url, const std::string& ca_file) const;
  Document* find(const std::string& url, const std::string& ca_file);

  FetchOptions options_;
  Fetcher fetch_;
  std::vector<Document> documents_;  // few: one per URL issuer
};

}  // namespace tg::identity
