#!/usr/bin/env bash
# The README's serve command: installs Trunk and wasm-bindgen if missing, then builds and
# serves the playground on http://127.0.0.1:8080 (rebuilding on changes).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --serve
exec trunk serve --release "$@"
