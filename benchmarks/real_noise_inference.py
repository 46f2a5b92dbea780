"""Inference choices on one trained real-noise model: the weights of a ``benchmarks/real_noise.py`` row
(its run folder's last checkpoint and saved config) tested on the Nam pairs with the inference changed:
the PD stride at inference, Noise2Self's J-invariant (blind) reconstruction, AP-BSN's random-replacing
refinement R3 (which needs a blind inference), and the geometric self-ensemble. Training is not
repeated, so every variant scores the same weights.

    python benchmarks/real_noise.py --steps 1500 --patch 80 --skip-estimation --rows n2s_pd ...
    python benchmarks/real_noise_inference.py runs/real_noise_n2s_pd --variants pd1 pd2 pd3 pd5
    python benchmarks/real_noise_inference.py runs/real_noise_n2s_pd --images 5 --variants pd2 pd2_blind pd2_blind_r3

A blind inference costs ``mask_width``^2 passes (16 for Noise2Self's grid), R3 another ``r3_passes``
of those; ``--images N`` tests the first N pairs only. Records (one per variant, per image scores and the
checkpoint's training command) go to benchmarks/results/real_noise_inference.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import yaml

from benchmarks.common import append_records, shared_data
from benchmarks.real_noise import data_overrides, per_image_record, read_test_results

ARG = "--model.init_args."
# name: (what it is, train.py test overrides)
VARIANTS = {
    "pd1": ("no PD at inference", [ARG + "pd_stride_inference", "1"]),
    "pd2": ("PD stride 2 at inference (AP-BSN)", [ARG + "pd_stride_inference", "2"]),
    "pd3": ("PD stride 3 at inference", [ARG + "pd_stride_inference", "3"]),
    "pd5": ("PD stride 5 at inference (the training stride: symmetric PD)", [ARG + "pd_stride_inference", "5"]),
    "pd2_blind": ("PD stride 2, J-invariant (blind) reconstruction",
                  [ARG + "pd_stride_inference", "2", ARG + "inference", "j_invariant"]),
    "pd2_blind_r3": ("PD stride 2, blind, R3 (T=8, p=0.16: AP-BSN)",
                     [ARG + "pd_stride_inference", "2", ARG + "inference", "j_invariant", ARG + "r3_passes", "8"]),
    "pd1_blind": ("no PD, J-invariant (blind) reconstruction",
                  [ARG + "pd_stride_inference", "1", ARG + "inference", "j_invariant"]),
    "pd1_x8": ("no PD, mean over the 8 rotations and flips (self_ensemble)",
               [ARG + "pd_stride_inference", "1", ARG + "self_ensemble", "true"]),
}  # fmt: skip


def trained_with(run: Path) -> dict:
    """What the run's checkpoint was trained with, from the config the run saved."""
    config = yaml.safe_load((run / "checkpoints" / "config.yaml").read_text())
    model, data = config["model"], config["data"]["init_args"]
    return {"trained_steps": config["trainer"]["max_steps"], "pd_stride": model["init_args"].get("pd_stride", 1),
            "training_patch": data["patch_size"], "method": model["class_path"]}  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    from cli import main as cli_main

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a real_noise.py run folder (runs/real_noise_<row>)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["pd1", "pd2", "pd3", "pd5"])
    parser.add_argument("--images", type=int, default=25, help="the first N of the 25 pairs")
    parser.add_argument("--checkpoint", default="last.ckpt", help="file in the run's checkpoints/ folder")
    parser.add_argument("--out", default="real_noise_inference", help="results name under benchmarks/results/")
    args = parser.parse_args(argv)
    checkpoint = args.run / "checkpoints" / args.checkpoint
    if not checkpoint.is_file():
        sys.exit(f"no checkpoint at {checkpoint}: train the row first with benchmarks/real_noise.py")
    data_root = shared_data() / "Nam_real_noise"
    trained = trained_with(args.run)
    records = []
    for name in args.variants:
        what, overrides = VARIANTS[name]
        root = args.run / "inference" / name  # inside the run: runs of other models never share it
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        cli_main(["test", "-c", str(args.run / "checkpoints" / "config.yaml"), "--ckpt_path", str(checkpoint),
                  *data_overrides(data_root, args.images), *overrides, "--trainer.default_root_dir", str(root),
                  "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"])  # fmt: skip
        seconds = time.perf_counter() - started
        results = read_test_results(root)
        record = per_image_record(
            f"{args.run.name.removeprefix('real_noise_')}:{name}", results, seconds,
            stage="inference", variant=name, what=what, overrides=" ".join(overrides), run=str(args.run),
            **trained, inference_seconds_per_image=round(seconds / len(results), 2),
        )  # fmt: skip
        records.append(record)
        append_records(args.out, [record])
    return records


if __name__ == "__main__":
    main()
