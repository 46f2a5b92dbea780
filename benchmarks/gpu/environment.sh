# Sourced by run.sh and run_speed.sh: the repository root, $OUT, the log, and the carried wheels.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-benchmarks/results/gpu_run}
mkdir -p "$OUT"
exec > >(tee "$OUT/$1.log") 2>&1
export PYTHONUNBUFFERED=1 WANDB_MODE=disabled PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
if [ -d .whl ] && ! python3 -c "import jsonargparse, albumentations" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
SECONDS=0
