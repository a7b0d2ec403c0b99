#!/bin/bash
# Schedule comparison at CPU scale: the same warm start (the shipped compact λ=0.0067 weights),
# the same number of compiled 1-thread steps (so about the same wall time), three lr schedules;
# each result is exported and measured on the validation split with the TypeScript codec.
#   training/schedule_compare.sh [steps]      (results: training/runs/sched-*/validate.json)
set -e
cd "$(dirname "$0")/.."
. training/env.sh
steps="${1:-700}"
base=resources/models/sgai-msh-c64-l0067.safetensors
common=(--n 64 --m 96 --lmbda 0.0067 --init-from "$base" --steps "$steps" --compile --threads 1 --seed 5 --ckpt-minutes 60)
declare -A cfg=(
  [const1e-4]="--lr 1e-4 --schedule step --lr-drop-at 100000000"
  [cos3e-4]="--lr 3e-4 --warmup 100 --schedule cosine --lr-floor 0.05"
  [cos1e-3]="--lr 1e-3 --warmup 100 --schedule cosine --lr-floor 0.05"
)
for name in const1e-4 cos3e-4 cos1e-3; do
  run="training/runs/sched-$name"
  if [ ! -f "$run/validate.json" ]; then
    rm -rf "$run"
    t0=$(date +%s)
    nice -n 5 "$SGAI_PYTHON" -m sgai_train.train --run "$run" "${common[@]}" ${cfg[$name]} > "$run.log" 2>&1
    echo "$name: $steps steps in $(( $(date +%s) - t0 )) s wall" | tee -a training/runs/sched-summary.txt
    nice -n 5 "$SGAI_PYTHON" -c "from sgai_train.export import export; export('$run/last.pt', '$run/sched-$name.safetensors', model_id='sched-$name', dtype='F16', registry=False, kodak_limit=1)" > /dev/null
    nice -n 5 npx tsx bench/validate.ts --model "$run/sched-$name.safetensors" --json "$run/validate.json" | tee -a training/runs/sched-summary.txt
  fi
done
