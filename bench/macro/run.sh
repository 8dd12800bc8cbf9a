#!/usr/bin/env bash
# Comparative macro benchmark: tunnelgate against the classic manual setup it replaces.
#
#   bench/macro/run.sh [--json]
#
# Both stacks publish the same local service (a separate nginx instance that answers
# POST /mcp with a fixed JSON-RPC result) at https://notes.tg.test:PORT/mcp, on loopback:
#   (a) tunnelgate: $TG_BIN with workers = 2, published by the stock OpenSSH client with
#       `ssh -T -R notes:80:127.0.0.1:BACKEND`;
#   (b) baseline: OpenSSH's sshd (its own config, host key and authorized_keys) with the same
#       stock client running `ssh -N -R 127.0.0.1:FWD:127.0.0.1:BACKEND`, and nginx
#       (worker_processes 2, like workers = 2) terminating TLS for *.tg.test and proxying to
#       127.0.0.1:FWD with HTTP/1.1 and an upstream keep-alive pool (keepalive 32).
# wrk (-t2 -c16 --latency, keep-alive, the small JSON-RPC body of post.lua) loads each stack in
# turn: ROUNDS rounds of (a) then (b). For each run it records requests/s and p50/p99 latency
# (from wrk's done() hook, exact microseconds) and the CPU time (utime+stime from /proc/PID/stat)
# used over the run by the relay processes (tunnelgate's process tree; for the baseline the
# front nginx's master and workers plus every process of that sshd: listener and the
# per-connection children), by the OpenSSH client, by the backend and by wrk, then divides by
# requests; it also reports the shares of the machine's CPU (/proc/stat) that went to interrupts
# and softirqs (charged to no process) and to other processes (noise on a shared machine: rerun
# when that share is not near 0).
# Prints a table of tunnelgate, baseline and their ratio (or JSON with --json). Figures only,
# no thresholds: this is not a test.
# Parity between the stacks: the same backend, ssh client, keys, certificate and wrk run; both
# log every request (tunnelgate's JSON lines on stdout, to a file; nginx's access log) and both
# negotiate TLS 1.3 with AES-128-GCM (nginx is told to prefer the suite wolfSSL picks); the
# negotiated TLS suite and SSH cipher of each stack are printed with the figures.
#
# Environment:
#   TG_BIN           tunnelgate binary (default: build/release/tunnelgate of this checkout)
#   DURATION=10      seconds per measured run     ROUNDS=2       rounds of (a) then (b)
#   THREADS=2        wrk threads                  CONNECTIONS=16 wrk connections
#   WARMUP=2         seconds of unrecorded load per stack before the first round (0: none)
#   SKIP_TUNNELGATE=1  baseline only (no relay needed)     SKIP_BASELINE=1  tunnelgate only
#   KEEP_TMP=1       keep the temporary directory (configs, logs, raw wrk output)
#
# Name resolution: notes.tg.test resolves nowhere. curl gets --resolve; wrk gets the real URL
# (so its SNI and Host header carry the name, and SNI is what picks the tunnel) and post.lua
# points its TCP connections at WRK_CONNECT_ADDR=127.0.0.1 by overriding wrk.resolve.
# Nothing on the system is changed, except that a missing /run/sshd (the privilege-separation
# directory sshd needs when started as root; normally made by the ssh service) is created.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

JSON=0
for arg in "$@"; do
  case "$arg" in
    --json) JSON=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
WARMUP=${WARMUP:-2}
SKIP_TUNNELGATE=${SKIP_TUNNELGATE:-0}
SKIP_BASELINE=${SKIP_BASELINE:-0}
TG_BIN=${TG_BIN:-$ROOT/build/release/tunnelgate}
DOMAIN=tg.test
NAME=notes
HOSTNAME_PUBLISHED=$NAME.$DOMAIN
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
BACKEND_REPLY='{"jsonrpc":"2.0","id":1,"result":{}}'
CLK_TCK=$(getconf CLK_TCK)

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

