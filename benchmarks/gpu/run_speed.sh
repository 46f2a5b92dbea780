#!/usr/bin/env bash
# The second, shorter GPU run: training throughput (train.py vs the plain loop, and train.py with
# Lightning's per-batch progress bar instead of its own clocked one; 3 rounds), a profile
# of both step loops, and the R2R recipe again. Same preparation as run.sh (benchmarks/gpu/prepare.sh).
source "$(dirname "$0")/environment.sh" run_speed
timeout 180 python3 -m benchmarks.throughput --device cuda --batch 128 --patch 40 --steps 200 --warmup 15 \
  --repeats 3 --precision bf16-mixed --channels-last --compile --images data/Train400 \
  --variants plain,train_py,train_py_lightning_bar \
  --output "$OUT/gpu_throughput.json"
echo "== throughput done at ${SECONDS}s"
timeout 80 python3 -m benchmarks.gpu.step_profile --images data/Train400 --output "$OUT/gpu_step_profile.txt"
echo "== profile done at ${SECONDS}s"
timeout 150 python3 -m benchmarks.gpu.recipes --recipe r2r --seconds 100 --output "$OUT/gpu_recipes.json"
echo "== r2r done at ${SECONDS}s"
