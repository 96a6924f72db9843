#!/usr/bin/env bash
# Every check the project has, in the order a failure is cheapest to find:
# formatting, lints (native and wasm32), native tests, then the core on wasm32 in headless
# Chromium. Needs what `.ci/run` installs (wasm32 target, chromium + chromedriver,
# wasm-bindgen-cli at Cargo.lock's wasm-bindgen version).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, all targets)"
cargo clippy --all-targets -- -D warnings

step "cargo clippy (wasm32 library and tests)"
cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings

step "native tests"
cargo test

step "wasm32 tests in headless Chromium"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  cargo test --release --target wasm32-unknown-unknown --test web
