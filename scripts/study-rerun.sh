#!/bin/sh
# Issue 16, part 3: the study rerun. For each env: tune every planner open loop on tuning seeds, tune the MPC
# replan split on top of those settings, calibrate 10 CPU s per trial as iterations, then run 50 evaluation
# problems per cell open loop AND closed loop in one bench (`--mpc --and-open-loop`: labels `P` and `P+mpc`,
# same problems, same settings) as two shards on two cores, and merge into docs/results/rerun-<env>. Push-T
# also runs the paper's ablations at H = 40 and 50 in both modes. Planners: grasp-jacobi (the variant the
# lifted-phase study chose), grasp (the reference design with tuned learning rates), cem, gd, latco.
# Resumable at every stage: rerun the same command. Models: the shipped ones (or $GRASP_EXPLORER_MODELS).
#
#   scripts/study-rerun.sh [env ...]        # default: pointmaze wall pusht pusht-ablations
#
# Partial results are committed under docs/results/rerun-partial/ (scripts/rerun-snapshot.sh: what resuming
# needs of the parts not yet in docs/results); on a fresh machine continue with `mkdir -p runs/rerun && cp -r
# docs/results/rerun-partial/. runs/rerun/` first, then this script with the parts not yet in docs/results
# (finished stages are skipped, unfinished runs resume trial by trial).
#
# The maze parts (pointmaze, wall) and the Push-T parts (pusht, pusht-ablations) run as two lanes side by side,
# each part after the other within its lane, so both cores stay busy while one lane tunes (tuning is one
# process). Budgets are CPU seconds of the planner thread, so the outcomes do not depend on that load. Push-T's
# two parts share one tuning; a lock lets only one of them run it.
#
# Output: runs in R (runs/rerun) and the published tables in DOCS (docs/results), which a finished part
# replaces; to compare a rerun of your own with the committed tables, point DOCS elsewhere (DOCS=/tmp/mine) and
# use scripts/rerun-table.py /tmp/mine/rerun-<part>. A shard that fails stops its part before anything is
# published. For a smoke test, N (evaluation problems, 50), TN (tuning problems, 10), S (CPU s per trial, 10)
# and CS (calibration seconds, 3) can be made small, with R and DOCS pointing elsewhere.
set -eu
. "$(dirname "$0")/shards.sh"
B=${B:-target/release/grasp-explorer}
R=${R:-runs/rerun}
DOCS=${DOCS:-docs/results}
cd "$(dirname "$0")/.."
P=grasp-jacobi,grasp,cem,gd,latco
N=${N:-50}; TN=${TN:-10}; S=${S:-10}; CS=${CS:-3}
[ $# -gt 0 ] || set -- pointmaze wall pusht pusht-ablations
for e in "$@"; do
  case $e in pointmaze|wall|pusht|pusht-ablations) ;; *) echo "study-rerun: unknown part '$e' (pointmaze, wall, pusht, pusht-ablations)" >&2; exit 2 ;; esac
done
tuned() { # env tuning-horizon -> settings file (open-loop tune, then the MPC split on top)
  e=$1; ht=$2
  exec 9>"$R/$e-tune.lock"; flock 9
  [ -f "$R/$e-tune/tuned.json" ] || $B tune --env $e --planners $P --horizons $ht --problems $TN --budget-s $S \
    --calibrate-s $CS --scale-iters --grid assets/grids/rerun.json --out "$R/$e-tune" --resume >&2
  [ -f "$R/$e-mpc-tune/tuned.json" ] || $B tune --env $e --planners $P --horizons $ht --problems $TN --mpc \
    --grid assets/grids/mpc.json --from "$R/$e-tune/tuned.json" --budget-s $S --calibrate-s $CS --scale-iters \
    --out "$R/$e-mpc-tune" --resume >&2
  flock -u 9; exec 9>&-
  echo "$R/$e-mpc-tune/tuned.json"
}
study() { # name env horizons planner-flags tuned-file
  name=$1; e=$2; hs=$3; pf=$4; t=$5
  [ -f "$R/$name-calib/budget.json" ] || $B bench --env $e $pf --horizons $hs --problems $N --seed 0 \
    --tuned "$t" --budget-s $S --calibrate-s $CS --scale-iters --calibrate-only --out "$R/$name-calib"
  # A failed or killed shard stops the part before anything is merged or replaces the published table.
  bench_shards "$R/$name" "$R/$name-shard-" --env $e $pf --horizons $hs --problems $N --seed 0 --mpc \
    --and-open-loop --tuned "$t" --budget-file "$R/$name-calib/budget.json" ||
    { echo "study-rerun: $name: a shard failed (see $R/$name-shard-*.log); rerun to resume" >&2; exit 1; }
  publish_merge "$R/$name" "$DOCS/rerun-$name"
  mkdir -p "$DOCS/rerun-$name/tuning"
  cp "$t" "$DOCS/rerun-$name/tuning/tuned.json"; cp "$R/$name-calib/budget.json" "$DOCS/rerun-$name/tuning/"
  for st in tune mpc-tune; do  # both tuning stages' tables, for the record
    mkdir -p "$DOCS/rerun-$name/tuning/$st"
    cp "$R/$e-$st/summary.md" "$R/$e-$st/tuned.json" "$R/$e-$st/trials.csv" "$DOCS/rerun-$name/tuning/$st/"
  done
}
part() { # a tuning that fails stops the part here (an assignment keeps its exit status)
  case $1 in
    pointmaze|wall) t=$(tuned $1 100); study $1 $1 50,100,200 "--planners $P" "$t" ;;
    pusht) t=$(tuned pusht 50); study pusht pusht 40,50,60,80 "--planners $P" "$t" ;;
    pusht-ablations) t=$(tuned pusht 50); study pusht-ablations pusht 40,50 "--ablations --planners grasp-jacobi" "$t" ;;
  esac
}
lane() { for e in "$@"; do part $e; done; }
mkdir -p "$R"
mazes=; pushts=
for e in "$@"; do
  case $e in pointmaze|wall) mazes="$mazes $e" ;; *) pushts="$pushts $e" ;; esac
done
ra=0; rb=0
( lane $mazes ) & a=$!
( lane $pushts ) & b=$!
wait $a || ra=$?
wait $b || rb=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] || { echo "study-rerun: a part failed (maze lane exit $ra, Push-T lane exit $rb)" >&2; exit 1; }
