#!/bin/sh
# Issue 13's candidate world models (docs/models.md "Models planners cannot exploit"): trains or fine-tunes
# each candidate, then measures it with the same `model eval` as the table (20 held-out episodes, the
# planner-visited gap on 10 tuning problems, planned with the first study's tuned settings,
# docs/results/<env>-tune/tuned.json, which shipped when the table was measured). Resumable: a candidate whose model or eval file exists is
# skipped. Fine-tunes start from the v1 models (assets/models/<env>-v1.safetensors where a newer model ships).
# Ensembles (`*-ens*`) are also calibrated (`model trust`, $OUT/<name>.trust.json). Arguments: candidate names (default: all, in order). Output: $OUT/<name>.safetensors,
# $OUT/<name>.eval.json, $OUT/<name>.log (with /usr/bin/time's CPU figures when available).
B=${B:-target/release/grasp-explorer}
OUT=${OUT:-runs/models}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
T=""; [ -x /usr/bin/time ] && T="/usr/bin/time -v"
cmd() { # name -> the training command (without --out)
  case $1 in
    *-v1) echo "(the v1 model, as shipped before issue 13)" ;;
    wall-online-grasp) echo "finetune --env wall --model assets/models/wall-v1.safetensors --planner grasp --iters 300 --goals problems --horizon 50 --rounds 10 --problems 100 --epochs 3 --old-frac 0.8 --old-samples 200000" ;;
    wall-online-gd) echo "finetune --env wall --model assets/models/wall-v1.safetensors --planner gd --iters 300 --goals problems --horizon 50 --rounds 10 --problems 100 --epochs 3 --old-frac 0.8 --old-samples 200000" ;;
    wall-online-tuned) echo "finetune --env wall --model assets/models/wall-v1.safetensors --planner grasp --tuned docs/results/wall-tune/tuned.json --iters 1000 --goals problems --horizon 100 --rounds 10 --problems 50 --epochs 3 --old-frac 0.8 --old-samples 200000" ;;
    wall-online-tuned-gd) echo "finetune --env wall --model assets/models/wall-v1.safetensors --planner gd --tuned docs/results/wall-tune/tuned.json --iters 1000 --goals problems --horizon 100 --rounds 10 --problems 50 --epochs 3 --old-frac 0.8 --old-samples 200000" ;;
    wall-ens5) echo "train --env wall --ensemble 5 --samples 200000 --epochs 30" ;;
    pointmaze-ens5) echo "train --env pointmaze --ensemble 5 --samples 200000 --epochs 30" ;;
    wall-3x256) echo "train --env wall --hidden 256,256,256" ;;
    wall-2x512) echo "train --env wall --hidden 512,512" ;;
    wall-3x512) echo "train --env wall --hidden 512,512,512" ;;
    pusht-3x256) echo "train --env pusht --hidden 256,256,256" ;;
    pusht-2x512) echo "train --env pusht --hidden 512,512" ;;
    pointmaze-adv) echo "train --env pointmaze --adversarial 0.05,0.02" ;;
    pointmaze-ms5) echo "train --env pointmaze --rollout-steps 5 --epochs 12" ;;
    wall-adv) echo "train --env wall --adversarial 0.05,0.02" ;;
    wall-ms5) echo "train --env wall --rollout-steps 5 --epochs 12" ;;
    pusht-ms5w) echo "train --env pusht --rollout-steps 5 --rollout-weight 0.2 --epochs 12" ;;
    pusht-ms5) echo "train --env pusht --rollout-steps 5 --epochs 12" ;;
    pusht-online-grasp) echo "finetune --env pusht --model assets/models/pusht-v1.safetensors --planner grasp --iters 300 --goals problems --horizon 25 --rounds 10 --problems 100 --epochs 3 --old-frac 0.9 --old-samples 400000" ;;
    pointmaze-online-grasp) echo "finetune --env pointmaze --planner grasp --iters 300 --goals problems --horizon 50 --rounds 10 --problems 100 --epochs 3 --old-frac 0.8 --old-samples 200000" ;;
    *) return 1 ;;
  esac
}
[ $# -gt 0 ] || set -- wall-v1 wall-online-grasp wall-online-gd pusht-ms5 wall-3x256 wall-adv wall-ms5 pointmaze-online-grasp pusht-online-grasp
for n in "$@"; do cmd "$n" >/dev/null || { echo "model-candidates: unknown candidate '$n'" >&2; exit 2; }; done
for n in "$@"; do
  env=${n%%-*}
  if [ ! -f "$OUT/$n.safetensors" ] && [ "${n%-v1}" != "$n" ]; then
    v1=assets/models/$env-v1.safetensors; [ -f "$v1" ] || v1=assets/models/$env.safetensors
    cp "$v1" "$OUT/$n.safetensors"
  elif [ ! -f "$OUT/$n.safetensors" ]; then
    echo "== $n: $(cmd $n)" >> "$OUT/$n.log"
    $T $B $(cmd $n) --out "$OUT/$n.safetensors" >> "$OUT/$n.log" 2>&1 || { echo "model-candidates: $n failed (see $OUT/$n.log)" >&2; continue; }
  fi
  if [ ! -f "$OUT/$n.eval.json" ]; then
    $B model eval --env $env --model "$OUT/$n.safetensors" --episodes 20 --gap-problems 10 \
      --gap-tuned docs/results/$env-tune/tuned.json --json > "$OUT/$n.eval.tmp" 2>> "$OUT/$n.log" \
      && mv "$OUT/$n.eval.tmp" "$OUT/$n.eval.json"
  fi
  case $n in *-ens*)
    [ -f "$OUT/$n.trust.json" ] || $B model trust --env $env --model "$OUT/$n.safetensors" --problems 10 \
      --tuned docs/results/$env-tune/tuned.json --write "$OUT/$n.trust.json" >> "$OUT/$n.log" 2>&1 ;;
  esac
done
