#!/bin/sh
# Issue 13, part 7: the old (v1) and the shipped world model side by side on the 50 evaluation problems, open
# loop, with the main tables' protocol (grasp/cem/gd, the first study's tuned settings, which shipped then, the tables' calibrated
# iteration budgets, early stop at the first success): Wall at H = 100, Push-T at H = 50. Evaluation problems
# only measure here; the models were chosen on tuning problems (scripts/model-select.sh). Resumable (bench
# --resume). Output: runs/side/<name>/ (summary.md with success under the model and the exploited count),
# copied to docs/results/model-side/<name>/ when complete.
#
#   scripts/model-side.sh [name ...]   # default: wall-v1 wall pusht-v1 pusht
set -eu
B=${B:-target/release/grasp-explorer}
cd "$(dirname "$0")/.."
mkdir -p runs/side
[ $# -gt 0 ] || set -- wall-v1 wall pusht-v1 pusht
for n in "$@"; do
  env=${n%%-*}
  case $env in pusht) h=50 ;; wall) h=100 ;; *) echo "model-side: '$n' names no Wall or Push-T model (assets/models/<name>.safetensors, e.g. wall, wall-v1, pusht, pusht-v1)" >&2; exit 2 ;; esac
  m=assets/models/$n.safetensors
  [ -f "$m" ] || { echo "model-side: no $m" >&2; exit 1; }
  $B bench --env $env --planners grasp,cem,gd --horizons $h --problems 50 --seed 0 \
    --tuned docs/results/$env-tune/tuned.json --budget-file docs/results/$env-full-calib/budget.json --model "$m" --out runs/side/$n --resume \
    > runs/side/$n.log 2>&1 || { echo "model-side: $n failed (runs/side/$n.log)" >&2; exit 1; }
  mkdir -p docs/results/model-side
  rm -rf docs/results/model-side/$n; cp -r runs/side/$n docs/results/model-side/$n
done
