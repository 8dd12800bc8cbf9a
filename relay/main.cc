// tunnelgate: publishes localhost services reached through stock `ssh -R` at public HTTPS
// addresses. This file reads the command line and configuration, starts one worker thread
// per configured core, and turns SIGTERM/SIGINT into a graceful drain.
#include <fcntl.h>
#include <libssh/libssh.h>
#include <mimalloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relay/auth/auth_service.h"
#include "relay/base/file_limit.h"
#include "relay/base/version.h"
#include "relay/config/config.h"
#include "relay/ctl/ctl.h"
#include "relay/dev/dev_state.h"
#include "relay/log/log.h"
#include "relay/policy/policy.h"
#include "relay/worker/shared.h"
#include "relay/worker/worker.h"
#include "tls/tls.h"

namespace {

constexpr const char* kUsage =
    "usage: tunnelgate --config FILE\n"
    "       tunnelgate --check-config FILE\n"
    "       tunnelgate --dev [--state-dir DIR] [--https-port N] [--ssh-port N] [--admin-port N]\n"
    "       tunnelgate ctl [--config FILE | --admin HOST:PORT] COMMAND (ctl --help)\n"
    "       tunnelgate --version\n";

struct Options {
  std::string config_path;
  bool check_only = false;
  bool dev = false;
  tg::DevOptions dev_options;
};

bool parse_port(const char* text, std::uint16_t& port) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "tunnelgate: %s\n", message.c_str());
  return 2;
}

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

// One ES256 key per worker for the identity assertion, under kids unique to this process
// (so a service caching keys by kid never confuses a restarted relay's keys with the last).
std::optional<std::string> make_assertion_keys(unsigned workers, tg::Shared& shared) {
  std::uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, 0) != sizeof nonce) return "getrandom failed";
  char prefix[24];
  std::snprintf(prefix, sizeof prefix, "tg-%012llx-",
                static_cast<unsigned long long>(nonce & 0xffffffffffffULL));
  std::vector<const tg::identity::SigningKey*> published;
  for (unsigned i = 0; i < workers; ++i) {
    auto key = tg::identity::SigningKey::generate(tg::identity::JwsAlgorithm::kES256,
                                                  prefix + std::to_string(i));
    if (!key) return "cannot make the assertion signing key: " + key.error().message;
    shared.assertion_keys.push_back(std::make_unique<tg::identity::SigningKey>(std::move(*key)));
    published.push_back(shared.assertion_keys.back().get());
  }
  shared.assertion_jwks = tg::identity::jwks_json(published);
  return std::nullopt;
}

}  // namespace

