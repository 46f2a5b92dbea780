"""DeepInverse's Recorrupted-to-Recorrupted, run in DeepInverse's own environment on the suite's inputs.

    /work/peers/deepinv/bin/python benchmarks/peers/deepinv_r2r.py inputs.npz outputs.npz \\
        --steps 200 --batch 16 --patch 48 --samples 4

DeepInverse's ``R2RLoss`` (Gaussian corruptor) and its ``adapt_model`` wrapper (one recorruption per
training step, the mean of ``eval_n_samples`` recorrupted passes in eval mode), with its ``DnCNN``
(17 layers, 64 channels, residual, no batch normalisation; this project's DnCNN-17 keeps the batch
normalisation of the R2R paper's code). DeepInverse writes the recorruption as y + sqrt(a / (1 - a)) w,
so the paper's alpha = 0.5 is a = 0.2. Adam at lr 1e-3 as in the project's R2R row, in a plain loop
(DeepInverse's ``Trainer`` adds its own logging and checkpointing per epoch; the loss and model are the
library's). Imports numpy, torch and deepinv only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange import random_patches, read_inputs, write_outputs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("outputs", type=Path)
    for name, default in (("steps", 200), ("batch", 16), ("patch", 48), ("samples", 4), ("seed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    import deepinv

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train, tests, sigma = read_inputs(args.inputs)
    noise = deepinv.physics.GaussianNoise(sigma=sigma)
    physics = deepinv.physics.Denoising(noise_model=noise)
    loss = deepinv.loss.R2RLoss(noise_model=noise, alpha=0.2, eval_n_samples=args.samples)
    network = deepinv.models.DnCNN(in_channels=1, out_channels=1, depth=17, pretrained=None)
    model = loss.adapt_model(network)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    model.train()
    started = time.perf_counter()
    for _ in range(args.steps):
        y = torch.from_numpy(random_patches(train, args.batch, args.patch, rng))[:, None]
        x_net = model(y, physics, update_parameters=True)
        value = loss(x_net=x_net, y=y, physics=physics, model=model)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    train_seconds = time.perf_counter() - started

    model.eval()
    denoised, started = [], time.perf_counter()
    with torch.no_grad():
        for noisy in tests:
            denoised.append(model(torch.from_numpy(noisy)[None, None], physics)[0, 0].numpy())
    meta = {
        "library": "deepinv", "version": deepinv.__version__, "torch": torch.__version__,
        "method": "R2R (R2RLoss, Gaussian, a=0.2 = paper alpha 0.5)",
        "network": "deepinv DnCNN depth 17, 64 channels, no batch norm", "steps": args.steps,
        "batch": args.batch, "patch": args.patch, "inference": f"mean of {args.samples} recorruptions",
        "train_seconds": round(train_seconds, 1),
        "inference_seconds_per_image": round((time.perf_counter() - started) / len(tests), 2),
        "final_loss": float(value.detach()),
    }  # fmt: skip
    write_outputs(args.outputs, denoised, meta)


if __name__ == "__main__":
    main()