for n in DURATION ROUNDS THREADS CONNECTIONS WARMUP; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number (is '${!n}')"
done
{ [ "$DURATION" -ge 1 ] && [ "$ROUNDS" -ge 1 ]; } || die "DURATION and ROUNDS must be at least 1"
[ "$SKIP_TUNNELGATE" = 1 ] && [ "$SKIP_BASELINE" = 1 ] && die "nothing to run: both stacks skipped"

STACKS=()
[ "$SKIP_TUNNELGATE" = 1 ] || STACKS+=(tunnelgate)
[ "$SKIP_BASELINE" = 1 ] || STACKS+=(baseline)

for tool in wrk nginx ssh ssh-keygen openssl curl python3 getconf; do
  command -v "$tool" >/dev/null || die "$tool is not installed (tools/setup.sh installs it)"
done
SSHD=/usr/sbin/sshd
if [ "$SKIP_BASELINE" != 1 ]; then
  [ -x "$SSHD" ] || die "$SSHD is missing (openssh-server; tools/setup.sh installs it)"
fi
if [ "$SKIP_TUNNELGATE" != 1 ]; then
  [ -x "$TG_BIN" ] || die "no tunnelgate binary at $TG_BIN: build it, set TG_BIN, or set SKIP_TUNNELGATE=1"
  TG_BIN=$(cd "$(dirname "$TG_BIN")" && pwd)/$(basename "$TG_BIN")
fi

# ---------------------------------------------------------------------------------------------
# Processes and cleanup: everything started here is recorded by pid and stopped at exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tg-macro-bench.XXXXXX")
STARTED=()      # pids started by this script, in start order
TREE_ROOTS=()   # pids whose descendants (e.g. sshd's per-connection children) are ours too

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
  local rc=$? pid i all=()
  trap - EXIT INT TERM
  if [ "${#TREE_ROOTS[@]}" -gt 0 ]; then
    mapfile -t all < <(descendants "${TREE_ROOTS[@]}")
  fi
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
  if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started() { STARTED+=("$1"); }

