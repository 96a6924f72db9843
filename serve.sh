#!/usr/bin/env bash
# The README's serve command: installs Trunk and wasm-bindgen if missing, fetches the
# sentence encoder the page embeds text with, then builds and
# serves the playground on http://127.0.0.1:8080 (rebuilding on changes).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --serve
# The encoder "Embed a text" uses (91 MB, once); the build serves it from there.
python3 scripts/fetch_model.py --model all-MiniLM-L6-v2 >/dev/null
exec trunk serve --release "$@"
