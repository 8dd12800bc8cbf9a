# Shared by the macro benchmark's scenarios (sourced by run.sh, not run on its own): process
# bookkeeping and cleanup, CPU and memory readings from /proc, the credentials, the backend,
# and the two stacks every scenario compares, started once per run on loopback ports picked
# here, inside a temporary directory that is removed on exit:
#
#   tunnelgate: $TG_BIN (workers = 2), published by the stock OpenSSH client as "notes" (for
#               wrk) and by tunnelgate-load's in-process publisher as "load-0" …;
#   baseline:   OpenSSH's sshd, and nginx (worker_processes 2) terminating TLS for *.tg.test:
#               notes.tg.test proxies to the stock client's `ssh -R 127.0.0.1:FWD_PORT:…`,
#               every other name to FWD_LOAD_PORT, the port tunnelgate-load's publisher asks
#               sshd to forward (`--forward-address 127.0.0.1 --forward-port FWD_LOAD_PORT`).
#
# Both stacks log every request, negotiate TLS 1.3 with AES-128-GCM, and see the same
# clients. Nothing on the system is changed, except that a missing /run/sshd (sshd's
# privilege-separation directory, normally made by its service) is created.

# shellcheck disable=SC2034  # what is set here is read by run.sh and the scenario scripts

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

DOMAIN=tg.test
NAME=notes
HOSTNAME_PUBLISHED=$NAME.$DOMAIN
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
BACKEND_REPLY='{"jsonrpc":"2.0","id":1,"result":{}}'
CLK_TCK=$(getconf CLK_TCK)
SSHD=/usr/sbin/sshd
# Loopback addresses visitors' connections leave from in turn: one address and port pair
# gives only the ~28,000 ports of the ephemeral range.
LOAD_SOURCES=(--source 127.0.0.1 --source 127.0.0.2 --source 127.0.0.3 --source 127.0.0.4)

# ---------------------------------------------------------------------------------------------
# Processes: everything started here is recorded by pid and stopped at exit.
STARTED=()    # pids started by this script, in start order
TREE_ROOTS=() # pids whose descendants (e.g. sshd's per-connection children) are ours too

