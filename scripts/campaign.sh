#!/usr/bin/env bash
# The campaign of issue 24: does the MLP still win when every model is trained well?
#
#   scripts/campaign.sh            runs (or resumes) everything, one training at a time
#
# RUNNING TWO: a second campaign started beside the first (its own PIDFILE) takes the next run
# the first is not training, so two trainings run at once. On two cores, two trainings of one
# thread each train 1.5-1.8x the samples per second of one training on two threads (`lvm
# bench`, LSTM and Transformer, docs/results.md), and the results are the same bits:
#
#   THREADS=1 setsid nohup nice -n 19 bash scripts/campaign.sh > /tmp/campaign.out 2>&1 &
#   THREADS=1 PIDFILE=/tmp/campaign2.pid setsid nohup nice -n 19 bash scripts/campaign.sh > /tmp/campaign2.out 2>&1 &
#
# Idempotent and resumable: a training whose run.json holds its retrieval (written at the end
# of a run) is skipped; one with a state.safetensors continues with `lvm train --resume`; any
# other starts afresh. Results go to results/campaign/<setting>/<step>/<run>/run.json
# (weights and state are git-ignored). Every training's command is printed in
# results/campaign/commands.log.
#
# Step 1, the learning-rate sweep: for each setting, per model one playground link trained on a
# sample (`lvm experiment --list` gives each training's config; `lvm train` runs it).
# Step 2: each model at the setting step 1 picked (best validation cosine on the sample),
# without and with the skip that suits the dataset, full data, 30 epochs at most, patience 5,
# seeds 42, 43, 44 (wiki-29k's three seeds first, then brown-29k's).
# Then one follow-up the results asked for (at the end of this file, with its reason).
set -euo pipefail
cd "$(dirname "$0")/.."
LVM=${LVM:-target/release/lvm}
OUT=results/campaign
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=536870912:glibc.malloc.trim_threshold=4294967295}
PIDFILE=${PIDFILE:-/tmp/campaign.pid}
# `nice` orders processes within one scheduler autogroup (one session) only: started with
# setsid, the campaign is a group of its own, so lower the group's weight too, or it takes a
# full share of the cores from everything else.
echo 19 > "/proc/$$/autogroup" 2>/dev/null || true
mkdir -p "$OUT"
echo "$(ps -o pgid= $$ | tr -d ' ')" > "$PIDFILE.group"
[ -x "$LVM" ] || { echo "build it first: cargo build --release --bin lvm" >&2; exit 1; }

# Threads per training: results are bit-identical at any thread count, so this only trades the
# campaign's speed against the rest of the machine (it runs at the lowest priority either way).
THREADS=${THREADS:-1}
SWEEP_SAMPLE=4000
SWEEP_EPOCHS=8
WARMUP=400
SETTINGS=("wiki-29k:all:last" "brown-29k:within:mean")

# The name of a run's folder, from its config: model, lr, warm-up, skip, seed.
name_of() {
  python3 - "$1" <<'PY'
import sys, urllib.parse
q = dict(urllib.parse.parse_qsl(sys.argv[1]))
lr = float(q["lr"])
parts = [q["model"], "lr%g" % lr]
if q.get("warmup", "0") != "0":
    parts.append("warmup" + q["warmup"])
if q.get("skip", "none") != "none":
    parts.append("skip-" + q["skip"])
parts.append("seed" + q["seed"])
print("-".join(parts))
PY
}

finished() {
  [ -f "$1/run.json" ] && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("retrieval") else 1)' "$1/run.json"
}

# Trains one config into a folder (or resumes it, or skips it).
train() {
  local config=$1 dir=$2 dataset lock
  dataset=$(python3 -c 'import sys,urllib.parse; print(dict(urllib.parse.parse_qsl(sys.argv[1]))["dataset"])' "$config")
  if finished "$dir"; then
    echo "done already: $dir"
    return 0
  fi
  mkdir -p "$dir"
  # Two campaigns may run side by side, each training one run at a time (see RUNNING TWO
  # above). A run is one campaign's while it holds the lock on the run's folder (the training
  # inherits it); the other passes it by. Finished is asked again under the lock: the other
  # may have finished it meanwhile.
  exec {lock}<"$dir"
  if ! flock -n "$lock"; then
    exec {lock}<&-
    echo "in training by the other campaign: $dir"
    return 0
  fi
  if finished "$dir"; then
    exec {lock}<&-
    echo "done already: $dir"
    return 0
  fi
  local cmd
  if [ -f "$dir/state.safetensors" ]; then
    cmd=("$LVM" --threads "$THREADS" train --dataset "datasets/$dataset" --resume "$dir")
  else
    cmd=("$LVM" --threads "$THREADS" train --dataset "datasets/$dataset" --url "$config" --f16 --out "$dir")
  fi
  echo "$(date -u +%FT%TZ) ${cmd[*]}" | tee -a "$OUT/commands.log"
  # The training's own pid goes to $PIDFILE, so `kill -STOP/-CONT $(cat $PIDFILE)` pauses and
  # continues it (the whole campaign: `kill -STOP -- -$(cat $PIDFILE.group)`).
  nice -n 19 "${cmd[@]}" > "$dir/train.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  # A failed run (a NaN: the lr is too high) keeps its log; the campaign goes on.
  wait "$pid" || echo "FAILED ($?): $dir" | tee -a "$OUT/commands.log"
  exec {lock}<&-
  tail -n 3 "$dir/train.log"
}

