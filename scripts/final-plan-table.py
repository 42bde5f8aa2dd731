#!/usr/bin/env python3
"""The final-plan check's table for docs/results.md (issue 16): per env, planner and horizon, open-loop success by
the study's protocol (the simulator checks the plan during optimization and stops at the first success) beside
success of the plan returned after the whole budget (scripts/final-plan.sh), with 95 % Wilson intervals, the
final plans' success under the model, and median final distances in the simulator.

    scripts/final-plan-table.py [DIR ...] [--docs docs/results]

DIRs are final-plan runs (default: every docs/results/final-plan-*); each is matched with the study tables of its
env (docs/results/rerun-<env>, and for Push-T also rerun-pusht-ablations). Works on partial runs."""
import argparse
import csv
import functools
import glob
import math
import os
import re
import statistics
import sys


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


@functools.lru_cache(maxsize=None)
def rows(path):
    try:
        with open(path) as f:
            out = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"final-plan-table: cannot read {path} ({e}); run scripts/final-plan.sh first")
    need = {"planner", "horizon", "problem", "success", "final_distance", "max_iters", "model_success"}
    missing = need - set(out[0].keys() if out else need)
    if missing:
        sys.exit(f"final-plan-table: {path} is not a bench trials.csv (no {', '.join(sorted(missing))}); "
                 "rerun its bench or merge")
    return out


def cell(rs):
    n, k = len(rs), sum(r["success"] == "true" for r in rs)
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.0f} [{100 * lo:.0f}, {100 * hi:.0f}] ({k}/{n})" if n else "—"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--docs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results"))
    a = ap.parse_args()
    dirs = a.dirs or sorted(glob.glob(os.path.join(a.docs, "final-plan-*")))
    if not dirs:
        sys.exit("final-plan-table: no final-plan runs found; run scripts/final-plan.sh first")
    for d in dirs:  # every run readable before any output (cached: read once)
        rows(os.path.join(d, "trials.csv"))
    print("| env | H | planner | protocol: success % [95 % Wilson] | final plan only | final plan under the model % "
          "| median final distance, protocol → final plan |")
    print("|---|---|---|---|---|---|---|")
    for d in dirs:
        fin = rows(os.path.join(d, "trials.csv"))
        env = re.sub(r"(-gd-latco|-h\d+)$", "", os.path.basename(os.path.normpath(d)).removeprefix("final-plan-"))
        study = []
        for part in (f"rerun-{env}", f"rerun-{env}-ablations"):
            p = os.path.join(a.docs, part, "trials.csv")
            if os.path.isfile(p):
                study.append(rows(p))
        # Cells in the run's order (horizon, then planner as listed); a stable sort keeps the planner order.
        keys = sorted(dict.fromkeys((r["planner"], int(r["horizon"])) for r in fin), key=lambda k: k[1])
        for planner, h in keys:
            f = [r for r in fin if r["planner"] == planner and int(r["horizon"]) == h]
            probs = {r["problem"] for r in f}
            # The study table that ran this planner with the budget the final-plan run used (same max_iters).
            iters = {r["max_iters"] for r in f}
            p = []
            for s in study:
                p = [r for r in s if r["planner"] == planner and int(r["horizon"]) == h and r["max_iters"] in iters]
                if p:
                    break
            p = [r for r in p if r["problem"] in probs]
            model = sum(r["model_success"] == "true" for r in f)
            dist = lambda rs: f"{statistics.median(float(r['final_distance']) for r in rs):.2f}" if rs else "—"
            print(f"| {env} | {h} | {planner} | {cell(p)} | {cell(f)} | {100 * model / len(f):.0f} "
                  f"| {dist(p)} → {dist(f)} |")


if __name__ == "__main__":
    main()
