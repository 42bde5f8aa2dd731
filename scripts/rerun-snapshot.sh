#!/bin/sh
# Copies what a resumed study rerun needs (scripts/study-rerun.sh) from $R (runs/rerun) into
# docs/results/rerun-partial, for the parts that have not landed in docs/results/rerun-<part> yet: each stage's
# run.json and trials.csv (enough for --resume), its tuned.json, and the calibrated budget.json. Plots and
# summaries are left out (they are rebuilt on resume). On a fresh machine:
#
#   mkdir -p runs/rerun && cp -r docs/results/rerun-partial/. runs/rerun/
#   scripts/study-rerun.sh <the parts not in docs/results yet>
set -eu
cd "$(dirname "$0")/.."
R=${R:-runs/rerun}
OUT=${OUT:-docs/results/rerun-partial}
[ -d "$R" ] || { echo "rerun-snapshot: no $R (nothing to snapshot)" >&2; exit 1; }
tmp="$OUT.tmp"
rm -rf "$tmp"; mkdir -p "$tmp"
copy() { # dir under $R
  [ -d "$R/$1" ] || return 0
  mkdir -p "$tmp/$1"
  for f in run.json tuned.json budget.json; do
    [ -f "$R/$1/$f" ] && cp "$R/$1/$f" "$tmp/$1/"
  done
  t="$R/$1/trials.csv"  # a run may be writing it: keep whole lines only
  if [ -f "$t" ]; then
    if [ -n "$(tail -c1 "$t")" ]; then sed '$d' "$t" > "$tmp/$1/trials.csv"; else cp "$t" "$tmp/$1/"; fi
  fi
  return 0
}
for part in pointmaze wall pusht pusht-ablations; do
  [ -f "docs/results/rerun-$part/summary.json" ] && continue
  e=${part%-ablations}
  copy "$e-tune"; copy "$e-mpc-tune"; copy "$part-calib"
  copy "$part/shard-0"; copy "$part/shard-1"
done
rm -rf "$OUT"; mv "$tmp" "$OUT"
echo "rerun-snapshot: $(find "$OUT" -name trials.csv | wc -l) stages in $OUT"
