/// `tunnelgate ctl`: the operator's command line over the admin API.
///
///   tunnelgate ctl [--config FILE | --admin HOST:PORT [--token-file FILE]] COMMAND
///     tunnels [--owner SHA256:…] [--json]   what is published now, one line per tunnel
///     show NAME                             one tunnel, as JSON
///     kill NAME                             unpublish it (its publisher is told; a session
///                                           left with nothing published is closed)
///     health                                liveness and readiness
///     metrics                               the Prometheus text
///
/// With --config it reads the admin address and token file from the relay's own config.
#pragma once

namespace tg {

/// Runs `tunnelgate ctl ARGS…` (argv after "ctl"); returns the process exit code.
int run_ctl(int argc, char** argv);

}  // namespace tg
