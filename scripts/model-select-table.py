#!/usr/bin/env python3
"""Table of scripts/model-select.sh (or scripts/model-side.sh) runs: successes in the simulator / under the model
(exploited) and the median final distance to the goal (env units) per planner, one row per candidate.

Usage: scripts/model-select-table.py [--speed NAME=P:R,P:R,...] RUN_DIR ...

--speed recounts a run at equal CPU time: a model that plans at R times the speed of the budget's model gets
R × the iteration budget, so a trial counts as a success only if it succeeded within that many iterations
(every run stops at its first success, so trials.csv holds the iteration of success). R comes from
`plan --json` iters_per_s of the two models on the same problem (docs/models.md says which)."""
import csv
import json
import os
import sys

def usage(msg):
    print(f"model-select-table: {msg}", file=sys.stderr)
    sys.exit(2)


args = sys.argv[1:]
speed = {}
while args and args[0] == "--speed":
    if len(args) < 2 or "=" not in args[1]:
        usage("--speed needs NAME=planner:ratio,... (e.g. pusht-3x256=grasp:0.5,cem:0.7)")
    name, spec = args[1].split("=", 1)
    try:
        speed[name] = {p: float(r) for p, r in (x.split(":") for x in spec.split(","))}
    except ValueError:
        usage(f"bad --speed '{args[1]}' (want NAME=planner:ratio,...)")
    args = args[2:]
if not args:
    usage("no run directories; " + __doc__.strip().splitlines()[3])

rows = []
planners = []
for d in args:
    name = os.path.basename(d.rstrip("/"))
    try:
        s = json.load(open(os.path.join(d, "summary.json")))
    except (OSError, ValueError) as e:
        sys.exit(f"model-select-table: cannot read {d}/summary.json: {e}")
    cells = {c["planner"]: dict(c) for c in s["cells"]}
    for p in cells:
        if p not in planners:
            planners.append(p)
    status = "" if s.get("complete") else f" (incomplete: {s['trials_done']}/{s['trials_expected']})"
    rows.append((name + status, cells))
    if name in speed:
        with open(os.path.join(d, "trials.csv")) as f:
            trials = list(csv.DictReader(f))
        for p, r in speed[name].items():
            if p not in cells:
                sys.exit(f"model-select-table: {d} has no planner '{p}'")
            ok = [t for t in trials if t["planner"] == p and t["success"] == "true"
                  and int(t["iterations"]) <= r * int(t["max_iters"])]
            cells[p]["equal_time"] = (len(ok), r)
print("| model | " + " | ".join(f"{p}: sim / model (exploited), final dist" for p in planners) + " |")
print("|---|" + "---|" * len(planners))
for name, cells in rows:
    out = []
    for p in planners:
        c = cells.get(p)
        if c is None:
            out.append("–")
            continue
        cell = f"{c['successes']}/{c['problems']} / {c['model_successes']} ({c['exploited']}), {c['median_final_distance']:.1f}"
        if "equal_time" in c:
            n, r = c["equal_time"]
            cell += f"; at equal CPU time ({r:g}× iters) {n}/{c['problems']}"
        out.append(cell)
    print(f"| {name} | " + " | ".join(out) + " |")
