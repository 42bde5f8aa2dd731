#!/bin/sh
# Push-T open loop at H = 40 and 50 with success judged on the *final* plan only (issue 16, the ablations'
# check). The study's protocol (the paper's) checks the current plan in the simulator every `check_every`
# iterations and stops at the first success, so every plan the optimizer passes through at a check is a draw
# judged by the simulator. Here `--check-every 1000000` leaves only the plan each planner returns after its
# whole budget: what a user who executes the returned plan gets. Same problems (seeds 0-49), settings (the
# rerun's tuned file) and iteration budgets as the study tables: grasp-cemsync, grasp-jacobi and grasp from the
# ablations' calibration, cem, gd and latco from the main Push-T table's. Two runs of two shards each (the GRASPs
# with CEM, then GD and LatCo), both resumable.
#
#   scripts/pusht-final-plan.sh          # reads the published tuned file and budgets in docs/results
#
# Output: docs/results/pusht-final-plan and docs/results/pusht-final-plan-gd-latco (merged); runs in
# runs/final-plan.
set -eu
B=${B:-target/release/grasp-explorer}
R=${R:-runs/rerun}
F=${F:-runs/final-plan}
DOCS=${DOCS:-docs/results}
N=${N:-50}
T=$DOCS/rerun-pusht/tuning/tuned.json           # the published files; the runs' copies if those are absent
[ -f "$T" ] || T=$R/pusht-mpc-tune/tuned.json
AB=$DOCS/rerun-pusht-ablations/tuning/budget.json
[ -f "$AB" ] || AB=$R/pusht-ablations-calib/budget.json
MB=$DOCS/rerun-pusht/tuning/budget.json
[ -f "$MB" ] || MB=$R/pusht-calib/budget.json
mkdir -p "$F/more"
budget() { # out-file keep-from-ablations keep-from-main (comma lists of planners)
  python3 - "$AB" "$MB" "$@" <<'PY'
import json, os, sys
a = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
out, from_abl, from_main = sys.argv[3], sys.argv[4].split(","), sys.argv[5].split(",")
cells = {k: v for k, v in a["table"]["per_cell"].items() if k.split("@")[0] in from_abl}
cells.update({k: v for k, v in m["table"]["per_cell"].items() if k.split("@")[0] in from_main and k.split("@")[1] in ("40", "50")})
a["table"]["per_cell"] = dict(sorted(cells.items()))
a["scaled_from"] += f"; cells of {', '.join(p for p in from_main if p)} from the main Push-T table's calibration"
json.dump(a, open(out + ".tmp", "w"), indent=2)
os.replace(out + ".tmp", out)
PY
}
run() { # run-dir planners docs-name
  d=$1; p=$2; name=$3
  pids=
  for i in 0 1; do
    $B bench --env pusht --planners $p --horizons 40,50 --problems $N --seed 0 --tuned "$T" \
      --budget-file "$d/budget.json" --check-every 1000000 --shard $i/2 --out "$d/shard-$i" --resume \
      > "$d/shard-$i.log" 2>&1 &
    pids="$pids $!"
  done
  failed=
  for x in $pids; do wait $x || failed=1; done
  [ -z "$failed" ] || { echo "pusht-final-plan: a shard failed (see $d/shard-*.log); rerun to resume" >&2; exit 1; }
  rm -rf "$DOCS/$name.tmp"
  $B bench merge "$d/shard-0" "$d/shard-1" --out "$DOCS/$name.tmp"
  cp "$d/budget.json" "$DOCS/$name.tmp/"
  rm -rf "$DOCS/$name"; mv "$DOCS/$name.tmp" "$DOCS/$name"
}
[ -f "$F/budget.json" ] || budget "$F/budget.json" grasp-cemsync,grasp-jacobi,grasp cem
[ -f "$F/more/budget.json" ] || budget "$F/more/budget.json" "" gd,latco
run "$F" grasp-cemsync,grasp-jacobi,grasp,cem pusht-final-plan
run "$F/more" gd,latco pusht-final-plan-gd-latco
