#!/usr/bin/env python3
"""Medians per variant of a grasp-study runs.jsonl (scripts/grasp-study.sh): terminal distance under the
model, final per-step residual, simulator distance and successes, planner time."""
import json
import statistics
import sys


def main(path):
    rows = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r["variant"] not in rows:
                order.append(r["variant"])
            rows.setdefault(r["variant"], []).append(r)
    print("| variant | flags | problems | iterations | median model ‖s_T − g‖ | median final residual "
          "| median sim distance | sim successes | median planner s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for v in order:
        rs = rows[v]
        def med(k):
            vals = [r[k] for r in rs if r.get(k) is not None]
            return statistics.median(vals) if vals else float("nan")

        print(f"| {v} | `{rs[0]['flags'] or 'defaults'}` | {len(rs)} | {rs[0]['iterations']} "
              f"| {med('model_terminal_error'):.3f} | {med('median_residual'):.3f} "
              f"| {med('final_distance'):.1f} | {sum(r['success'] for r in rs)}/{len(rs)} "
              f"| {med('planning_time_s'):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
