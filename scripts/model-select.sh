#!/bin/sh
# Issue 13, part 6: choose which candidate world model to ship by planner success on TUNING problems (seeds
# 10^12 + 1000 + i, disjoint from the seeds the first study's settings were tuned on and from the evaluation
# seeds 0, 1, …, which are never used to choose). For each candidate in $OUT (default
# runs/models): the open-loop benchmark of the main tables (grasp/cem/gd, the first study's tuned settings
# docs/results/<env>-tune/tuned.json, shipped when the models were chosen, the tables' calibrated budgets, as `tune` with an empty grid) on N tuning problems at the env's study horizon. Resumable. Output:
# runs/model-select/<name>/summary.md (with success under the model and the exploited count).
#
#   scripts/model-select.sh wall-v1 wall-online-gd …     # N=30 by default
set -eu
B=${B:-target/release/grasp-explorer}
OUT=${OUT:-runs/models}
N=${N:-30}
cd "$(dirname "$0")/.."
for n in "$@"; do
  env=${n%%-*}
  case $env in pusht) h=50 ;; pointmaze|wall) h=100 ;; *) echo "model-select: '$n' does not start with an env name" >&2; exit 2 ;; esac
  [ -f "$OUT/$n.safetensors" ] || { echo "model-select: no $OUT/$n.safetensors (train it with scripts/model-candidates.sh $n)" >&2; exit 1; }
  # `tune` is the benchmark on tuning seeds (`bench` refuses them); with the empty grid it only measures the
  # first study's settings (`--from`), one point per planner. --seed 1000: seeds 10^12 + 1000 + i.
  $B tune --env $env --planners grasp,cem,gd --horizons $h --problems $N --seed 1000 \
    --grid assets/grids/none.json --from docs/results/$env-tune/tuned.json \
    --budget-file docs/results/$env-full-calib/budget.json --model "$OUT/$n.safetensors" \
    --out runs/model-select/$n --resume > runs/model-select-$n.log 2>&1 || { echo "model-select: $n failed (runs/model-select-$n.log)" >&2; exit 1; }
done
