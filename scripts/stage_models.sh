#!/usr/bin/env bash
# Puts the sentence encoders that scripts/fetch_model.py fetched into the page's build
# ($TRUNK_STAGING_DIR/models/<name>/; Trunk runs this as a build hook), so the page's embedding
# worker can download them from the same origin. An encoder not fetched is left out, and the
# page says which command fetches it when it is needed. Hard links where the file system
# allows: all-mpnet-base-v2 alone is 438 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LVM_CACHE:-$HOME/.cache/lvm-playground}"
out="${TRUNK_STAGING_DIR:-dist}/models"
for name in all-MiniLM-L6-v2 all-mpnet-base-v2; do
  [[ -f "$cache/$name/model.safetensors" ]] || continue
  mkdir -p "$out/$name"
  for file in config.json tokenizer.json model.safetensors; do
    ln -f "$cache/$name/$file" "$out/$name/$file" 2>/dev/null || cp "$cache/$name/$file" "$out/$name/$file"
  done
done