descendants() { # PID... -> the pids and all their descendants, one per line
  local f rest pid ppid
  declare -A parent=()
  for f in /proc/[0-9]*/stat; do
    { read -r rest <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/}; pid=${pid%/stat}
    rest=${rest##*) }
    ppid=${rest#* }; ppid=${ppid%% *}
    parent[$pid]=$ppid
  done
  local -a queue=("$@") out=()
  local p c
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    [ -e "/proc/$p" ] || continue
    out+=("$p")
    for c in "${!parent[@]}"; do
      [ "${parent[$c]}" = "$p" ] && queue+=("$c")
    done
  done
  [ "${#out[@]}" -gt 0 ] && printf '%s\n' "${out[@]}"
  return 0
}

cleanup() {
  local rc=$? pid all=()
  trap - EXIT INT TERM
  if [ "${#TREE_ROOTS[@]}" -gt 0 ]; then
    mapfile -t all < <(descendants "${TREE_ROOTS[@]}")
  fi
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    kill -TERM "${STARTED[$i]}" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${STARTED[@]}" "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${STARTED[@]}" "${all[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${WORK:-}" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}

started() { STARTED+=("$1"); }

wait_for_line() { # FILE EXTENDED-REGEX TIMEOUT_S PID WHAT -> prints the first matching text
  local file=$1 re=$2 pid=$4 what=$5 deadline=$((SECONDS + $3)) hit
  while :; do
    if [ -f "$file" ] && hit=$(grep -m1 -oE "$re" "$file"); then
      printf '%s\n' "$hit"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || { say "$what: process $pid exited"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { say "$what: nothing after ${3}s"; return 1; }
    sleep 0.2
  done
}

show_logs() { # FILE... : the tails, for a failure's diagnosis
  local f
  for f in "$@"; do [ -s "$f" ] && { say "--- $f"; tail -n 20 "$f" >&2; }; done
  return 0
}

free_ports() { # N -> N distinct free loopback ports
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# ---------------------------------------------------------------------------------------------
# Readings from /proc.

# CPU ticks of each process of the trees under the given pids: "pid total system", where total
# is the process's own utime + stime plus cutime + cstime, the CPU of the children it has
# reaped, and system the kernel's part of it (stime + cstime).
# A process that ends during a run (sshd's session process when tunnelgate-load disconnects,
# before the closing snapshot) leaves its CPU in its parent's cutime/cstime, so it counts.
cpu_snapshot() {
  local pid stat rest
  while read -r pid; do
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || continue
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "$pid $((f[11] + f[12] + f[13] + f[14])) $((f[12] + f[14]))"
  done < <(descendants "$@")
}

# BEFORE AFTER -> ticks used between the snapshots: for every process alive at the end, its
# growth (all of it when it started in between); minus, for every process that ended in
# between, what it had used before (its parent's cutime took its whole lifetime).
# A third argument "system" counts the kernel's part only.
cpu_delta() {
  local column=2
  [ "${3:-}" = system ] && column=3
  awk -v c="$column" 'NR == FNR { before[$1] = $c; next }
       { seen[$1] = 1; sum += $c - (($1 in before) ? before[$1] : 0) }
       END { for (p in before) if (!(p in seen)) sum -= before[p]; print sum + 0 }' "$1" "$2"
}

memory_kib() { # PID... -> "pss_kib rss_kib processes" summed over the trees under the pids
  # PSS (proportional set size) divides each shared page among the processes mapping it, so
  # sshd's forked children are not counted once per process for the pages they share.
  local pid pss=0 rss=0 n=0 p r
  while read -r pid; do
    p=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    r=$(awk '/^Rss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    [ -n "$p" ] || continue
    pss=$((pss + p)); rss=$((rss + r)); n=$((n + 1))
  done < <(descendants "$@")
  echo "$pss $rss $n"
}

machine_ticks() { # -> "processes irq+softirq steal total": the machine's CPU ticks since boot
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
  echo "$((user + nice + system)) $((irq + softirq)) $steal $((user + nice + system + idle + iowait + irq + softirq + steal))"
}

children_ticks() { # TIMES_FILE -> CPU ticks of this shell's reaped children in bash's `times` output
  awk -v hz="$CLK_TCK" 'NR == 2 { gsub(/s/, ""); split($1, u, "m"); split($2, s, "m");
    printf "%d\n", ((u[1] * 60 + u[2]) + (s[1] * 60 + s[2])) * hz + 0.5 }' "$1"
}

machine_busy_pct() { # SECONDS -> % of all cores' time spent outside idle over that many seconds
  local p0 i0 s0 t0 p1 i1 s1 t1
  read -r p0 i0 s0 t0 <<<"$(machine_ticks)"; sleep "$1"; read -r p1 i1 s1 t1 <<<"$(machine_ticks)"
  echo $(((p1 - p0 + i1 - i0 + s1 - s0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

# ---------------------------------------------------------------------------------------------
# Credentials: a test CA, a wildcard certificate for *.tg.test (EC P-256), ssh keys.
make_credentials() {
  cat >leaf.ext <<EOF
subjectAltName = DNS:*.$DOMAIN, DNS:$DOMAIN
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=tunnelgate bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new "${ec[@]}" -keyout key.pem -out leaf.csr -subj "/CN=*.$DOMAIN" 2>/dev/null
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 \
    -extfile leaf.ext 2>/dev/null
  ssh-keygen -q -t ed25519 -N '' -C 'bench publisher' -f client_key
  ssh-keygen -q -t ed25519 -N '' -C 'tunnelgate host' -f tg_host_key
  ssh-keygen -q -t ed25519 -N '' -C 'sshd host' -f sshd_host_key
  cp client_key.pub authorized_keys
}

SSH_CLIENT_OPTS=()
set_ssh_client_opts() {
  SSH_CLIENT_OPTS=(-F /dev/null -i "$WORK/client_key" -o IdentitiesOnly=yes
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o ExitOnForwardFailure=yes -o ServerAliveInterval=0 -v)
}

ssh_cipher() { # LOGFILE -> the cipher the OpenSSH client negotiated
  grep -m1 -oE 'kex: server->client cipher: [^ ]+' "$1" | sed 's/.*cipher: //' || true
}

nginx_common() { # DIR WORKER_CONNECTIONS : the lines both nginx instances share
  mkdir -p "$1/tmp"
  # Within the open-files limit this shell has (raising the hard limit needs privileges).
  local nofile wc=$2
  nofile=$(ulimit -n)
  [ "$wc" -lt "$nofile" ] || wc=$((nofile - 64))
  cat <<EOF
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile $nofile;
events { worker_connections $wc; }
EOF
}
nginx_http_common() { # DIR
  cat <<EOF
  access_log off;  # the backend's; the TLS front turns its own on, see below
  client_body_temp_path $1/tmp/body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  # Keep-alive connections stay up for the whole run on both stacks (nginx's default would
  # close each after 1000 requests, adding handshakes that tunnelgate may not have).
  keepalive_requests 10000000;
  keepalive_timeout 300s;
EOF
}

# ---------------------------------------------------------------------------------------------
# The publisher's local service for the stock OpenSSH client (wrk runs): nginx answering
# POST /mcp. tunnelgate-load answers from its built-in backends instead.
run_nginx() { # DIR : checks and starts the nginx whose nginx.conf is in $WORK/DIR; NGINX_PID
  local dir=$1
  nginx -t -q -c "$WORK/$dir/nginx.conf" -p "$WORK/$dir" -e "$WORK/$dir/error.log" 2>"$dir/test.log" ||
    { show_logs "$dir/test.log"; die "$dir nginx config rejected"; }
  nginx -c "$WORK/$dir/nginx.conf" -p "$WORK/$dir" -e "$WORK/$dir/error.log" -g 'daemon off;' \
    >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!; started "$NGINX_PID"
}

start_backend() {
  mkdir -p backend
  {
    echo "worker_processes 1;"
    nginx_common "$WORK/backend" 4096
    echo "http {"
    nginx_http_common "$WORK/backend"
    cat <<EOF
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location /mcp {
      default_type application/json;
      return 200 '$BACKEND_REPLY';
    }
  }
}
EOF
  } >backend/nginx.conf
  run_nginx backend
  BACKEND_PID=$NGINX_PID
  local reply=
  for _ in $(seq 100); do
    reply=$(curl -s -m 2 -X POST -H 'Content-Type: application/json' -d "$BODY" \
      "http://127.0.0.1:$BACKEND_PORT/mcp" 2>/dev/null) && break
    sleep 0.1
  done
  [ "$reply" = "$BACKEND_REPLY" ] || { show_logs backend/error.log; die "backend answered '$reply'"; }
  say "backend nginx on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"
}

declare -A TLS_INFO=() SSH_CIPHER=() RELAY_ROOTS=() CLIENT_PID=() PORT=()

check_published() { # PORT STACK : one request through the stack with curl (resolve + CA)
  local out
  out=$(curl -sS -m 10 --cacert "$WORK/ca.pem" --resolve "$HOSTNAME_PUBLISHED:$1:127.0.0.1" \
    -X POST -H 'Content-Type: application/json' -d "$BODY" -w '\n%{http_code}' \
    -v "https://$HOSTNAME_PUBLISHED:$1/mcp" 2>"$WORK/curl-$2.log") || true
  if [ "$out" != "$BACKEND_REPLY"$'\n200' ]; then
    say "$2: curl through https://$HOSTNAME_PUBLISHED:$1/mcp got: $out"
    return 1
  fi
  TLS_INFO[$2]=$(grep -m1 -oE 'SSL connection using .*' "$WORK/curl-$2.log" | sed 's/SSL connection using //') || true
}

# ---------------------------------------------------------------------------------------------
# The baseline: sshd + ssh -N -R + nginx terminating TLS.
nginx_proxy_location() { # UPSTREAM HOST-HEADER
  cat <<EOF
    location / {
      proxy_pass http://$1;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # What tunnelgate does too: the local service sees itself addressed as localhost.
      proxy_set_header Host $2;
      # An MCP relay must stream (SSE), so no response buffering, as in tunnelgate.
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
EOF
}

start_baseline() {
  mkdir -p sshd front
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    say "creating /run/sshd (sshd's privilege-separation directory, normally made by its service)"
    mkdir -m 0755 /run/sshd
  fi
  # MaxStartups: the scale scenario sets sessions up a few at a time, well under the default.
  cat >sshd/sshd_config <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $WORK/sshd_host_key
AuthorizedKeysFile $WORK/authorized_keys
PidFile none
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
LogLevel ERROR
EOF
  "$SSHD" -t -f sshd/sshd_config 2>sshd/test.log || { show_logs sshd/test.log; die "sshd config rejected"; }
  "$SSHD" -D -e -f "$WORK/sshd/sshd_config" >sshd/stdout.log 2>sshd/stderr.log &
  SSHD_PID=$!; started "$SSHD_PID"; TREE_ROOTS+=("$SSHD_PID")

  {
    echo "worker_processes 2;"
    nginx_common "$WORK/front" 100000
    echo "http {"
    nginx_http_common "$WORK/front"
    cat <<EOF
  # Upstream keep-alive pools large enough for every visitor connection of the scenarios, so
  # that nginx does not open a new forwarded connection (and SSH channel) per request.
  upstream tunnel {
    server 127.0.0.1:$FWD_PORT;
    keepalive 1024;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  upstream load_tunnel {
    server 127.0.0.1:$FWD_LOAD_PORT;
    keepalive 1024;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  ssl_certificate $WORK/cert.pem;
  ssl_certificate_key $WORK/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  # The TLS 1.3 suite tunnelgate (wolfSSL) picks, so that both stacks run the same cipher
  # (left alone, nginx follows the client's preference for AES-256-GCM).
  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
  ssl_prefer_server_ciphers on;
  # No session cache or tickets: tunnelgate-load never resumes, wrk keeps its connections.
  server {
    listen 127.0.0.1:$NGINX_PORT ssl default_server;
    server_name *.$DOMAIN;
    # tunnelgate writes a JSON line per request; nginx's default access log is the equivalent.
    access_log $WORK/front/access.log;
$(nginx_proxy_location load_tunnel localhost)
  }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    server_name $HOSTNAME_PUBLISHED;
    access_log $WORK/front/access.log;
$(nginx_proxy_location tunnel "localhost:$BACKEND_PORT")
  }
}
EOF
  } >front/nginx.conf
  run_nginx front
  FRONT_PID=$NGINX_PID

  local up=0
  for _ in $(seq 100); do
    kill -0 "$SSHD_PID" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  [ "$up" = 1 ] || { show_logs sshd/stderr.log; die "sshd did not start listening"; }
  RELAY_ROOTS[baseline]="$FRONT_PID $SSHD_PID"
  PORT[baseline]=$NGINX_PORT
  say "baseline: nginx 127.0.0.1:$NGINX_PORT (pid $FRONT_PID), sshd 127.0.0.1:$SSHD_PORT (pid $SSHD_PID)"
}

# The stock OpenSSH client publishing the backend through the baseline (for wrk).
publish_baseline_ssh() {
  [ -z "${CLIENT_PID[baseline]:-}" ] || return 0
  ssh "${SSH_CLIENT_OPTS[@]}" -E "$WORK/ssh-baseline.log" -N -p "$SSHD_PORT" \
    -R "127.0.0.1:$FWD_PORT:127.0.0.1:$BACKEND_PORT" "$(id -un)@127.0.0.1" </dev/null \
    >ssh-baseline.out 2>&1 &
  local ssh_pid=$!; started "$ssh_pid"
  local ok=0
  for _ in $(seq 150); do
    kill -0 "$ssh_pid" 2>/dev/null || break
    if [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST -d "$BODY" \
      "http://127.0.0.1:$FWD_PORT/mcp" 2>/dev/null)" = 200 ]; then ok=1; break; fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || { show_logs ssh-baseline.log sshd/stderr.log; die "baseline: ssh -R forward never came up"; }
  check_published "$NGINX_PORT" baseline || { show_logs front/error.log; die "baseline: no answer through nginx"; }
  CLIENT_PID[baseline]=$ssh_pid
  SSH_CIPHER[baseline]=$(ssh_cipher ssh-baseline.log)
  say "baseline: ssh -R 127.0.0.1:$FWD_PORT -> backend (pid $ssh_pid)"
}

# ---------------------------------------------------------------------------------------------
# tunnelgate, with limits raised for the scale scenario (10,000 tunnels from one key, tens of
# thousands of connections on one tunnel).
write_tunnelgate_policy() { # FILE : one expose rule and one access rule (a real decision)
  cat >"$1" <<'EOF'
[[expose]]
names = ["*"]

[[access]]
names = ["*"]
allow = ['http.method == "POST" || http.method == "GET"']
deny = ['http.path.startsWith("/admin")']
EOF
}

start_tunnelgate() {
  mkdir -p tg/state
  cp cert.pem key.pem authorized_keys tg/
  cp tg_host_key tg/host_key
  cat >tg/tunnelgate.toml <<EOF
workers = 2
domain = "$DOMAIN"
state_dir = "state"

[https]
listen = ["127.0.0.1:$TG_HTTPS_PORT"]
cert = "cert.pem"
key = "key.pem"

[ssh]
listen = ["127.0.0.1:$TG_SSH_PORT"]
host_keys = ["host_key"]
authorized_keys = "authorized_keys"
# The scale scenario's publishers, one SSH session per tunnel, all connect from 127.0.0.1 at
# once: the per-source and unauthenticated caps (64 and "64:30:256" by default) are off here.
max_connections_per_source = 0
max_startups = "1000000"

[policy]
file = "policy.toml"

[admin]
listen = "127.0.0.1:$TG_ADMIN_PORT"

# Every visitor of the benchmark comes from 127.0.0.1: the per-source cap (256 per worker by
# default) would refuse most of scenarios 4 and 5, so it is off here, as behind a load balancer.
[limits]
max_tunnels_per_key = 1000000
max_connections_per_tunnel = 1000000
max_connections_per_key = 1000000
max_connections_per_source = 0
EOF
  write_tunnelgate_policy tg/policy.toml
  (cd tg && exec "$TG_BIN" --config "$WORK/tg/tunnelgate.toml" >stdout.log 2>stderr.log) &
  TG_PID=$!; started "$TG_PID"
  wait_for_line tg/stdout.log '"event": ?"ready"' 30 "$TG_PID" "tunnelgate ready" >/dev/null ||
    { show_logs tg/stdout.log tg/stderr.log; die "tunnelgate did not get ready"; }
  RELAY_ROOTS[tunnelgate]=$TG_PID
  PORT[tunnelgate]=$TG_HTTPS_PORT
  say "tunnelgate: https 127.0.0.1:$TG_HTTPS_PORT, ssh 127.0.0.1:$TG_SSH_PORT (pid $TG_PID)"
}

# The stock OpenSSH client publishing the backend through tunnelgate as "notes" (for wrk).
publish_tunnelgate_ssh() {
  [ -z "${CLIENT_PID[tunnelgate]:-}" ] || return 0
  # The publisher keeps its session's stdin open (a FIFO nobody writes) and reads the URL.
  mkfifo tg-ssh.stdin
  exec {TG_SSH_STDIN}<>tg-ssh.stdin
  ssh "${SSH_CLIENT_OPTS[@]}" -E "$WORK/ssh-tunnelgate.log" -T -p "$TG_SSH_PORT" \
    -R "$NAME:80:127.0.0.1:$BACKEND_PORT" x@127.0.0.1 <&"$TG_SSH_STDIN" >ssh-tunnelgate.out 2>&1 &
  local ssh_pid=$!; started "$ssh_pid"
  local url
  url=$(wait_for_line ssh-tunnelgate.out "https://$NAME\\.$DOMAIN:[0-9]+/" 30 "$ssh_pid" "tunnelgate URL") ||
    { show_logs ssh-tunnelgate.out ssh-tunnelgate.log tg/stdout.log tg/stderr.log; die "tunnelgate: no URL"; }
  [ "$url" = "https://$HOSTNAME_PUBLISHED:$TG_HTTPS_PORT/" ] || die "tunnelgate printed $url, expected port $TG_HTTPS_PORT"
  check_published "$TG_HTTPS_PORT" tunnelgate || { show_logs tg/stderr.log; die "tunnelgate: no answer"; }
  CLIENT_PID[tunnelgate]=$ssh_pid
  SSH_CIPHER[tunnelgate]=$(ssh_cipher ssh-tunnelgate.log)
  say "tunnelgate: $url -> ssh -R -> backend (pid $ssh_pid)"
}

# A fresh start of one stack (scenario 5 measures memory growth: what an earlier measurement
# freed but the allocator kept would otherwise be reused for free).
restart_stack() { # STACK
  local -a roots all
  # shellcheck disable=SC2206  # a list of pids
  roots=(${RELAY_ROOTS[$1]})
  mapfile -t all < <(descendants "${roots[@]}")
  disown "${roots[@]}" 2>/dev/null || true  # no "Killed" job notices
  kill -KILL "${all[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    local alive=0 pid
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  CLIENT_PID[$1]=
  if [ "$1" = tunnelgate ]; then
    rm -f tg/stdout.log tg-ssh.stdin ssh-tunnelgate.out
    start_tunnelgate
  else
    start_baseline
  fi
}

# ---------------------------------------------------------------------------------------------
# tunnelgate-load against either stack: its publisher connects to tunnelgate (tcpip-forward
# NAME:80) or to sshd (tcpip-forward 127.0.0.1:FWD_LOAD_PORT, which nginx proxies to), its
# visitors to tunnelgate's or nginx's HTTPS port. Names: load-0 … load-(N-1).
load_args() { # STACK -> the tool's connection arguments for that stack, one per line
  local common=(--key "$WORK/client_key" --sni-domain "$DOMAIN" --ca "$WORK/ca.pem" --json)
  case "$1" in
    tunnelgate)
      printf '%s\n' --ssh "127.0.0.1:$TG_SSH_PORT" --user x --https "127.0.0.1:$TG_HTTPS_PORT" "${common[@]}" ;;
    baseline)
      printf '%s\n' --ssh "127.0.0.1:$SSHD_PORT" --user "$(id -un)" --forward-address 127.0.0.1 \
        --forward-port "$FWD_LOAD_PORT" --https "127.0.0.1:$NGINX_PORT" "${common[@]}" ;;
  esac
}

# Runs the tool against STACK and appends one record to results.jsonl: the tool's JSON
# summary, and the relay processes' CPU seconds over the tool's whole run (publisher set-up
# included: it is a few milliseconds against seconds of load).
measure_load() { # SCENARIO VARIANT STACK ROUND TOOL-ARGS...
  local scenario=$1 variant=$2 stack=$3 round=$4 tag="$1.$2.$3.$4"
  shift 4
  local -a args
  mapfile -t args < <(load_args "$stack")
  # shellcheck disable=SC2086  # RELAY_ROOTS holds a list of pids
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.0"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$LOAD_BIN" "${args[@]}" "$@" >"load.$tag.json" 2>"load.$tag.err" || rc=$?
  t1=$(date +%s.%N)
  # shellcheck disable=SC2086
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.1"
  if [ "$rc" != 0 ] || ! [ -s "load.$tag.json" ]; then
    show_logs "load.$tag.err" "load.$tag.json"
    say "$stack ($scenario $variant round $round): tunnelgate-load failed (exit $rc)"
    python3 -c 'import json, sys; print(json.dumps({"scenario": sys.argv[1], "variant": sys.argv[2],
      "stack": sys.argv[3], "round": int(sys.argv[4]), "failed": "exit " + sys.argv[5]}))' \
      "$scenario" "$variant" "$stack" "$round" "$rc" >>results.jsonl
    return 1
  fi
  python3 - "$scenario" "$variant" "$stack" "$round" "load.$tag.json" \
    "$(cpu_delta "cpu.$tag.0" "cpu.$tag.1")" "$CLK_TCK" "$t0" "$t1" \
    "$(cpu_delta "cpu.$tag.0" "cpu.$tag.1" system)" >>results.jsonl <<'EOF'
import json, sys
scenario, variant, stack, rnd, path, ticks, hz, t0, t1, system_ticks = sys.argv[1:]
load = json.load(open(path))
print(json.dumps({"scenario": scenario, "variant": variant, "stack": stack, "round": int(rnd),
                  "load": load, "relay_cpu_s": int(ticks) / int(hz),
                  "relay_system_cpu_s": int(system_ticks) / int(hz),
                  "wall_s": float(t1) - float(t0)}))
EOF
  say "$stack $scenario/$variant round $round: $(python3 "$HERE/tables.py" brief "load.$tag.json")"
}
