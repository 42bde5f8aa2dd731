#!/bin/sh
# Shipped ensembles for issue 17: member 0 = the shipped model; 4 more members at half the samples and a third of the epochs of the default.
# ENVS="wall" limits it to some envs (e.g. after shipping a new model for one). The planners calibrate and check
# with the first study's tuned settings (docs/results/<env>-tune/tuned.json), which shipped when these were built.
cd "$(dirname "$0")/.."
B=${B:-target/release/grasp-explorer}
O=${OUT:-runs/ens}; mkdir -p $O
for env in ${ENVS:-wall pointmaze pusht}; do
  f=$O/$env-ensemble.safetensors
  [ -f $f ] || /usr/bin/time -v $B train --env $env --ensemble 5 --designated-model assets/models/$env.safetensors \
      --samples 200000 --epochs 20 --out $f > $O/$env.train.log 2>&1
  [ -f $O/$env.trust.json ] || $B model trust --env $env --model $f --problems 10 --tuned docs/results/$env-tune/tuned.json --write $O/$env.trust.json > $O/$env.trust.log 2>&1
done
for env in ${ENVS:-wall pointmaze pusht}; do
  t=$(python3 -c "import json;print(json.load(open('$O/$env.trust.json'))['threshold'])")
  [ -f $O/$env.check.json ] || $B model trust --env $env --model $O/$env-ensemble.safetensors --problems 10 --tuned docs/results/$env-tune/tuned.json --check $t --write $O/$env.check.json > $O/$env.check.log 2>&1
done
echo ALLDONE >> $O/done
