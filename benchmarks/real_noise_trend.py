"""How a real-noise row's test PSNR moves during one training run: ``benchmarks/real_noise.py``'s row
trained once on the Nam noisy images, a checkpoint kept every ``--every`` steps, each checkpoint scored
on the clean references afterwards (8-bit PSNR/SSIM, all test pairs). No clean image touches training;
the scores only show what a user who stops at that step would get.

    python benchmarks/real_noise_trend.py --row n2s_pd --steps 1500 --every 300 --patch 80
    python benchmarks/real_noise_trend.py --row n2s_pd --steps 1500 --every 300 --patch 80 \\
        --override model.init_args.lr_scheduler=null          # at a constant learning rate

A self-supervised run has no clean image to choose its checkpoint, so the last weights are what a user
gets: a curve that still climbs says the budget is short, one that swings says the last weights are a
draw. Records (one per run, with every checkpoint's scores) go to benchmarks/results/real_noise_trend.json.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import append_records, shared_data
from benchmarks.real_noise import TRAINED, base_record, checkpoint_scores, data_overrides, fit_row, option_pairs

STEP_IN_NAME = re.compile(r"trend-(?:step=)?(\d+)")


def checkpoint_steps(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's step checkpoints, in step order."""
    found = [(STEP_IN_NAME.search(path.name), path) for path in folder.glob("trend-*.ckpt")]
    return sorted((int(match.group(1)), path) for match, path in found if match)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", choices=list(TRAINED), required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=300, help="steps between scored checkpoints")
    parser.add_argument("--patch", type=int, help="training patch size (default: the experiment's)")
    parser.add_argument("--images", type=int, default=25, help="the first N of the 25 pairs")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="a train.py option (no leading dashes), as in benchmarks/real_noise.py")  # fmt: skip
    parser.add_argument("--out", default="real_noise_trend", help="results name under benchmarks/results/")
    args = parser.parse_args(argv)
    data_root = shared_data() / "Nam_real_noise"
    if not data_root.is_dir():
        sys.exit(f"no Nam pairs at {data_root}: see ../shared/data/README for where they come from")
    root = Path(f"runs/real_noise_trend_{args.row}")
    keep = ["--checkpoint.monitor", "null", "--checkpoint.every_n_train_steps", str(args.every),
            "--checkpoint.save_top_k", "-1", "--checkpoint.filename", "trend-{step:05d}",
            "--trainer.limit_val_batches", "0"]  # fmt: skip
    data = data_overrides(data_root, args.images)
    overrides = option_pairs(args.override)
    cli, _, train_seconds = fit_row(args.row, data, args.steps, args.patch, [*overrides, *keep], root)
    saved = checkpoint_steps(root / "checkpoints")
    if not saved:
        sys.exit(f"no step checkpoints in {root / 'checkpoints'}: --every ({args.every}) must be at most --steps")
    checkpoints = []
    for step, path in saved:
        results, _ = checkpoint_scores(cli, root, str(path))
        psnr, ssim = float(np.mean([r[1] for r in results])), float(np.mean([r[2] for r in results]))
        checkpoints.append({"step": step, "psnr": round(psnr, 3), "ssim": round(ssim, 4)})
        print(f"{args.row} step {step:5d}: PSNR {psnr:.2f} dB  SSIM {ssim:.4f}", flush=True)
    model, schedules = cli.model, cli.trainer.lr_scheduler_configs
    experiment, row_overrides = TRAINED[args.row]
    record = base_record(
        args.row, stage="trend", experiment=experiment, overrides=" ".join([*row_overrides, *overrides]),
        steps=cli.trainer.global_step, every=args.every, images=len(results), patch=cli.datamodule.patch_size,
        batch=cli.datamodule.batch_size, pd_stride=getattr(model, "pd_stride", 1),
        pd_stride_inference=getattr(model, "pd_stride_inference", 1),
        lr_schedule=type(schedules[0].scheduler).__name__ if schedules else "constant",
        train_seconds=round(train_seconds, 1), checkpoints=checkpoints,
    )  # fmt: skip
    append_records(args.out, [record])
    return record


if __name__ == "__main__":
    main()