# Trains every training of a playground link into $2/<run name>.
experiment() {
  local link=$1 dir=$2
  echo "$(date -u +%FT%TZ) $LVM experiment --list --url '$link'" >> "$OUT/commands.log"
  local config
  while IFS= read -r config; do
    train "$config" "$dir/$(name_of "$config")"
  done < <("$LVM" experiment --list --url "$link")
}

sweep_link() { # dataset windows model
  local d=$1 w=$2 m=$3
  local link="dataset=$d&sample=$SWEEP_SAMPLE&windows=$w&epochs=$SWEEP_EPOCHS&runs=$m,$m,$m&1.lr=0.001&2.lr=0.0003&3.lr=0.0001"
  if [ "$m" = transformer ]; then
    link="dataset=$d&sample=$SWEEP_SAMPLE&windows=$w&epochs=$SWEEP_EPOCHS&runs=$m,$m,$m,$m,$m&1.lr=0.001&2.lr=0.0003&3.lr=0.0001&4.lr=0.001&4.warmup=$WARMUP&5.lr=0.0003&5.warmup=$WARMUP"
  fi
  echo "${link//windows=all&/}"
}

# The sweep's pick for a model: the run keys (lr, warmup) of its best run by validation cosine.
pick() { # sweep-dir model
  python3 - "$1" "$2" <<'PY'
import json, os, sys
root, model = sys.argv[1], sys.argv[2]
best = None
for name in sorted(os.listdir(root)):
    path = os.path.join(root, name, "run.json")
    if not name.startswith(model + "-lr") or not os.path.exists(path):
        continue
    log = json.load(open(path))
    if not log.get("retrieval") or log.get("best_epoch") is None:
        continue
    val = log["epochs"][log["best_epoch"] - 1]["val"]["mean"]
    if best is None or val > best[0]:
        best = (val, log["config"])
if best is None:
    sys.exit(1)
c = best[1]
keys = "lr=%s" % c["lr"]
if c.get("warmup", 0):
    keys += "&warmup=%d" % c["warmup"]
print(keys)
PY
}

# The order models train in within a seed. A session's background jobs end with it and a
# run's resumable state is not committed, so a session that has less time left than a
# Transformer run takes (up to 30 epochs) can put it last: MODELS="linear mlp lstm transformer".
read -ra MODELS <<< "${MODELS:-linear mlp transformer lstm}"

sweep() { # setting
  IFS=: read -r d w skip <<< "$1"
  for m in "${MODELS[@]}"; do
    experiment "$(sweep_link "$d" "$w" "$m")" "$OUT/$d-$w/sweep"
  done
}

# Step 2 for one setting and one seed: every model at its pick, without and with the skip.
# Seeds are the outer loop so that a partial campaign still has a whole table at seed 42.
full() { # setting seed
  IFS=: read -r d w skip <<< "$1"
  local seed=$2 m keys k k2 link config
  for m in "${MODELS[@]}"; do
    if ! keys=$(pick "$OUT/$d-$w/sweep" "$m"); then
      echo "no finished sweep run for $m on $d: skipped" | tee -a "$OUT/commands.log"
      continue
    fi
    echo "$d $w $m seed $seed: picked $keys" | tee -a "$OUT/commands.log"
    k=${keys//&/&1.}
    k2=${keys//&/&2.}
    link="dataset=$d&sample=0&windows=$w&epochs=30&runs=$m,$m&1.$k&1.patience=5&1.repeats=3&2.$k2&2.patience=5&2.skip=$skip&2.repeats=3"
    link=${link//windows=all&/}
    echo "$(date -u +%FT%TZ) $LVM experiment --list --url '$link' (seed $seed)" >> "$OUT/commands.log"
    while IFS= read -r config; do
      case "$config" in *"&seed=$seed&"* | *"&seed=$seed") train "$config" "$OUT/$d-$w/full/$(name_of "$config")" ;; esac
    done < <("$LVM" experiment --list --url "$link")
  done
}

# The order puts the study's setting first: its whole one-seed table, then (after the short
# brown-29k sweep) its seeds 43 and 44, which decide whether the leaders' gaps of 0.001-0.002
# exceed the seed spread; then brown-29k's full runs, seed by seed.
WIKI=${SETTINGS[0]} BROWN=${SETTINGS[1]}
sweep "$WIKI"
full "$WIKI" 42
sweep "$BROWN"
for seed in 43 44; do
  full "$WIKI" "$seed"
done
for seed in 42 43 44; do
  full "$BROWN" "$seed"
done

# Follow-up, beyond step 2's protocol: inside brown-29k's documents the Transformer collapses
# with skip=mean at the sweep's pick (lr 3e-4, warm-up 400) to the context's mean plus a
# constant (docs/results.md). On the sample lr 1e-4 came within 0.003 of the pick, and it
# is wiki-29k's pick: the same runs at lr 1e-4 tell a learning rate too high for the skip from
# a Transformer that cannot use it. Their rows sit in full/ beside the others, named by lr.
if [[ " ${MODELS[*]} " == *" transformer "* ]]; then
  experiment "dataset=brown-29k&sample=0&windows=within&epochs=30&runs=transformer&1.lr=0.0001&1.patience=5&1.skip=mean&1.repeats=3" \
    "$OUT/brown-29k-within/full"
fi
echo "campaign finished for models ${MODELS[*]} $(date -u +%FT%TZ)" | tee -a "$OUT/commands.log"
