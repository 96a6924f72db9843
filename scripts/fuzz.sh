#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes (fuzz/fuzz_targets/, cargo-fuzz + libFuzzer) for
# SECONDS each (default 20), or for FUZZ_RUNS executions each when that is set (the README's
# long runs: FUZZ_RUNS=1000000), starting from the committed seeds (fuzz/seeds/<target>/: real files made by this
# project, a cut shipped manifest, the e2e tests' links) plus the shipped datasets' small
# files. A crash, panic, timeout (10 s) or allocation over 256 MiB fails it; the input is
# saved under fuzz/artifacts/<target>/. Needs the pinned nightly (scripts/build_threads.sh's)
# and cargo-fuzz, which scripts/setup.sh installs. FUZZ_SANITIZER=none builds without
# AddressSanitizer (check.sh's short runs, for a shorter build; panics, timeouts and the
# memory limits are caught either way, and the code under test is safe Rust).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy checkpoint train_state manifest texts run_config page_state worker_message own_files)
nightly=$(awk -F= '/^NIGHTLY=/ { print $2 }' scripts/build_threads.sh)
cd fuzz
# AddressSanitizer keeps 256 MiB of freed memory in quarantine by default, which alone would
# break the 256 MiB limit over a long run; a smaller quarantine still catches recent misuse.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"
sanitizer="${FUZZ_SANITIZER:-address}"
cargo "+$nightly" fuzz build -O -s "$sanitizer"
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cp -n seeds/"$t"/* "corpus/$t/"
  case "$t" in
    manifest) cp -n ../datasets/brown-29k/manifest.json "corpus/$t/brown-29k.json" ;;
  esac
  if [[ -n "${FUZZ_RUNS:-}" ]]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
  started=$SECONDS
  out=$(cargo "+$nightly" fuzz run -O -s "$sanitizer" "$t" "corpus/$t" -- "${limit[@]}" \
    -rss_limit_mb=256 -malloc_limit_mb=256 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" 2>&1) || { echo "$out" | tail -40; echo "fuzz target $t failed"; exit 1; }
  runs=$(echo "$out" | awk '/stat::number_of_executed_units/ { print $2 }')
  rss=$(echo "$out" | awk '/stat::peak_rss_mb/ { print $2 }')
  echo "fuzz $t: $runs executions in $((SECONDS - started)) s, no crash, no panic, no timeout; peak RSS $rss MiB (limit 256)"
done
