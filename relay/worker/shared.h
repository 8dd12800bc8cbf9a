/// What every worker reaches: the configuration, the name registry, the mailboxes, and the
/// process-wide flags. Everything else a worker uses is its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relay/config/config.h"
#include "relay/identity/jws_signer.h"
#include "relay/io/mailbox.h"
#include "relay/limits/memory_budget.h"
#include "relay/routing/name_registry.h"
#include "relay/worker/jwks_documents.h"
#include "relay/worker/policy_set.h"
#include "tls/ticket_keys.h"

namespace tg {
namespace auth {
struct SigninCounters;
}

struct Shared {
  Shared(Config cfg, unsigned workers, std::string secret,
         std::shared_ptr<const PolicySet> first_policy, unsigned signin_thread_count = 0)
      : config(std::move(cfg)),
        worker_count(workers),
        signin_threads(signin_thread_count),
        signin_first_endpoint(workers),
        mailboxes(workers + signin_thread_count, config.handoff_queue_entries),
        memory_budget(config.memory_budget_bytes, workers),
        name_secret(std::move(secret)),
        initial_policy(std::move(first_policy)) {}

  const Config config;
  const unsigned worker_count;
  // The sign-in threads (auth/auth_service.h): mailbox endpoints after the workers; 0 when
  // sign-in is off.
  const unsigned signin_threads;
  const unsigned signin_first_endpoint;
  std::string signin_issuer;  // "https://auth.DOMAIN[:port]", "" when sign-in is off
  auth::SigninCounters* signin_counters = nullptr;  // the sign-in threads' (for /metrics)
  NameRegistry registry;
  io::Mailboxes mailboxes;
  MemoryBudget memory_budget;     // bytes held in connection buffers, one slot per worker
  const std::string name_secret;  // keys the stable names
  // The policy loaded at start-up; each worker keeps its own reference, replaced on reload.
  const std::shared_ptr<const PolicySet> initial_policy;
  // Where every worker's session-ticket key schedule starts; main wipes it once the workers
  // have taken their copies (tls/ticket_keys.h).
  tls::TicketKeyStart ticket_key_start;
  // The keys that sign the identity assertion handed to services, one per worker (a
  // SigningKey is not thread-safe: worker i alone uses assertion_keys[i]), and the JWKS that
  // publishes them all. Made at start-up; a restart rotates them.
  std::vector<std::unique_ptr<identity::SigningKey>> assertion_keys;
  std::string assertion_jwks;
  // Loads policies with the JWKS documents of URL issuers (control path: the reloading
  // worker and main; owned by main).
  JwksDocuments* jwks = nullptr;
  std::atomic<bool> stopping{false};
  std::atomic<bool> abort_now{false};  // a second SIGTERM: stop without waiting
  std::atomic<unsigned> workers_ready{0};
  std::atomic<unsigned> workers_failed{0};
  std::atomic<unsigned> workers_done{0};
  std::atomic<std::uint64_t> reload_requests{0};  // SIGHUP, a changed JWKS; worker 0 acts
  int audit_fd = -1;  // the audit trail (O_APPEND: each worker's one write per round is whole)
  // Workers whose last audit write failed: a count, so one worker's success does not hide
  // another's failure.
  std::atomic<unsigned> audit_failing_workers{0};
  // SSH connections accepted and not yet authenticated, all workers together (max_startups).
  std::atomic<std::uint32_t> ssh_unauthenticated{0};
  // An accepted SSH socket numbered this or higher is closed at once: the descriptors above are
  // the visitors' reserve (relay/base/file_limit.h). 0 = no check. Set before workers start.
  std::uint64_t ssh_descriptor_high_water = 0;
};

}  // namespace tg
