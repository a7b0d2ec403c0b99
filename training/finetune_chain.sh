#!/bin/bash
# Give shipped rate points their own steps from the current default's exported weights, one
# after the other, each exported when it finishes. Detached, nice'd, 1 thread, resumable
# (re-running continues unfinished runs from <run>/last.pt, then re-exports):
#   nohup setsid training/finetune_chain.sh <steps> <lambda>:<gain>... > training/runs/chain.log 2>&1 &
# <gain> is the latent gain for the warm start (a number, or auto).
set -e
cd "$(dirname "$0")/.."
. training/env.sh
steps="$1"; shift
base=resources/models/sgai-msh-c64-l0067.safetensors
snap=training/runs/chain-base.safetensors
mkdir -p training/runs
# Freeze the base (a new default may be exported meanwhile), with its card: the lineage reads it.
[ -e "$snap" ] || { cp "$base" "$snap"; cp "${base%.safetensors}.json" "${snap%.safetensors}.json"; }
for spec in "$@"; do
  l="${spec%%:*}"; gain="${spec#*:}"
  tag=$(printf "%05.0f" "$(echo "$l * 10000" | bc -l)"); tag="l${tag:1}"
  run="training/runs/c64-$tag-own"
  nice -n 10 "$SGAI_PYTHON" -m sgai_train.train --run "$run" --lmbda "$l" --steps "$steps" \
    --init-from "$snap" --latent-gain "$gain" --lr 3e-4 --warmup 100 --schedule cosine --lr-floor 0.05 \
    --compile --seed 12 --threads 1 --ckpt-minutes 5
  nice -n 10 "$SGAI_PYTHON" -m sgai_train.export --ckpt "$run/last.pt" --threads 1 \
    --out "resources/models/sgai-msh-c64-$tag.safetensors" \
    --history "Warm start from sgai-msh-c64-l0067 (retrained default, 9,500 steps) with latent gain $gain; $steps own steps at lambda $l with PyPI torch + torch.compile, 1 thread, Adam lr 3e-4, 100 warm-up steps, cosine decay to 1.5e-5 (seed 12), the validation split held out."
done
echo "chain done"
