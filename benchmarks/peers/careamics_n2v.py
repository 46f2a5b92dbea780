"""CAREamics' Noise2Void, run in CAREamics' own environment on the suite's inputs.

    /work/peers/careamics/bin/python benchmarks/peers/careamics_n2v.py inputs.npz outputs.npz \\
        --steps 200 --batch 16 --patch 48

``create_advanced_n2v_config`` with this project's Noise2Void network (U-Net depth 2, 96 first-layer
channels, batch normalisation), Adam lr 4e-4, x/y flips and 90-degree rotations, ``--masked-percentage``
percent of the pixels masked (CAREamics' default 0.2; the suite passes its row's 1.5), CAREamics' default
masking (uniform replacement from an 11x11 window; ours: 5x5) and its mean/std normalisation; training
stops after ``--steps`` optimizer steps (Lightning's ``max_steps``), with CAREamics' own validation
patches split off the training images. Prediction is CAREamics' ``predict`` on each whole test image,
reflect-padded to a multiple of 4 (its U-Net refuses other sizes unless tiled) and cropped back. Imports
numpy, torch and careamics only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import read_inputs, write_outputs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("outputs", type=Path)
    for name, default in (("steps", 200), ("batch", 16), ("patch", 48), ("seed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--masked-percentage", type=float, default=0.2, help="percent of the pixels masked")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    import careamics
    from careamics import CAREamist
    from careamics.config import create_advanced_n2v_config

    torch.set_num_threads(args.threads)
    train, tests, _sigma = read_inputs(args.inputs)
    config = create_advanced_n2v_config(
        experiment_name="suite_peer", data_type="array", axes="SYX", patch_size=[args.patch, args.patch],
        batch_size=args.batch, num_epochs=10_000, augmentations=["x_flip", "y_flip", "rotate_90"],
        masked_pixel_percentage=args.masked_percentage, num_workers=0, seed=args.seed + 1,  # CAREamics wants a seed > 0
        model_params={"depth": 2, "num_channels_init": 96, "use_batch_norm": True},
        optimizer="Adam", optimizer_params={"lr": 4e-4},
        trainer_params={"max_steps": args.steps, "enable_model_summary": False},
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        engine = CAREamist(config, work_dir=work, enable_progress_bar=False)
        started = time.perf_counter()
        engine.train(train_data=train)
        train_seconds = time.perf_counter() - started
        steps = int(engine.trainer.global_step)
        denoised, started = [], time.perf_counter()
        for noisy in tests:  # reflect-padded to a multiple of 4 (its U-Net's two poolings), then cropped back
            height, width = noisy.shape
            padded = np.pad(noisy, ((0, -height % 4), (0, -width % 4)), mode="reflect")
            prediction, _ = engine.predict(padded, axes="YX", data_type="array")
            denoised.append(np.squeeze(np.asarray(prediction[0]))[:height, :width])
        inference_seconds = (time.perf_counter() - started) / len(tests)
    meta = {
        "library": "careamics", "version": careamics.__version__, "torch": torch.__version__,
        "method": f"Noise2Void (create_advanced_n2v_config, {args.masked_percentage}% masked, 11x11 uniform "
        "replacement)",
        "network": "careamics UNet depth 2, 96 channels, batch norm", "steps": steps,
        "batch": args.batch, "patch": args.patch, "inference": "single (CAREamist.predict, whole image)",
        "train_seconds": round(train_seconds, 1), "inference_seconds_per_image": round(inference_seconds, 2),
    }  # fmt: skip
    write_outputs(args.outputs, denoised, meta)


if __name__ == "__main__":
    main()