// Exceptions happen only at start-up (configuration, out of memory); the process then ends
// with the exception's message, as it should.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "ctl") == 0) return tg::run_ctl(argc - 2, argv + 2);
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--config" || arg == "--check-config") {
      const char* path = value();
      if (path == nullptr) return fail(arg + " needs a file\n" + kUsage);
      options.config_path = path;
      options.check_only = arg == "--check-config";
    } else if (arg == "--dev") {
      options.dev = true;
    } else if (arg == "--state-dir") {
      const char* dir = value();
      if (dir == nullptr) return fail("--state-dir needs a folder");
      options.dev_options.state_dir = dir;
    } else if (arg == "--https-port" || arg == "--ssh-port" || arg == "--admin-port") {
      const char* text = value();
      std::uint16_t& port = arg == "--https-port" ? options.dev_options.https_port
                            : arg == "--ssh-port" ? options.dev_options.ssh_port
                                                  : options.dev_options.admin_port;
      if (text == nullptr || !parse_port(text, port)) return fail(arg + " needs a port 1-65535");
    } else if (arg == "--version") {
      ssh_init();
      std::printf(
          "tunnelgate %s\n  tls:     %s\n  ssh:     libssh %s\n  io:      liburing %s\n"
          "  json:    simdjson %s\n  config:  toml++ %d.%d.%d\n  alloc:   mimalloc %d\n",
          tg::version(), tg::tls::init_library().c_str(), ssh_version(0), TG_LIBURING_VERSION,
          TG_SIMDJSON_VERSION, TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH, mi_version());
      ssh_finalize();
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      return fail("unknown argument \"" + arg + "\"\n" + kUsage);
    }
  }
  if (options.dev == !options.config_path.empty()) {
    return fail(std::string("say what to run\n") + kUsage);
  }

  ssh_init();
  const std::string tls_line = tg::tls::init_library();
  auto config =
      options.dev ? tg::prepare_dev(options.dev_options) : tg::load_config(options.config_path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  if (auto files = tg::check_files(*config); !files) {
    std::fprintf(stderr, "%s\n", files.error().message.c_str());
    return 1;
  }
  if (options.check_only) {
    std::printf("%s: ok\n", options.config_path.c_str());
    return 0;
  }
  auto secret = tg::load_or_create_name_secret(config->state_dir);
  if (!secret) {
    std::fprintf(stderr, "%s\n", secret.error().message.c_str());
    return 1;
  }

  // The policy: compiled once, shared read-only by the workers. Without [policy] the empty
  // policy applies, which exposes nothing: a relay is closed until it is told otherwise.
  tg::JwksDocuments jwks;
  // Sign-in: its keys exist before the first policy, which accepts the relay as an issuer.
  std::unique_ptr<tg::auth::AuthService> signin;
  if (config->signin.enabled) {
    auto made = tg::auth::AuthService::create(*config);
    if (!made) {
      std::fprintf(stderr, "%s\n", made.error().message.c_str());
      return 1;
    }
    signin = std::move(*made);
    jwks.set_signin(signin->issuer(), [service = signin.get()] { return service->rotate_keys(); });
  }
  auto first_policy = jwks.load(config->policy_file);
  if (!first_policy) {
    std::fprintf(stderr, "%s\n", first_policy.error().message.c_str());
    return 1;
  }

  unsigned workers = config->workers;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (workers == 0) workers = cores;

  // Signals are taken by this thread alone (sigtimedwait below); workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int audit_fd = -1;
  if (!config->audit_file.empty()) {
    audit_fd = ::open(config->audit_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (audit_fd < 0) {
      std::fprintf(stderr, "%s: cannot open the audit trail: %s\n", config->audit_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  // The log: standard output, or a file reopened on SIGHUP (onto the same descriptor number,
  // so workers keep writing to "the log" without being told).
  int log_fd = STDOUT_FILENO;
  if (!config->log_file.empty()) {
    log_fd = open_log(config->log_file);
    if (log_fd < 0) {
      std::fprintf(stderr, "%s: cannot open the log: %s\n", config->log_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  tg::log::configure(log_fd, *tg::log::parse_level(config->log_level));
  tg::Shared shared(std::move(*config), workers, std::move(*secret), std::move(*first_policy),
                    signin ? signin->threads() : 0);
  shared.audit_fd = audit_fd;
  if (signin) {
    shared.signin_issuer = signin->issuer();
    shared.signin_counters = &signin->counters();
    signin->set_audit_fd(audit_fd);
  }
  if (!shared.ticket_key_start.generate(static_cast<std::uint64_t>(std::time(nullptr)))) {
    std::fprintf(stderr, "tunnelgate: no randomness for the TLS session ticket keys\n");
    return 1;
  }
  shared.jwks = &jwks;
  if (auto made = make_assertion_keys(workers, shared)) {
    std::fprintf(stderr, "%s\n", made->c_str());
    return 1;
  }
  // A changed JWKS document rebuilds the verifiers through the ordinary reload.
  jwks.start_refreshing([&shared] { shared.reload_requests.fetch_add(1); });
  const auto file_limit = tg::raise_file_limit();
  shared.ssh_descriptor_high_water = tg::ssh_descriptor_high_water(file_limit);
  tg::log::write_now(tg::log::JsonLine("starting")
                         .add("version", tg::version())
                         .add("tls", tls_line)
                         .add("libssh", ssh_version(0))
                         .add("workers", workers)
                         .add("open_files", static_cast<std::uint64_t>(file_limit))
                         .add("ssh_descriptor_high_water", shared.ssh_descriptor_high_water)
                         .add("config", shared.config.source)
                         .add("policy", shared.config.policy_file.empty()
                                            ? std::string("none: nothing is exposed")
                                            : shared.config.policy_file)
                         .finish());

  std::vector<std::unique_ptr<tg::Worker>> worker_objects;
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < workers; ++i) {
    worker_objects.push_back(std::make_unique<tg::Worker>(i, shared));
  }
  shared.ticket_key_start.wipe();  // every worker has its copy; the ratchet goes on from there
  if (signin) signin->start(shared.mailboxes, workers);
  for (unsigned i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      const auto& pins = shared.config.pin_cpus;
      if (!pins.empty() || workers <= cores) {
        // Thread per core: keep each worker's caches and its ring on one CPU.
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(pins.empty() ? i % cores : pins[i % pins.size()], &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      }
      worker_objects[i]->run();
    });
  }

  bool announced = false;
  int exit_code = 0;
  for (;;) {
    timespec wait{0, 50'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (shared.workers_failed.load() > 0) {
      exit_code = 1;
      shared.stopping.store(true);
      break;
    }
    if (!announced && shared.workers_ready.load() == workers) {
      announced = true;
      auto line = tg::log::JsonLine("ready");
      line.add("workers", workers);
      for (const auto& address : shared.config.https_listen) line.add("https", address.text);
      for (const auto& address : shared.config.ssh_listen) line.add("ssh", address.text);
      if (shared.config.admin_enabled) line.add("admin", shared.config.admin_listen.text);
      line.add("domain", shared.config.domain);
      if (options.dev) {
        const std::string commands = tg::dev_instructions(shared.config);
        const auto newline = commands.find('\n');
        line.add("ssh_command", commands.substr(0, newline));
        line.add("curl_command", commands.substr(newline + 1));
        std::fprintf(stderr, "\ntunnelgate --dev is ready. State: %s\nTry:\n  %s\n\n",
                     shared.config.state_dir.c_str(), commands.c_str());
        std::fprintf(stderr,
                     "(then run a service on localhost:8080; the second command is\n"
                     " how anyone on this machine reaches it: %s)\n\n",
                     commands.substr(newline + 1).c_str());
        if (!shared.signin_issuer.empty()) {
          std::fprintf(stderr,
                       "Sign-in: %s/signin has a development page (--dev only) that signs in\n"
                       " any email you type. A tunnel whose access rule reads jwt.* sends\n"
                       " browsers there, and MCP clients find it through the tunnel's OAuth\n"
                       " metadata (connect them to https://NAME.%s:PORT/mcp).\n\n",
                       shared.signin_issuer.c_str(), shared.config.domain.c_str());
        }
      }
      tg::log::write_now(line.finish());
    }
    if (sig == SIGHUP) {
      if (!shared.config.log_file.empty()) {
        const int reopened = open_log(shared.config.log_file);
        if (reopened >= 0) {
          ::dup2(reopened, tg::log::output_fd());
          ::close(reopened);
        }
      }
      tg::log::write_now(tg::log::JsonLine("reload_requested").add("signal", "SIGHUP").finish());
      shared.reload_requests.fetch_add(1);
    }
    if (sig == SIGTERM || sig == SIGINT) {
      if (shared.stopping.load()) {
        // A second signal: the operator does not want to wait for the drain.
        tg::log::write_now(tg::log::JsonLine("stopping_now").finish());
        shared.abort_now.store(true);
        break;
      }
      tg::log::write_now(tg::log::JsonLine("stopping")
                             .add("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")
                             .add("drain_timeout_ms", shared.config.drain_timeout_ms)
                             .finish());
      shared.stopping.store(true);
    }
    if (shared.stopping.load() && shared.workers_done.load() == workers) break;
  }
  for (auto& thread : threads) thread.join();
  if (signin) signin->stop();  // before `shared`, whose mailboxes they use, goes away
  jwks.stop_refreshing();      // before `shared`, which its callback touches, goes away
  worker_objects.clear();
  tg::log::write_now(tg::log::JsonLine("stopped").add("exit_code", exit_code).finish());
  ssh_finalize();
  return exit_code;
}
