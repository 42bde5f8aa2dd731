#!/usr/bin/env python3
"""Success and replans of closed-loop runs side by side (docs/trust.md, "Adaptive MPC").

Usage: scripts/mpc-replans.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a `bench --mpc` output (trials.csv, run.json). Replans are derived from the iteration
counts: an episode's first plan runs round(first_frac x budget) iterations and every replan
floor((1 - first_frac) x budget / (H - 1)) (bench::closed_loop::MpcSpec::settings), and every plan runs its
whole budget, so replans = (iterations - first) / per_replan. Prints one Markdown table.
"""
import csv
import json
import statistics
import sys


def rows(run):
    cfg = json.load(open(f"{run}/run.json"))["config"]
    specs = {c["label"]: c.get("mpc") for c in cfg["contenders"]}
    budget = cfg["budget"]["table"]["per_cell"]
    out = {}
    for r in csv.DictReader(open(f"{run}/trials.csv")):
        label, h = r["planner"], int(r["horizon"])
        spec = specs[label]
        n = budget[f"{label.split('+')[0].split('[')[0]}@{h}"]
        first = max(1, int(n * spec["first_frac"] + 0.5))
        per = spec["replan_iters"] or max(1, int(n * (1 - spec["first_frac"]) / max(1, h // spec["execute"] - 1)))
        replans = (int(r["iterations"]) - first) // per
        out.setdefault((label, h), []).append((r["success"] == "true", replans))
    return out


print("| run | planner | H | success | median replans | mean replans |")
print("|---|---|---|---|---|---|")
for run in sys.argv[1:]:
    for (label, h), trials in sorted(rows(run).items()):
        s = sum(ok for ok, _ in trials)
        reps = [r for _, r in trials]
        print(f"| {run} | {label} | {h} | {s}/{len(trials)} | {statistics.median(reps):g} | {statistics.mean(reps):.1f} |")
