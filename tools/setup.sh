#!/usr/bin/env bash
# Installs everything tunnelgate needs on Debian 12, idempotently:
#   - the build toolchain and libraries from Debian's archive;
#   - the real peers the tests drive (OpenSSH client and server, curl, nginx, wrk, ssh-audit,
#     etcd for the cluster tests);
#   - clang with its libFuzzer and sanitizer runtimes, for the fuzz targets (tools/fuzz.sh);
#   - wolfSSL, built from Debian's own source package of the release's libwolfssl with
#     the x86-64 assembly enabled (Debian's prebuilt library runs AES-GCM about 30x slower),
#     installed into $TUNNELGATE_DEPS (default /opt/tunnelgate-deps) where CMake finds it.
# A second run checks and returns in seconds.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
DEPS_PREFIX="${TUNNELGATE_DEPS:-/opt/tunnelgate-deps}"
WOLFSSL_FLAGS=(
  --enable-tls13 --enable-sni --enable-alpn --enable-session-ticket
  --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm
  --enable-curve25519 --enable-ed25519 --enable-ecc --enable-aesgcm
  --enable-chacha --enable-poly1305 --enable-certgen --enable-keygen
  --enable-certext --enable-secure-renegotiation-info --disable-oldtls
  --enable-static --disable-shared --disable-examples --disable-crypttests
  # Leaf certificates with subjectAltName for --dev, and PEM output for its files;
  # KEEP_PEER_CERT keeps a visitor's verified client certificate (mTLS) readable after the
  # handshake, for its fingerprint, subject and SANs (without the OpenSSL compatibility layer).
  "CPPFLAGS=-DWOLFSSL_ALT_NAMES -DWOLFSSL_DER_TO_PEM -DKEEP_PEER_CERT"
)
# The flags are part of the install's identity: change them and the library is rebuilt.
FLAGS_ID=$(printf '%s ' "${WOLFSSL_FLAGS[@]}" | sha256sum | cut -c1-12)
WOLFSSL_PREFIX="$DEPS_PREFIX/wolfssl-$FLAGS_ID"
# `tools/setup.sh --wolfssl-prefix` prints that folder and changes nothing: CMake builds against
# the wolfSSL this tree's flags describe, even when a checkout with other flags on the same
# machine has pointed the $DEPS_PREFIX/wolfssl link at its own build.
if [ "${1:-}" = "--wolfssl-prefix" ]; then
  echo "$WOLFSSL_PREFIX"
  exit 0
fi

say() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  autoconf automake libtool dpkg-dev
  liburing-dev libssh-dev libsimdjson-dev libmimalloc-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  openssh-client openssh-server curl openssl nginx-light wrk
  ssh-audit  # audits the relay's SSH algorithms (tests/integration/test_ssh_audit.py)
  nodejs npm clang-format clang-tidy python3
  chromium   # renders the admin status page in the screenshot test
  testssl.sh # scans the relay's TLS and security headers (tests/integration/test_testssl.py)
  # The cluster's coordination engine (etcd v3); the tests start their own members from it and
  # use etcdctl to look at what the relay wrote. The Debian unit is disabled below.
  etcd-server etcd-client
  # Debian 12's clang is clang 14; libFuzzer and the ASan/UBSan runtimes are a separate package.
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with the nodejs package of some other repositories: only ask for it where absent.
if command -v npm >/dev/null 2>&1; then
  filtered=(); for p in "${missing[@]}"; do [ "$p" = npm ] || [ "$p" = nodejs ] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing: ${missing[*]}"
  as_root apt-get update -qq
  # Installing nginx and sshd must not leave services running on the machine's ports.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for svc in nginx ssh etcd; do
    as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    as_root service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if [ -f "$WOLFSSL_PREFIX/lib/libwolfssl.a" ] && [ -f "$WOLFSSL_PREFIX/.complete" ]; then
  say "wolfSSL ready in $WOLFSSL_PREFIX"
