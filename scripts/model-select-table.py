#!/usr/bin/env python3
"""Table of scripts/model-select.sh runs: successes in the simulator / under the model (exploited) per planner,
one row per candidate. Usage: scripts/model-select-table.py runs/model-select/<name> ..."""
import json
import os
import sys

rows = []
planners = []
for d in sys.argv[1:]:
    try:
        s = json.load(open(os.path.join(d, "summary.json")))
    except (OSError, ValueError) as e:
        sys.exit(f"model-select-table: cannot read {d}/summary.json: {e}")
    cells = {c["planner"]: c for c in s["cells"]}
    for p in cells:
        if p not in planners:
            planners.append(p)
    status = "" if s.get("complete") else f" (incomplete: {s['trials_done']}/{s['trials_expected']})"
    rows.append((os.path.basename(d.rstrip("/")) + status, cells))
print("| model | " + " | ".join(f"{p}: sim / model (exploited)" for p in planners) + " |")
print("|---|" + "---|" * len(planners))
for name, cells in rows:
    out = []
    for p in planners:
        c = cells.get(p)
        out.append("–" if c is None else f"{c['successes']}/{c['problems']} / {c['model_successes']} ({c['exploited']})")
    print(f"| {name} | " + " | ".join(out) + " |")
