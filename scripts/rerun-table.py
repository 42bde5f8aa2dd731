#!/usr/bin/env python3
"""The study rerun's tables for docs/results.md (issue 16): per env, each planner and horizon open loop and
closed loop (MPC) from docs/results/rerun-<name>/summary.json, success in the simulator with its 95 % Wilson
interval and median calibrated CPU seconds to success, success under the model with the exploited count, and the
old models' open-loop (and, where measured, MPC) result as the baseline row.

    scripts/rerun-table.py NAME|DIR [--baseline DIR ...] [--docs docs/results]

NAME is a rerun part (pointmaze, wall, pusht, pusht-ablations), read from DOCS/rerun-NAME (DOCS defaults to this
repository's docs/results, wherever the script is run from); DIR is any bench output directory (a path holding
summary.json, e.g. your own merged run). Baselines are older bench outputs (summary.json dirs; by default the
first study's, for a part name); a planner/horizon they hold is shown beside the rerun's open-loop/MPC cell of
the same label. Works on a partial run (counts say how many trials are in). Times are calibrated CPU seconds
when the run's budget was calibrated, else wall-clock planner seconds (the header says which)."""
import argparse
import csv
import json
import os
import sys

DEFAULT_BASELINES = {
    "pointmaze": ["pointmaze-full", "pointmaze-mpc"],
    "wall": ["wall-full", "wall-mpc"],
    "pusht": ["pusht-full", "pusht-mpc"],
    "pusht-ablations": ["pusht-ablation-full"],
}


def load(path):
    """A bench output's summary.json; a missing or unreadable one is a one-line error (exit 1)."""
    f = os.path.join(path, "summary.json")
    try:
        with open(f) as h:
            return json.load(h)
    except (OSError, ValueError) as e:  # ValueError: not JSON
        sys.exit(f"rerun-table: cannot read {f} ({e}); rerun its bench or merge")


def cell_text(c):
    if c is None:
        return "—"
    n, k = c["problems"], c["successes"]
    if not n or c.get("success_rate") is None:
        return "— (no trials yet)"
    s = f"{100 * c['success_rate']:.0f} [{100 * c['ci_low']:.0f}, {100 * c['ci_high']:.0f}] ({k}/{n})"
    t = c.get("median_time_to_success_cpu_s")
    if t is None:
        t = c.get("median_time_to_success_s")
    if k and t is not None:
        s += f" · {t:.2f} s"
    return s


def model_text(c):
    if c is None or c.get("model_success_rate") is None:
        return "—"
    return f"{100 * c['model_success_rate']:.0f} ({c.get('exploited', 0)})"


def by_problem(run_dir):
    """(planner, horizon) -> {problem index: success} from the run's trials.csv (empty if absent)."""
    out = {}
    path = os.path.join(run_dir, "trials.csv")
    if os.path.isfile(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                out.setdefault((r["planner"], int(r["horizon"])), {})[r["problem"]] = r["success"] == "true"
    return out


def swing(ol, mpc):
    """'+g −l': problems closed loop solves and open loop does not, and the reverse."""
    if not ol or not mpc:
        return "—"
    both = ol.keys() & mpc.keys()
    gained = sum(1 for k in both if mpc[k] and not ol[k])
    lost = sum(1 for k in both if ol[k] and not mpc[k])
    return f"+{gained} −{lost}"


def main(argv):
    ap = argparse.ArgumentParser(prog="rerun-table.py", description="The study rerun's table for one part.")
    repo_docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results")
    ap.add_argument("name", help="rerun part (pointmaze, wall, pusht, pusht-ablations) or a bench output directory")
    ap.add_argument("--baseline", action="append", metavar="DIR", help="an older bench output to show beside")
    ap.add_argument("--docs", default=os.path.normpath(repo_docs), metavar="DIR",
                    help="where rerun-<part> and the default baselines live (default: this repository's docs/results)")
    args = ap.parse_args(argv)
    name, docs, baselines = args.name, args.docs, args.baseline
    is_dir = os.sep in name or os.path.isfile(os.path.join(name, "summary.json"))
    run_dir = name if is_dir else os.path.join(docs, f"rerun-{name}")
    if not os.path.isfile(os.path.join(run_dir, "summary.json")):
        hint = ("is it a bench output directory?" if is_dir
                else "a part lands there when scripts/study-rerun.sh finishes it; or pass a run directory")
        print(f"rerun-table: no {run_dir}/summary.json ({hint})", file=sys.stderr)
        return 1
    if is_dir and baselines is None:
        baselines = []
    run = load(run_dir)
    cells = {(c["planner"], c["horizon"]): c for c in run["cells"]}
    per_problem = by_problem(run_dir)
    base = {}
    for b in baselines if baselines is not None else [os.path.join(docs, d) for d in DEFAULT_BASELINES.get(name, [])]:
        if os.path.isfile(os.path.join(b, "summary.json")):
            for c in load(b).get("cells", []):
                base[(c["planner"], c["horizon"])] = c
    planners = []
    for c in run["cells"]:
        p = c["planner"].removesuffix("+mpc")
        if p not in planners:
            planners.append(p)
    horizons = sorted({c["horizon"] for c in run["cells"]})
    calibrated = run.get("config", {}).get("budget", {}).get("equal_time_s") is not None
    unit = "calibrated CPU s" if calibrated else "wall-clock planner s"
    shard = run.get("shard")
    if shard:
        done = run["trials_done"] == shard["trials_expected"]
        progress = (f"shard {shard['shard']}: {run['trials_done']} of its {shard['trials_expected']} trials"
                    f"{'' if done else ' (partial)'}; merge the shards for the whole run")
    else:
        progress = f"{run['trials_done']} of {run['trials_expected']} trials{'' if run['complete'] else ' (partial)'}"
    print(f"{progress}. Success % [95 % Wilson] (successes/problems) · median "
          f"{unit} to success; under the model: % of final plans whose model rollout meets the success "
          "rule (in brackets: of those, failed in the simulator); MPC vs open loop: problems closed loop solves that open "
          "loop does not (+) and the reverse (−).\n")
    print("| H | planner | open loop | under the model | MPC | under the model (first plan) | MPC vs open loop "
          "| old model, open loop | old model, MPC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for h in horizons:
        for p in planners:
            ol, mpc = cells.get((p, h)), cells.get((p + "+mpc", h))
            if ol is None and mpc is None:
                continue
            b_ol, b_mpc = base.get((p, h)), base.get((p + "+mpc", h))
            print(f"| {h} | {p} | {cell_text(ol)} | {model_text(ol)} | {cell_text(mpc)} | {model_text(mpc)} "
                  f"| {swing(per_problem.get((p, h)), per_problem.get((p + '+mpc', h)))} "
                  f"| {cell_text(b_ol)} | {cell_text(b_mpc)} |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # `| head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