else
  say "building wolfSSL from Debian's source package into $WOLFSSL_PREFIX"
  # A deb-src entry derived from the machine's own apt sources (same mirrors and suites).
  if ! apt-get source --print-uris wolfssl 2>/dev/null | grep -q '\.dsc'; then
    # A deb-src entry derived from the machine's own Debian apt sources (same mirrors, suites).
    src_list=/etc/apt/sources.list.d/tunnelgate-deb-src.sources
    tmp=$(mktemp)
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && [ "$f" != "$src_list" ] || continue
      grep -q 'debian-archive-keyring' "$f" || continue
      sed -e 's/^Types:.*/Types: deb-src/' "$f" >>"$tmp"; echo >>"$tmp"
    done
    if [ -f /etc/apt/sources.list ]; then
      grep -E '^deb ' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' >>"${tmp}.list" || true
      [ -s "${tmp}.list" ] && as_root cp "${tmp}.list" /etc/apt/sources.list.d/tunnelgate-deb-src.list
    fi
    [ -s "$tmp" ] && as_root cp "$tmp" "$src_list"
    rm -f "$tmp" "${tmp}.list"
    as_root apt-get update -qq
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The newest source version can be missing from a mirror while its binaries are there;
  # fall back through the versions apt knows, newest first.
  fetched=0
  for version in "" $(apt-cache showsrc wolfssl 2>/dev/null | sed -n 's/^Version: //p' | sort -rV); do
    rm -rf "${work:?}"/*
    if (cd "$work" && apt-get source -qq --download-only "wolfssl${version:+=$version}" >/dev/null 2>&1); then
      fetched=1; break
    fi
  done
  [ "$fetched" = 1 ] || { say "cannot download wolfSSL's source package"; exit 1; }
  (cd "$work" && dpkg-source -x --no-check ./*.dsc src >/dev/null)
  cd "$work/src"
  [ -x ./configure ] || ./autogen.sh >/dev/null 2>&1 || autoreconf -fi >/dev/null
  ./configure --prefix="$WOLFSSL_PREFIX" "${WOLFSSL_FLAGS[@]}" CFLAGS="-O2 -fPIC" >configure.log 2>&1 ||
    { tail -30 configure.log; exit 1; }
  make -j"$(nproc)" >make.log 2>&1 || { tail -30 make.log; exit 1; }
  as_root make install >/dev/null
  as_root touch "$WOLFSSL_PREFIX/.complete"
  cd /
  say "wolfSSL installed"
fi
as_root ln -sfn "$WOLFSSL_PREFIX" "$DEPS_PREFIX/wolfssl"

# promtool, which checks the /metrics exposition in the admin test. It ships inside Debian's
# prometheus package; only the one binary is taken (unpacked, not installed), so no
# Prometheus service or user lands on the machine.
PROMTOOL_DIR="$DEPS_PREFIX/promtool"
if [ ! -x "$PROMTOOL_DIR/usr/bin/promtool" ]; then
  say "unpacking promtool from Debian's prometheus package into $PROMTOOL_DIR"
  pkg_dir=$(mktemp -d)
  chmod 755 "$pkg_dir"
  (cd "$pkg_dir" && apt-get download -qq prometheus >/dev/null 2>&1) ||
    { as_root apt-get update -qq && (cd "$pkg_dir" && apt-get download -qq prometheus >/dev/null); }
  as_root mkdir -p "$PROMTOOL_DIR"
  as_root dpkg-deb -x "$pkg_dir"/prometheus_*.deb "$pkg_dir/unpacked"
  as_root install -D -m 755 "$pkg_dir/unpacked/usr/bin/promtool" "$PROMTOOL_DIR/usr/bin/promtool"
  rm -rf "$pkg_dir"
fi

# The official MCP SDK for the MCP smoke test, pinned by tests/mcp/package-lock.json.

if [ -f "$HERE/tests/mcp/package-lock.json" ] && [ ! -d "$HERE/tests/mcp/node_modules/@modelcontextprotocol" ]; then
  say "installing the MCP SDK for the smoke test"
  (cd "$HERE/tests/mcp" && npm ci --no-audit --no-fund --silent)
fi

# A real web framework (Hono on Node) as the published service of the path tests
# (tests/integration/test_paths.py), pinned by tests/hono/package-lock.json.
if [ -f "$HERE/tests/hono/package-lock.json" ] && [ ! -d "$HERE/tests/hono/node_modules/hono" ]; then
  say "installing Hono for the path tests"
  (cd "$HERE/tests/hono" && npm ci --no-audit --no-fund --silent)
fi
# The SDK v2 packages (revision 2026-07-28) and the 1.32 client for the MCP tasks test,
# pinned by tests/mcp_tasks/package-lock.json.
if [ -f "$HERE/tests/mcp_tasks/package-lock.json" ] &&
   [ ! -d "$HERE/tests/mcp_tasks/node_modules/@modelcontextprotocol/server" ]; then
  say "installing the MCP SDK v2 for the tasks test"
  (cd "$HERE/tests/mcp_tasks" && npm ci --no-audit --no-fund --silent)
fi
# puppeteer-core, which drives Debian's Chromium (installed above, never downloaded) in the
# sign-in browser test, pinned by tests/browser/package-lock.json.
if [ -f "$HERE/tests/browser/package-lock.json" ] &&
   [ ! -d "$HERE/tests/browser/node_modules/puppeteer-core" ]; then
  say "installing puppeteer-core for the browser sign-in test"
  (cd "$HERE/tests/browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
# A real OpenID Provider (oidc-provider) for the sign-in tests, pinned by
# tests/oidc/package-lock.json.
if [ -f "$HERE/tests/oidc/package-lock.json" ] && [ ! -d "$HERE/tests/oidc/node_modules/oidc-provider" ]; then
  say "installing oidc-provider for the sign-in tests"
  (cd "$HERE/tests/oidc" && npm ci --no-audit --no-fund --silent)
fi
say "done"
