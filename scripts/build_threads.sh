#!/usr/bin/env bash
# Builds the training worker with wasm threads into $TRUNK_STAGING_DIR/threads (Trunk runs this
# as a build hook; by hand it writes dist/threads). Rust's std for wasm32 is built without
# atomics, so this needs a nightly with rust-src (-Z build-std), pinned here and installed by
# scripts/setup.sh. Everything else is the same as the single-threaded worker Trunk builds:
# same crate, same codegen flags but +atomics, so a run gives the same bits in either.
set -euo pipefail
cd "$(dirname "$0")/.."
NIGHTLY=nightly-2026-10-29
out="${TRUNK_STAGING_DIR:-dist}/threads"
profile="${TRUNK_PROFILE:-release}"
[[ "$profile" == release ]] && release=--release || release=
# Shared memory is a link option of its own since rust-lang/rust#147225 (+atomics no longer
# implies it), with the thread-local-storage exports wasm-bindgen's thread support needs; at
# most 4 GiB, as a single-threaded worker may grow to. -D warnings: clippy does not lint this cfg.
link="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls \
--export=__tls_size --export=__tls_align --export=__tls_base"
# A build with relaxed SIMD (CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS naming +relaxed-simd,
# as for Trunk's own builds; docs/speed.md) gets it here too, in a target folder of its own.
simd=+simd128
dir=target/threads
if [[ "${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-}" == *relaxed-simd* ]]; then
  simd=+simd128,+relaxed-simd
  dir=target/threads-relaxed
fi
RUSTFLAGS="-C target-feature=$simd,+atomics,+bulk-memory,+mutable-globals \
$(printf -- ' -C link-arg=%s' $link) -D warnings" \
  cargo "+$NIGHTLY" build $release --lib --target wasm32-unknown-unknown --features threads \
  -Z build-std=panic_abort,std --target-dir "$dir"
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" \
  "$dir/wasm32-unknown-unknown/$profile/lvm_playground.wasm"
cp www/threads-worker.js "$out/worker.js"
