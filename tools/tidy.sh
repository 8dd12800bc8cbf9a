#!/usr/bin/env bash
# clang-tidy (the repository's .clang-tidy) over the C++ sources this branch changes against
# its merge base with main (committed or not); on main itself, over what changed since the
# newest `tidy/*` tag (a commit whose whole tree was checked); over every source when there is
# no such base. A finding fails the run. Headers are checked through the
# sources that include them (HeaderFilterRegex); a changed header brings its own .cc along.
#   tools/tidy.sh            # changed files
#   tools/tidy.sh --all      # every source: several minutes on two cores
# TG_TIDY_BASE=REF picks another base branch; TG_TIDY_JOBS=N runs N clang-tidy at once (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
# compile_commands.json comes from CMake (CMAKE_EXPORT_COMPILE_COMMANDS in CMakeLists.txt).
[ -f "$build/compile_commands.json" ] || cmake --preset release >/dev/null
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
[ -n "$tidy" ] || { echo "tidy: clang-tidy is not installed (tools/setup.sh installs it)" >&2; exit 1; }

# Sources CMake compiles, relative to the repository.
mapfile -t compiled < <(sed -n 's|^ *"file": "\(.*\)",\?$|\1|p' "$build/compile_commands.json" |
  sed "s|^$PWD/||" | sort -u)

base=""
if [ "${1:-}" != "--all" ]; then
  ref="${TG_TIDY_BASE:-main}"
  base=$(git merge-base HEAD "$ref" 2>/dev/null || git merge-base HEAD "origin/$ref" 2>/dev/null || true)
  # On main itself (CI checking a landing) nothing differs from main: check what changed since
  # the newest commit whose whole tree was found clean, which a `tidy/*` tag marks (tag it after
  # a clean `tools/tidy.sh --all`; see the README's Tests section).
  if [ -n "$base" ] && [ "$base" = "$(git rev-parse HEAD)" ] && git diff --quiet HEAD; then
    checked=$(git describe --tags --match 'tidy/*' --abbrev=0 HEAD 2>/dev/null || true)
    [ -n "$checked" ] && base=$(git rev-parse "$checked^{commit}")
  fi
fi
if [ -z "$base" ]; then
  files=("${compiled[@]}")
  echo "tidy: every source (${#files[@]} files)"
else
  mapfile -t changed < <({ git diff --name-only --diff-filter=d "$base" -- '*.cc' '*.h';
                           git ls-files --others --exclude-standard -- '*.cc' '*.h'; } | sort -u)
  wanted=()
  for f in "${changed[@]+"${changed[@]}"}"; do
    case "$f" in *.h) wanted+=("${f%.h}.cc") ;; *) wanted+=("$f") ;; esac
  done
  files=()
  for f in "${compiled[@]}"; do
    for w in "${wanted[@]+"${wanted[@]}"}"; do [ "$f" = "$w" ] && { files+=("$f"); break; }; done
  done
  echo "tidy: ${#files[@]} changed sources since $(git rev-parse --short "$base")"
fi
[ "${#files[@]}" -gt 0 ] || exit 0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
printf '%s\n' "${files[@]}" |
  xargs -P "${TG_TIDY_JOBS:-2}" -n 4 "$tidy" -p "$build" --quiet >"$log" 2>&1 || status=$?
# clang-tidy prints "N warnings generated" noise on stderr; keep the findings.
grep -v '^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$\|^Suppressed [0-9]* warnings\|^Use -header-filter\|^Error while processing' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "tidy: findings above (fix them, or tune .clang-tidy with a comment saying why)" >&2
  exit 1
fi
echo "tidy: clean"
