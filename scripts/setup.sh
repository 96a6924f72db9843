#!/usr/bin/env bash
# Installs what building, serving and testing the playground need on a fresh machine; each
# step is skipped when already done. `--serve` installs only what `./serve.sh` needs.
#   Rust: the wasm32 target, rustfmt and clippy; the pinned nightly with rust-src that
#     scripts/build_threads.sh builds the threaded worker with (-Z build-std)
#   wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen version (no --locked: a locked
#     dependency of the CLI is missing from the registry; see shared/TOOLCHAIN.md)
#   Trunk 0.21.14 (0.22 needs a newer rustc)
#   for tests: Debian chromium + chromium-driver, Node.js, and npm's playwright-core; cargo-fuzz
#     for scripts/fuzz.sh; slurm-wlm and munge for the job-array test
set -euo pipefail
cd "$(dirname "$0")/.."
serve_only=false
[[ "${1:-}" == "--serve" ]] && serve_only=true

rustup target add wasm32-unknown-unknown
nightly=$(awk -F= '/^NIGHTLY=/ { print $2 }' scripts/build_threads.sh)
rustup toolchain install "$nightly" --profile minimal --component rust-src
$serve_only || rustup component add rustfmt clippy

wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qF "$wb_version"; then
  cargo install wasm-bindgen-cli --version "$wb_version"
fi
if ! trunk --version 2>/dev/null | grep -qF "0.21.14"; then
  # Trunk's own release profile is fat LTO in one codegen unit, a long single-threaded link
  # on a 2-core machine; a tool that mostly waits on cargo does not need it.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install trunk --version 0.21.14 --locked
fi
$serve_only && exit 0

if ! cargo fuzz --version 2>/dev/null | grep -qF "0.13.2"; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

apt_packages=()
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v chromedriver >/dev/null || apt_packages+=(chromium-driver)
command -v npm >/dev/null || apt_packages+=(nodejs npm)
# A one-node Slurm for tests/slurm/array.sh (scripts/slurm-local.sh starts it).
command -v slurmctld >/dev/null || apt_packages+=(slurm-wlm munge)
if ((${#apt_packages[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
