#!/bin/bash
# This session's compact-family plan (CPU, 1 thread): finish the λ=0.0067 base
# run (lr drop for the last steps), export it, then fine-tune the other rates
# from it. Resumable: every stage resumes from its run's last.pt.
set -e
cd "$(dirname "$0")/.."
. training/env.sh
base_steps="${BASE_STEPS:-5000}"; cool="${COOL_STEPS:-150}"; ft="${FT_STEPS:-200}"
nice -n 10 "$SGAI_PYTHON" -m sgai_train.train --run training/runs/c64-l0067 \
  --steps "$base_steps" --lr-drop-at $((base_steps - cool)) --threads 1
nice -n 10 "$SGAI_PYTHON" -m sgai_train.export --ckpt training/runs/c64-l0067/last.pt \
  --out resources/models/sgai-msh-c64-l0067.safetensors
training/finetune_lambdas.sh c64 64 96 training/runs/c64-l0067/last.pt "$ft" 0.0018 0.025 0.0932 0.013
