#!/bin/sh
# GRASP's lifted phase on a learned model (issue 16, part 1): variants of the state step, goal shaping, noise
# and sync on TUNING problems only (seeds 10^12 + 10 …), beside CEM and GD, every variant at the same planner
# CPU time. One JSON line per (variant, problem) in $OUT/runs.jsonl (resumable: lines already there are
# skipped), then a table of medians (scripts/grasp-study-table.py).
#
#   scripts/grasp-study.sh [env] [horizon] [problems] [cpu-seconds]   # defaults: pusht 50 10 2.5
#
# Budget: each variant's iterations = cpu-seconds / its CPU seconds per iteration, measured once with `plan`'s
# `cpu_s` (thread CPU time, insensitive to other load) over a calibration run on the calibration seed
# 2099511627776 (not a tuning or evaluation problem) and kept in $OUT/calib.txt, so reruns are deterministic.
set -eu
B=${B:-target/release/grasp-explorer}
cd "$(dirname "$0")/.."
env=${1:-pusht}; h=${2:-50}; n=${3:-10}; cpu=${4:-2.5}
OUT=${OUT:-runs/grasp-study-$env-h$h}
mkdir -p "$OUT"
touch "$OUT/runs.jsonl" "$OUT/calib.txt"
J='--state-step gradient --lr-states 0.5'
S='--sync-every 10 --sync-steps 30'
# Iterations for `name` (planner, flags): calibrated once, then read back from calib.txt.
budget() { # name planner flags...
  name=$1; planner=$2; shift 2
  got=$(awk -v n="$name" '$1 == n { print $2 }' "$OUT/calib.txt")
  if [ -z "$got" ]; then
    probe=1000; [ "$planner" = cem ] && probe=20
    got=$($B plan --env "$env" --planner "$planner" --horizon "$h" --seed 2099511627776 --iters $probe \
      --check-every 0 --threads 1 --json "$@" |
      python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit('calibration diverged: ' + d['diverged']) if d['diverged'] else print(max(1, round($cpu * d['iterations'] / d['cpu_s'])))") || {
      echo "grasp-study: calibrating '$name' failed (a diverging variant); drop it or change its flags" >&2; exit 1; }
    echo "$name $got" >> "$OUT/calib.txt"
  fi
  echo "$got"
}
variant() { # name planner flags...
  name=$1; planner=$2; shift 2
  it=$(budget "$name" "$planner" "$@")
  i=0
  while [ $i -lt "$n" ]; do
    seed=$((1000000000010 + i))
    if ! grep -qF "{\"variant\":\"$name\",\"seed\":$seed," "$OUT/runs.jsonl"; then
      # A diverging trial still prints its JSON (with `diverged`) and exits 1: keep the row.
      line=$($B plan --env "$env" --planner "$planner" --horizon "$h" --seed $seed --iters "$it" \
        --check-every 0 --threads 1 --json "$@") || [ -n "$line" ] || exit 1
      # One whole line per append (written to a temp file first), so an interrupt cannot leave half a row.
      printf '{"variant":"%s","seed":%s,"flags":"%s",%s\n' "$name" $seed "$*" "${line#\{}" > "$OUT/.row"
      cat "$OUT/.row" >> "$OUT/runs.jsonl"
    fi
    i=$((i + 1))
  done
  echo "$name done" >&2
}
variant cem cem --tuned docs/results/$env-tune/tuned.json
variant gd gd --tuned docs/results/$env-tune/tuned.json
variant reference grasp
variant sync10x30 grasp $S
variant adam-lrs0.01 grasp --lr-states 0.01
variant jacobi grasp $J
variant jacobi-sync10x30 grasp $J $S
variant jacobi-nogoal grasp $J --no-goal-shaping
variant jacobi-nogoal-sync10x30 grasp $J --no-goal-shaping $S
variant jacobi-decay-sync10x30 grasp $J --schedule-decay $S
variant jacobi-nogoal-nonoise-sync10x30 grasp $J --no-goal-shaping --no-noise $S
# Round 2, around the best of round 1 (no goal shaping, no noise, exact state step, sync 10 x 30).
Q="$J --no-goal-shaping --no-noise"
variant jnn-sync10x30-lra0.03 grasp $Q $S --lr-actions 0.03
variant jnn-sync10x30-synclr0.1 grasp $Q $S --sync-lr 0.1
variant jnn-sync5x30 grasp $Q --sync-every 5 --sync-steps 30
variant jnn-sync20x30 grasp $Q --sync-every 20 --sync-steps 30
variant jnn-sync10x60 grasp $Q --sync-every 10 --sync-steps 60
variant jnn-nosync grasp $Q --no-sync
variant jn-noise0.001-sync10x30 grasp $J --no-goal-shaping --noise 0.001 $S
# Round 3: gradients through the state inputs, so goal information reaches the virtual states. (The exact
# step with state gradients, `$J --state-grads`, diverges within 34 iterations on the calibration problem.)
variant grad0.05-stategrad-sync10x30 grasp --state-step gradient --lr-states 0.05 --state-grads $S
variant adam0.01-stategrad-sync10x30 grasp --lr-states 0.01 --state-grads $S
variant stategrad-sync10x30 grasp --state-grads $S
# Round 4 (issue 16, part 4: which GRASP the app opens with): the settings `tune` chose for the tables (the
# reference switches with tuned learning rates), alone and with round 2's best lifted phase.
variant tuned grasp --tuned docs/results/$env-tune/tuned.json
variant tuned-jnn-sync10x60 grasp --tuned docs/results/$env-tune/tuned.json $Q --sync-every 10 --sync-steps 60
python3 scripts/grasp-study-table.py "$OUT/runs.jsonl" > "$OUT/table.md"
cat "$OUT/table.md"
