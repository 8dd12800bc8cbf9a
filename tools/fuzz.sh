#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer, ASan + UBSan) and runs every fuzz target in
# tests/fuzz for SECONDS each, one after another, each on a copy of its seed corpus in a
# temporary folder (the repository's corpus is never written to). Prints one line per target
# and exits non-zero when any target crashed, broke an invariant, leaked, timed out or ran
# out of memory; the input that did it is kept under build/fuzz/artifacts/.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]    e.g. tools/fuzz.sh 600 forward_head chunked
#
# TARGET is a corpus folder name (tests/fuzz/corpus/TARGET); default: all of them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift || true
# (libFuzzer reads -max_total_time=0 as "no limit": 0 is refused here rather than run forever.)
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: tools/fuzz.sh [SECONDS>0] [TARGET...]" >&2; exit 2; }

say() { printf '[fuzz] %s\n' "$*" >&2; }

command -v clang++ >/dev/null || { say "clang++ is missing: run tools/setup.sh"; exit 1; }

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

bin_dir=build/fuzz/tests/fuzz
artifacts=build/fuzz/artifacts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$source" .cc)
    targets+=("${name%_fuzz}")
  done
fi

# Inputs up to 24 KiB reach every size limit of the parsers (16 KiB heads, trailers and
# ClientHellos, plus record headers); libFuzzer grows inputs towards it gradually.
fuzz_flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=24576
            -detect_leaks=1 -print_final_stats=1)
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

failed=()
for target in "${targets[@]}"; do
  binary="$bin_dir/${target}_fuzz"
  [ -x "$binary" ] || { say "no fuzz target $binary"; failed+=("$target (missing)"); continue; }
  corpus="$work/corpus-$target"
  rm -rf "${artifacts:?}/$target"  # only this run's findings are listed below
  mkdir -p "$corpus" "$artifacts/$target"
  if [ -d "tests/fuzz/corpus/$target" ]; then
    cp tests/fuzz/corpus/"$target"/* "$corpus"/
  else
    say "$target: no seeds in tests/fuzz/corpus/$target, starting empty"
  fi
  log="$work/$target.log"
  status=0
  "$binary" "${fuzz_flags[@]}" -artifact_prefix="$artifacts/$target/" "$corpus" >"$log" 2>&1 ||
    status=$?

  # libFuzzer's final stats and its last status line ("#N DONE cov: C ft: F corp: K/…").
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus_size=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  summary="execs=${execs:-?} (${rate:-?}/s) cov=${cov:-?} ft=${features:-?} corpus=${corpus_size:-?}"

  if [ "$status" -eq 0 ]; then
    printf '%-20s ok      %s\n' "$target" "$summary"
    continue
  fi
  reason=$(grep -m1 -oE 'fuzz invariant broken.*|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): [^(]*|runtime error: .*' "$log" ||
           echo "exit status $status")
  printf '%-20s FAILED  %s: %s\n' "$target" "$summary" "$reason"
  say "last lines of the $target log:"
  tail -n 40 "$log" >&2
  for input in "$artifacts/$target"/*; do
    [ -e "$input" ] && say "reproduce: $binary $input"
  done
  failed+=("$target")
done

if [ "${#failed[@]}" -gt 0 ]; then
  say "failed: ${failed[*]}"
  exit 1
fi
say "all ${#targets[@]} targets ran ${seconds}s each without a finding"