wait_for_line() { # FILE EXTENDED-REGEX TIMEOUT_S PID WHAT -> prints the first matching text
  local file=$1 re=$2 timeout=$3 pid=$4 what=$5 deadline=$((SECONDS + $3)) hit
  while :; do
    if [ -f "$file" ] && hit=$(grep -m1 -oE "$re" "$file"); then
      printf '%s\n' "$hit"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || { say "$what: process $pid exited"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { say "$what: nothing after ${timeout}s"; return 1; }
    sleep 0.1
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

# CPU ticks (utime + stime) of each process of the trees under the given pids: "pid ticks".
cpu_snapshot() {
  local pid stat rest
  while read -r pid; do
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || continue
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "$pid $((f[11] + f[12]))"
  done < <(descendants "$@")
}

cpu_delta() { # BEFORE AFTER -> ticks used between the snapshots (new processes count whole)
  awk 'NR == FNR { before[$1] = $2; next } { sum += $2 - (($1 in before) ? before[$1] : 0) }
       END { print sum + 0 }' "$1" "$2"
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

# How busy the machine is before we start (others' builds and tests share these cores).
read -r p0 i0 s0 t0 <<<"$(machine_ticks)"; sleep 1; read -r p1 i1 s1 t1 <<<"$(machine_ticks)"
BUSY_BEFORE=$(( (p1 - p0 + i1 - i0 + s1 - s0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
if [ "$BUSY_BEFORE" -gt 20 ]; then
  say "warning: the machine is ${BUSY_BEFORE}% busy before the run (other processes share its $(nproc) cores): figures will be low and noisy"
fi

# ---------------------------------------------------------------------------------------------
# Credentials: a test CA, a wildcard certificate for *.tg.test (EC P-256), ssh keys.
cd "$WORK"
say "working in $WORK"
cat >leaf.ext <<EOF
subjectAltName = DNS:*.$DOMAIN, DNS:$DOMAIN
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${EC[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=tunnelgate bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new "${EC[@]}" -keyout key.pem -out leaf.csr -subj "/CN=*.$DOMAIN" 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 \
  -extfile leaf.ext 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -C 'bench publisher' -f client_key
ssh-keygen -q -t ed25519 -N '' -C 'tunnelgate host' -f tg_host_key
ssh-keygen -q -t ed25519 -N '' -C 'sshd host' -f sshd_host_key
cp client_key.pub authorized_keys

read -r BACKEND_PORT TG_HTTPS_PORT TG_SSH_PORT NGINX_PORT SSHD_PORT FWD_PORT <<<"$(free_ports 6)"

SSH_CLIENT_OPTS=(-F /dev/null -i "$WORK/client_key" -o IdentitiesOnly=yes
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
  -o ExitOnForwardFailure=yes -o ServerAliveInterval=0 -v)

nginx_common() { # DIR : the lines both nginx instances share (paths inside the temp dir)
  mkdir -p "$1/tmp"
  cat <<EOF
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
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
# The publisher's local service, shared by both stacks: nginx answering POST /mcp.
mkdir -p backend
{
  echo "worker_processes 1;"
  nginx_common "$WORK/backend"
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
nginx -t -q -c "$WORK/backend/nginx.conf" -p "$WORK/backend" -e "$WORK/backend/error.log" 2>backend/test.log ||
  { show_logs backend/test.log; die "backend nginx config rejected"; }
nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" -e "$WORK/backend/error.log" -g 'daemon off;' \
  >backend/stdout.log 2>&1 &
BACKEND_PID=$!; started "$BACKEND_PID"
for _ in $(seq 100); do
  reply=$(curl -s -m 2 -X POST -H 'Content-Type: application/json' -d "$BODY" \
    "http://127.0.0.1:$BACKEND_PORT/mcp" 2>/dev/null) && break
  sleep 0.1
done
[ "${reply:-}" = "$BACKEND_REPLY" ] || { show_logs backend/error.log; die "backend answered '${reply:-}'"; }
say "backend nginx on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"

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
declare -A TLS_INFO=() SSH_CIPHER=() RELAY_ROOTS=() CLIENT_PID=() PORT=()

ssh_cipher() { # LOGFILE -> the cipher the OpenSSH client negotiated
  grep -m1 -oE 'kex: server->client cipher: [^ ]+' "$1" | sed 's/.*cipher: //' || true
}

# ---------------------------------------------------------------------------------------------
# (b) the baseline: sshd + ssh -N -R + nginx terminating TLS.
start_baseline() {
  mkdir -p sshd front
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    say "creating /run/sshd (sshd's privilege-separation directory, normally made by its service)"
    mkdir -m 0755 /run/sshd
  fi
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
LogLevel ERROR
EOF
  "$SSHD" -t -f sshd/sshd_config 2>sshd/test.log || { show_logs sshd/test.log; die "sshd config rejected"; }
  "$SSHD" -D -e -f "$WORK/sshd/sshd_config" >sshd/stdout.log 2>sshd/stderr.log &
  SSHD_PID=$!; started "$SSHD_PID"; TREE_ROOTS+=("$SSHD_PID")

  {
    echo "worker_processes 2;"
    nginx_common "$WORK/front"
    echo "http {"
    nginx_http_common "$WORK/front"
    cat <<EOF
  upstream tunnel {
    server 127.0.0.1:$FWD_PORT;
    keepalive 32;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    server_name *.$DOMAIN;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    # The TLS 1.3 suite tunnelgate (wolfSSL) picks, so that both stacks run the same cipher
    # (left alone, nginx follows wrk's preference for AES-256-GCM).
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_prefer_server_ciphers on;
    # tunnelgate writes a JSON line per request; nginx's default access log is the equivalent.
    access_log $WORK/front/access.log;
    location / {
      proxy_pass http://tunnel;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # What tunnelgate does too: the local service sees itself addressed as localhost.
      proxy_set_header Host localhost:$BACKEND_PORT;
      # An MCP relay must stream (SSE), so no response buffering, as in tunnelgate.
      proxy_buffering off;
    }
  }
}
EOF
  } >front/nginx.conf
  nginx -t -q -c "$WORK/front/nginx.conf" -p "$WORK/front" -e "$WORK/front/error.log" 2>front/test.log ||
    { show_logs front/test.log; die "front nginx config rejected"; }
  nginx -c "$WORK/front/nginx.conf" -p "$WORK/front" -e "$WORK/front/error.log" -g 'daemon off;' \
    >front/stdout.log 2>&1 &
  FRONT_PID=$!; started "$FRONT_PID"

  local up=0
  for _ in $(seq 100); do
    kill -0 "$SSHD_PID" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  [ "$up" = 1 ] || { show_logs sshd/stderr.log; die "sshd did not start listening"; }
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
  RELAY_ROOTS[baseline]="$FRONT_PID $SSHD_PID"
  CLIENT_PID[baseline]=$ssh_pid
  PORT[baseline]=$NGINX_PORT
  SSH_CIPHER[baseline]=$(ssh_cipher ssh-baseline.log)
  say "baseline: nginx 127.0.0.1:$NGINX_PORT (pid $FRONT_PID) -> ssh -R 127.0.0.1:$FWD_PORT -> sshd (pid $SSHD_PID) -> backend"
}

# ---------------------------------------------------------------------------------------------
# (a) tunnelgate + ssh -T -R notes:80:...
start_tunnelgate() {
  mkdir -p tg/state
  cp cert.pem key.pem tg_host_key authorized_keys tg/
  mv tg/tg_host_key tg/host_key
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

[policy]
file = "policy.toml"
EOF
  # One expose rule and one access rule, so every request pays a real policy decision.
  cat >tg/policy.toml <<'EOF'
[[expose]]
names = ["notes"]

[[access]]
names = ["notes"]
allow = ['http.method == "POST" || http.method == "GET"']
deny = ['http.path.startsWith("/admin")']
EOF
  (cd tg && exec "$TG_BIN" --config "$WORK/tg/tunnelgate.toml" >stdout.log 2>stderr.log) &
  TG_PID=$!; started "$TG_PID"
  wait_for_line tg/stdout.log '"event": ?"ready"' 30 "$TG_PID" "tunnelgate ready" >/dev/null ||
    { show_logs tg/stdout.log tg/stderr.log; die "tunnelgate did not get ready"; }

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
  RELAY_ROOTS[tunnelgate]=$TG_PID
  CLIENT_PID[tunnelgate]=$ssh_pid
  PORT[tunnelgate]=$TG_HTTPS_PORT
  SSH_CIPHER[tunnelgate]=$(ssh_cipher ssh-tunnelgate.log)
  say "tunnelgate: $url (pid $TG_PID) -> ssh -R -> backend"
}

# ---------------------------------------------------------------------------------------------
run_wrk() { # STACK SECONDS OUTFILE
  WRK_CONNECT_ADDR=127.0.0.1 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" --latency \
    -s "$HERE/post.lua" "https://$HOSTNAME_PUBLISHED:${PORT[$1]}/mcp" >"$3" 2>&1 ||
    { show_logs "$3"; die "$1: wrk failed"; }
}

measure() { # STACK ROUND
  local stack=$1 round=$2 tag="$1.$2"
  # shellcheck disable=SC2086  # RELAY_ROOTS holds a list of pids
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.relay.0"
  cpu_snapshot "${CLIENT_PID[$stack]}" >"cpu.$tag.client.0"
  cpu_snapshot "$BACKEND_PID" >"cpu.$tag.backend.0"
  local m0 m1 w0 w1
  # `times` runs in this shell (not a subshell) so it sees the children it reaped: wrk's CPU
  # is the difference of its children's line around the run.
  m0=$(machine_ticks); times >"times.$tag.0"
  run_wrk "$stack" "$DURATION" "wrk.$tag.txt"
  times >"times.$tag.1"; m1=$(machine_ticks)
  w0=$(children_ticks "times.$tag.0"); w1=$(children_ticks "times.$tag.1")
  # shellcheck disable=SC2086
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.relay.1"
  cpu_snapshot "${CLIENT_PID[$stack]}" >"cpu.$tag.client.1"
  cpu_snapshot "$BACKEND_PID" >"cpu.$tag.backend.1"
  local result
  result=$(grep -m1 '^WRK_RESULT ' "wrk.$tag.txt" | cut -d' ' -f2-) ||
    { show_logs "wrk.$tag.txt"; die "$stack: no WRK_RESULT line from wrk"; }
  local -a ma mb
  read -r -a ma <<<"$m0"; read -r -a mb <<<"$m1"
  printf '{"stack":"%s","round":%d,"wrk":%s,"relay_ticks":%d,"client_ticks":%d,"backend_ticks":%d,"wrk_ticks":%d,"machine_process_ticks":%d,"machine_irq_ticks":%d,"machine_steal_ticks":%d,"machine_total_ticks":%d,"relay_pids":%d}\n' \
    "$stack" "$round" "$result" \
    "$(cpu_delta "cpu.$tag.relay.0" "cpu.$tag.relay.1")" \
    "$(cpu_delta "cpu.$tag.client.0" "cpu.$tag.client.1")" \
    "$(cpu_delta "cpu.$tag.backend.0" "cpu.$tag.backend.1")" \
    "$((w1 - w0))" "$((mb[0] - ma[0]))" "$((mb[1] - ma[1]))" "$((mb[2] - ma[2]))" "$((mb[3] - ma[3]))" \
    "$(wc -l <"cpu.$tag.relay.1")" >>results.jsonl
  say "$stack round $round: $(python3 -c 'import json, sys; r = json.loads(sys.argv[1])
errors = {k: v for k, v in r["errors"].items() if v}
print("%.0f req/s, p50 %d us, p99 %d us%s" % (r["requests"] * 1e6 / r["duration_us"], r["p50_us"],
      r["p99_us"], ", ERRORS %s" % errors if errors else ""))' "$result")"
  case "$result" in
    *'"requests":0,'*) show_logs "wrk.$tag.txt"; die "$stack: no request completed" ;;
  esac
}

for stack in "${STACKS[@]}"; do "start_$stack"; done
for stack in "${STACKS[@]}"; do
  if [ "$WARMUP" -gt 0 ]; then
    say "$stack: ${WARMUP}s warm-up"
    run_wrk "$stack" "$WARMUP" "wrk.$stack.warmup.txt"
  fi
done
for ((round = 1; round <= ROUNDS; round++)); do
  for stack in "${STACKS[@]}"; do measure "$stack" "$round"; done
done

meta=(
  "duration_s=$DURATION" "rounds=$ROUNDS" "threads=$THREADS" "connections=$CONNECTIONS"
  "clk_tck=$CLK_TCK" "body_bytes=${#BODY}" "cores=$(nproc)" "busy_before_pct=$BUSY_BEFORE"
  "wrk=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)" "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
  "openssh=$(ssh -V 2>&1 | cut -d, -f1)"
)
for stack in "${STACKS[@]}"; do
  meta+=("tls.$stack=${TLS_INFO[$stack]:-?}" "ssh_cipher.$stack=${SSH_CIPHER[$stack]:-?}")
done
[ "$SKIP_TUNNELGATE" = 1 ] || meta+=("tunnelgate_bin=$TG_BIN")
args=()
[ "$JSON" = 1 ] && args+=(--json)
python3 "$HERE/summarize.py" "${args[@]}" results.jsonl "${meta[@]}"
