#!/usr/bin/env bash
# Rebuilds docs/results.md: the prose (docs/results.md.head) and the campaign's tables as they
# stand (scripts/campaign_table.py over results/campaign).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  cat docs/results.md.head
  echo
  echo "## The campaign's tables (generated $(date -u +'%Y-%m-%d %H:%M') UTC by \`scripts/results_doc.sh\`)"
  echo
  python3 scripts/campaign_table.py results/campaign
} > docs/results.md
