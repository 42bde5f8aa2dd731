#!/bin/sh
# The MPC study of issue 12 (docs/results-v1.md "Closed loop"): tune the replan split on tuning seeds, then
# bench grasp/cem/gd closed loop on the open-loop tables' problems and budgets. Resumable: rerun it.
# Arguments: the envs to run (default: wall pointmaze pusht), e.g. two processes on two cores:
#   scripts/mpc-study.sh wall pointmaze & scripts/mpc-study.sh pusht &
B=${B:-target/release/grasp-explorer}
cd "$(dirname "$0")/.."
run() { # env horizons
  e=$1; h=$2
  $B tune --env $e --planners grasp,cem,gd --horizons $h --problems 10 --mpc --grid assets/grids/mpc.json \
     --from docs/results/$e-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out runs/$e-mpc-tune --resume || exit 1
  $B bench --env $e --planners grasp,cem,gd --horizons $h --problems 50 --seed 0 --mpc \
     --tuned runs/$e-mpc-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out runs/$e-mpc --resume || exit 1
}
[ $# -gt 0 ] || set -- wall pointmaze pusht
for e in "$@"; do
  case $e in wall|pointmaze|pusht) ;; *) echo "mpc-study: unknown env '$e' (wall, pointmaze, pusht)" >&2; exit 2 ;; esac
done
for e in "$@"; do
  case $e in
    wall|pointmaze) run $e 100 ;;
    pusht) run pusht 50,80 ;;
    *) echo "mpc-study: unknown env '$e' (wall, pointmaze, pusht)" >&2; exit 2 ;;
  esac
done
