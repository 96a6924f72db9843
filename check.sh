#!/usr/bin/env bash
# Every check the project has, in the order a failure is cheapest to find:
# formatting, lints (native and wasm32), native tests, a sweep as a job array on a real
# one-node Slurm, the core on wasm32 in headless
# Chromium, then the page built by Trunk and driven end to end in headless Chromium, then
# every fuzz target for 20 s (a new parser panic fails the check; the long runs are the
# README's, not here).
# Needs what `scripts/setup.sh` installs.
set -euo pipefail
cd "$(dirname "$0")"

# Each step's heading says how long the checks have run (CI's budget is watched by step).
step() { printf '\n== [%d s] %s\n' "$SECONDS" "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, all targets)"
cargo clippy --all-targets -- -D warnings

step "cargo clippy (wasm32 library, page, worker and tests)"
cargo clippy --target wasm32-unknown-unknown --lib --bins --tests -- -D warnings

step "cargo clippy (wasm32 page, as Trunk builds it: without the workers' code)"
cargo clippy --target wasm32-unknown-unknown --no-default-features --lib --bin playground -- -D warnings

step "native tests"
cargo test

step "the Slurm job-array path on a one-node Slurm (tests/slurm/array.sh; scripts/slurm-local.sh starts and stops it)"
bash tests/slurm/array.sh

step "wasm32 tests in headless Chromium"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  cargo test --release --target wasm32-unknown-unknown --test web

step "trunk build --release (page, training and encoder workers into dist/; its hooks build the threaded worker into dist/threads/ and stage the fetched encoders in dist/models/)"
trunk build --release

step "the library for plain JS pages (pkg/, what wasm-pack builds)"
cargo build --release --lib --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir pkg target/wasm32-unknown-unknown/release/lvm_playground.wasm

step "end-to-end tests of the page in headless Chromium"
npm run e2e

step "fuzz every parser for 20 s (scripts/fuzz.sh, without AddressSanitizer)"
FUZZ_SANITIZER=none bash scripts/fuzz.sh 20

printf '\n== every check passed in %d s\n' "$SECONDS"
