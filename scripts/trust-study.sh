#!/bin/sh
# The measurements of issue 17 (docs/trust.md), resumable: rerun it and finished parts are skipped.
#   check   — the shipped ensembles' calibrated thresholds on 10 evaluation problems × grasp/cem/gd, per planner
#   mpc     — adaptive MPC (--mpc-execute trust) on the closed-loop tables' problems, settings and budgets:
#             at the calibrated threshold, then at the threshold `tune` picks on tuning seeds
#             (assets/grids/trust-mpc-ENV.json; threshold 0 executes one step per plan, as fixed MPC)
#   penalty — the disagreement penalty: weight chosen by `tune` on tuning seeds, then 50 evaluation problems
#   penalty30 — Wall GRASP only: the weight chosen on 30 tuning problems (10 do not separate the weights)
# Arguments: PART ENV... (default: all parts, all envs; penalty runs on wall and pusht only), e.g. two cores:
#   scripts/trust-study.sh mpc wall pusht & scripts/trust-study.sh penalty wall pusht &
B=${B:-target/release/grasp-explorer}
O=${OUT:-runs/trust-study}
cd "$(dirname "$0")/.."
mkdir -p $O
horizon() { case $1 in pusht) echo 50 ;; *) echo 100 ;; esac; }
check() {
  e=$1; f=$O/$e-check.json
  [ -f $f ] && return
  t=$(python3 -c "import json;print(json.load(open('assets/models/$e-ensemble.trust.json'))['threshold'])")
  $B model trust --env $e --model assets/models/$e-ensemble.safetensors --problems 10 --check $t \
     --tuned docs/results/$e-tune/tuned.json --write $f \
     > $O/$e-check.log 2>&1 || exit 1
}
mpc() {
  e=$1; h=$(horizon $e)
  [ -f $O/$e-mpc-trust/summary.md ] || \
  $B bench --env $e --planners grasp,cem,gd --horizons $h --problems 50 --seed 0 --mpc --mpc-execute trust \
     --tuned docs/results/$e-mpc-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out $O/$e-mpc-trust --resume > $O/$e-mpc-trust.log 2>&1 || exit 1
  $B tune --env $e --planners grasp,cem,gd --horizons $h --problems 10 --mpc --mpc-execute trust \
     --grid assets/grids/trust-mpc-$e.json --from docs/results/$e-mpc-tune/tuned.json \
     --budget-file docs/results/$e-full-calib/budget.json \
     --out $O/$e-mpc-trust-tune --resume > $O/$e-mpc-trust-tune.log 2>&1 || exit 1
  $B bench --env $e --planners grasp,cem,gd --horizons $h --problems 50 --seed 0 --mpc --mpc-execute trust \
     --tuned $O/$e-mpc-trust-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out $O/$e-mpc-trust-tuned --resume > $O/$e-mpc-trust-tuned.log 2>&1 || exit 1
}
penalty30() {
  [ $1 = wall ] || return
  $B tune --env wall --planners grasp --horizons 100 --problems 30 --grid assets/grids/trust-penalty-grasp.json \
     --from docs/results/wall-tune/tuned.json --budget-file docs/results/wall-full-calib/budget.json \
     --out $O/wall-penalty30-tune --resume > $O/wall-penalty30-tune.log 2>&1 || exit 1
  $B bench --env wall --planners grasp --horizons 100 --problems 50 --seed 0 \
     --tuned $O/wall-penalty30-tune/tuned.json --budget-file docs/results/wall-full-calib/budget.json \
     --out $O/wall-penalty30 --resume > $O/wall-penalty30.log 2>&1 || exit 1
}
penalty() {
  e=$1; h=$(horizon $e)
  case $e in wall|pusht) ;; *) return ;; esac
  $B tune --env $e --planners grasp,cem --horizons $h --problems 10 --grid assets/grids/trust-penalty.json \
     --from docs/results/$e-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out $O/$e-penalty-tune --resume > $O/$e-penalty-tune.log 2>&1 || exit 1
  $B bench --env $e --planners grasp,cem --horizons $h --problems 50 --seed 0 \
     --tuned $O/$e-penalty-tune/tuned.json --budget-file docs/results/$e-full-calib/budget.json \
     --out $O/$e-penalty --resume > $O/$e-penalty.log 2>&1 || exit 1
}
part=${1:-all}; [ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- wall pointmaze pusht
for e in "$@"; do
  case $e in wall|pointmaze|pusht) ;; *) echo "trust-study: unknown env '$e' (wall, pointmaze, pusht)" >&2; exit 2 ;; esac
done
for e in "$@"; do
  case $part in
    check|mpc|penalty|penalty30) $part $e ;;
    all) check $e; mpc $e; penalty $e; penalty30 $e ;;
    *) echo "trust-study: unknown part '$part' (check, mpc, penalty, penalty30, all)" >&2; exit 2 ;;
  esac
done
echo "trust-study $part $*: done"
