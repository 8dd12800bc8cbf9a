/// The embedded defaults of `tunnelgate --dev`, and the state folder every relay keeps.
///
/// `--dev` needs nothing but the binary: it listens on loopback only, serves the domain
/// `localhost` (so https://NAME.localhost:8443/ reaches the relay in curl and browsers
/// without DNS), and on first start writes into its state folder a local CA (leaf
/// certificates are issued per name on demand), an SSH host key, and a demo client key
/// that the generated authorized_keys lets publish.
#pragma once

#include <cstdint>
#include <string>

#include "relay/base/result.h"
#include "relay/config/config.h"

namespace tg {

struct DevOptions {
  std::string state_dir;  // empty: $HOME/.local/state/tunnelgate-dev, else ./tunnelgate-dev
  std::uint16_t https_port = 8443;
  std::uint16_t ssh_port = 2222;
  std::uint16_t admin_port = 0;  // 0: no admin API
};

/// Creates what is missing in the state folder and returns the configuration to run.
Result<Config> prepare_dev(const DevOptions& options);

/// The commands to try, for the start-up message.
std::string dev_instructions(const Config& config);

/// Reads the secret that keys stable names from `state_dir`, creating it on first start.
Result<std::string> load_or_create_name_secret(const std::string& state_dir);

}  // namespace tg
