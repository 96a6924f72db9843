#!/usr/bin/env bash
# The cluster path, run for real on a one-node Slurm (scripts/slurm-local.sh):
# 1. a 4-task array of tiny trainings from `lvm experiment --list`, submitted with the real
#    `sbatch` as docs/cluster.md says (scripts/sweep.sbatch), gathered by a dependent job
#    (scripts/gather.sbatch, --dependency=afterok); its ranking must equal, figure for figure,
#    what `lvm experiment --url` prints for the same link, and each task's run log the same
#    bits as that training's (timings aside);
# 2. one task cancelled with `scancel` after its first epoch and resubmitted resumes from its
#    saved state to the same bits as a training never interrupted.
# Cleans up its files and stops the cluster it started. Needs root (CI is).
#   LVM: the binary (default target/debug/lvm, which `cargo test` has built)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export LVM=${LVM:-$root/target/debug/lvm}
[ -x "$LVM" ] || { echo "no $LVM: cargo build --bin lvm first" >&2; exit 1; }
work=$(mktemp -d /tmp/lvm-slurm-test.XXXXXX)
started_here=false
cleanup() {
  cd "$root"
  scancel --name=lvm-sweep,lvm-gather 2>/dev/null || true
  rm -rf "$work"
  if $started_here; then bash "$root/scripts/slurm-local.sh" stop || true; fi
}
trap cleanup EXIT

if ! timeout 5 sinfo -h >/dev/null 2>&1; then
  bash "$root/scripts/slurm-local.sh" start
  started_here=true
fi

# Jobs run in the submit directory, as on a cluster: the binary and the datasets are
# reachable from it (here through links).
mkdir -p "$work/logs"
ln -s "$root/datasets" "$work/datasets"
ln -s "$root/scripts" "$work/scripts"
cd "$work"

# Waits for a job to leave the queue; fails if it takes longer than $2 seconds.
wait_for() {
  local job=$1 limit=$2
  for _ in $(seq $((limit * 5))); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  echo "job $job still queued or running after ${limit}s:" >&2
  squeue >&2
  exit 1
}

# The state Slurm gives a finished job (as scontrol remembers it for MinJobAge).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }

# A run log without its wall-clock fields: what must be the same bits.
figures() {
  python3 - "$1" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
for e in log["epochs"]:
    e.pop("seconds"); e.pop("samples_per_second")
print(json.dumps(log, sort_keys=True))
PY
}

# A ranking table without its timing columns (s/epoch, samples/s) or the ridge lines that only
# `lvm compare` adds.
table() {
  python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
start = next(i for i, l in enumerate(lines) if l.startswith("rank run"))
for l in lines[start:]:
    if "ridge" in l:
        continue
    cols = re.split(r" {2,}", l.strip())
    if l.startswith("rank"):
        # rank run, params, best val cos, vs baseline best epoch, s/epoch, samples/s, pred sim, …
        del cols[4:6]
    elif re.match(r"^\d+ ", l):
        # rank, run, params, best val, vs baseline, best epoch, s/epoch, samples/s, pred sim, …
        del cols[6:8]
    print(" | ".join(cols))
PY
}

echo "== 1. a 4-task array and its gather job"
LINK='dataset=wiki-29k&sample=300&epochs=2&runs=mlp,linear&1.repeats=2&2.repeats=2'
"$LVM" experiment --list --url "$LINK" > runs.txt
[ "$(wc -l < runs.txt)" = 4 ] || { echo "expected 4 trainings, got: $(cat runs.txt)" >&2; exit 1; }
array=$(sbatch --parsable --array=1-4 scripts/sweep.sbatch runs.txt results)
gather=$(sbatch --parsable --dependency=afterok:"$array" scripts/gather.sbatch results)
echo "array job $array, gather job $gather"
squeue
wait_for "$gather" 600
echo "gather job: $(job_state "$gather"); array tasks: $(job_state "$array")"
[ "$(job_state "$gather")" = "COMPLETED " ] || { cat logs/*; exit 1; }
cat results/ranking.txt

"$LVM" --threads 1 experiment --url "$LINK" --out local > local.txt 2>/dev/null
diff <(table local.txt) <(table results/ranking.txt) \
  || { echo "the gathered ranking differs from lvm experiment's" >&2; exit 1; }
for n in 1 2 3 4; do
  local_run=$(ls -d local/0"$n"-*)
  cmp <(figures "$local_run/run.json") <(figures "results/run-$n/run.json") \
    || { echo "task $n's run log differs from lvm experiment's $local_run" >&2; exit 1; }
done
echo "the gathered ranking and all 4 run logs equal lvm experiment's"

echo "== 2. a task cancelled mid-run and resubmitted resumes to the same bits"
LONG='dataset=wiki-29k&sample=3000&epochs=5&runs=mlp'
"$LVM" experiment --list --url "$LONG" > long.txt
job=$(sbatch --parsable --array=1 scripts/sweep.sbatch long.txt cut)
# Cancel once its first epoch is saved (the state file appears after each finished epoch).
for _ in $(seq 1500); do
  [ -f cut/run-1/state.safetensors ] && break
  sleep 0.2
done
[ -f cut/run-1/state.safetensors ] || { echo "no saved state after 300s" >&2; cat logs/*; exit 1; }
scancel "$job"
wait_for "$job" 60
echo "cancelled task: $(job_state "$job")"
[ ! -f cut/run-1/done ] || { echo "the task finished before it could be cancelled" >&2; exit 1; }
epochs_then=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["epochs"]))' cut/run-1/run.json)
[ "$epochs_then" -lt 5 ] || { echo "the cancelled run already has all its epochs" >&2; exit 1; }
again=$(sbatch --parsable --array=1 scripts/sweep.sbatch long.txt cut)
wait_for "$again" 600
echo "resubmitted task: $(job_state "$again")"
grep -q "resuming cut/run-1" logs/lvm-sweep-"$again"_1.out \
  || { echo "the resubmitted task did not resume:" >&2; cat logs/lvm-sweep-"$again"_1.out >&2; exit 1; }
"$LVM" --threads 2 train --url "$(cat long.txt)" --out whole > /dev/null 2>&1
cmp <(figures whole/run.json) <(figures cut/run-1/run.json) \
  || { echo "the resumed run differs from one never interrupted" >&2; exit 1; }
echo "cancelled after $epochs_then of 5 epochs, resumed: the same bits as an uninterrupted run"
