#!/usr/bin/env bash
# One prepared run on a machine with one NVIDIA GPU (an H200 here), under 9 minutes all told:
# every method for a few steps, training throughput (train.py vs a plain loop vs the per-sample
# path), then the R2R and N2V BSD68 recipes for as many steps as fit. Results go to $OUT
# (default benchmarks/results/gpu_run) as gpu_smoke.json, gpu_throughput.json, gpu_recipes.json.
#
# Before, here: bash benchmarks/gpu/prepare.sh (fills the git-ignored data/ and .whl/, which the
# device run carries).
# Quick end-to-end check on a CPU: QUICK=1 bash benchmarks/gpu/run.sh
source "$(dirname "$0")/environment.sh" run
nvidia-smi -L 2>/dev/null || echo "no NVIDIA GPU: CPU run"
if [ "${QUICK:-0}" = 1 ]; then
  SMOKE="--steps 1"; TP="--device cpu --batch 16 --steps 3 --warmup 2 --repeats 1 --workers 2"
  RECIPE="--seconds 10 --measure 2,3 --test-images 1 --mc-samples 2"; LIMITS=(300 300 300)
else
  SMOKE="--steps 3"; TP="--device cuda --batch 128 --patch 40 --steps 200 --warmup 15 --repeats 2 --workers 4"
  TP="$TP --precision bf16-mixed --channels-last --compile"; RECIPE="--seconds 85"; LIMITS=(80 150 160)
fi
timeout ${LIMITS[0]} python3 -m benchmarks.gpu.smoke --root data $SMOKE --output "$OUT/gpu_smoke.json"
echo "== smoke done at ${SECONDS}s"
timeout ${LIMITS[1]} python3 -m benchmarks.throughput $TP --images data/Train400 --output "$OUT/gpu_throughput.json"
echo "== throughput done at ${SECONDS}s"
for recipe in r2r n2v; do
  timeout ${LIMITS[2]} python3 -m benchmarks.gpu.recipes --recipe $recipe $RECIPE --output "$OUT/gpu_recipes.json"
  echo "== $recipe done at ${SECONDS}s"
done
