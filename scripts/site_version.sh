#!/usr/bin/env bash
# Trunk's post_build hook (Trunk.toml): stamps the service worker in the staged site with this
# build's version and its app files, so that a new deploy is a new worker (the browser
# compares its bytes), which replaces the previous build's cached files (www/sw.js).
#   version: the SHA-256 of every app file's path and contents, 16 hex digits
#   app files: what a visit with no network needs to open and train (HTML, JS, wasm, CSS,
#     manifest, icon), not the encoder worker (useless without its 91-438 MB of weights, kept
#     by the page when used), the datasets or the encoders
set -euo pipefail
site="${TRUNK_STAGING_DIR:-${1:-dist}}"
cd "$site"
[[ -f sw.js ]] || { echo "site_version.sh: no sw.js in $site" >&2; exit 1; }
mapfile -t files < <(find . -type f \
  ! -path './datasets/*' ! -path './models/*' ! -name sw.js ! -name _headers ! -name '*.md' ! -name '*.d.ts' \
  | sed 's|^\./||' | LC_ALL=C sort)
version=$(for f in "${files[@]}"; do printf '%s\n' "$f"; sha256sum <"$f"; done | sha256sum | cut -c1-16)
shell='""'
for f in "${files[@]}"; do
  case "$f" in encoder*|index.html) continue ;; esac
  shell+=", \"$f\""
done
sed -i -e "s|__LVM_BUILD__|$version|" -e "s|/\* __LVM_SHELL__ \*/|$shell|" sw.js
grep -q "\"$version\"" sw.js || { echo "site_version.sh: sw.js was not stamped" >&2; exit 1; }
echo "site_version.sh: build $version, ${#files[@]} app files"
