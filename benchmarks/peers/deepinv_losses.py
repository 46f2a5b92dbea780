"""DeepInverse's self-supervised losses, run in DeepInverse's own environment on the suite's inputs.

    /work/peers/deepinv/bin/python benchmarks/peers/deepinv_losses.py inputs.npz outputs.npz \\
        --method r2r --steps 200 --batch 16 --patch 48 --samples 8
    /work/peers/deepinv/bin/python benchmarks/peers/deepinv_losses.py inputs.npz outputs.npz \\
        --method ne2ne --steps 200 --batch 16 --patch 48

``r2r``: DeepInverse's ``R2RLoss`` (Gaussian corruptor) and its ``adapt_model`` wrapper (one
recorruption per training step, the mean of ``--samples`` recorrupted passes in eval mode), with its
``DnCNN`` (17 layers, 64 channels, residual, no batch normalisation; this project's DnCNN-17 keeps the
batch normalisation of the R2R paper's code). DeepInverse writes the recorruption as
y + sqrt(a / (1 - a)) w, so the paper's alpha = 0.5 is a = 0.2. Adam at lr 1e-3 as the project's R2R row.

``ne2ne``: DeepInverse's ``Neighbor2Neighbor`` loss (random neighbour sub-sampler, regulariser weight
gamma = 2, held fixed: the paper ramps it from 0 over the epochs, DeepInverse has no ramp, and the
suite's row holds it at 2 as well), with its ``UNet`` set to the shape of ``ne2ne_bsd68.yaml``'s U-Net
(the paper's: five scales, 48 channels doubling per scale, no batch normalisation, non-residual; the
suite's row trains its shared standardised U-Net instead) and Adam at lr 3e-4 as the paper (the suite's
row: 1e-3; ``--lr`` sets another, as the suite variant ``deepinv_ne2ne_lr_1e-3`` does). Inference: one pass.

Both train in a plain loop (DeepInverse's ``Trainer`` adds its own logging and checkpointing per epoch;
the losses and models are the library's). Imports numpy, torch and deepinv only.
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


def r2r_setup(deepinv, args, sigma: float):
    """(model, loss, physics, lr, meta): DeepInverse's R2R on its DnCNN-17."""
    noise = deepinv.physics.GaussianNoise(sigma=sigma)
    physics = deepinv.physics.Denoising(noise_model=noise)
    loss = deepinv.loss.R2RLoss(noise_model=noise, alpha=0.2, eval_n_samples=args.samples)
    model = loss.adapt_model(deepinv.models.DnCNN(in_channels=1, out_channels=1, depth=17, pretrained=None))
    meta = {"method": "R2R (R2RLoss, Gaussian, a=0.2 = paper alpha 0.5)",
            "network": "deepinv DnCNN depth 17, 64 channels, no batch norm",
            "inference": f"mean of {args.samples} recorruptions"}  # fmt: skip
    return model, loss, physics, 1e-3, meta


def ne2ne_setup(deepinv, args, sigma: float):
    """(model, loss, physics, lr, meta): DeepInverse's Neighbor2Neighbor on its 4-scale U-Net."""
    physics = deepinv.physics.Denoising(noise_model=deepinv.physics.GaussianNoise(sigma=sigma))
    loss = deepinv.loss.Neighbor2Neighbor(gamma=2.0)
    widths = [48 * 2**level for level in range(5)]  # the project's row: UNet depth 4 (four poolings), width 48
    network = deepinv.models.UNet(in_channels=1, out_channels=1, scales=5, channels_per_scale=widths,
                                  batch_norm=False, residual=False)  # fmt: skip
    model = deepinv.models.ArtifactRemoval(network)  # the denoiser applied to y itself
    meta = {"method": "Neighbor2Neighbor (gamma 2, fixed; no ramp in DeepInverse)",
            "network": "deepinv UNet 5 scales, 48-768 channels, no batch norm, non-residual",
            "inference": "single pass"}  # fmt: skip
    return model, loss, physics, 3e-4, meta


METHODS = {"r2r": r2r_setup, "ne2ne": ne2ne_setup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--method", choices=list(METHODS), default="r2r")
    for name, default in (("steps", 200), ("batch", 16), ("patch", 48), ("samples", 4), ("seed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--lr", type=float, help="Adam's learning rate (default: the method's, above)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    import deepinv

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train, tests, sigma = read_inputs(args.inputs)
    model, loss, physics, lr, method_meta = METHODS[args.method](deepinv, args, sigma)
    lr = args.lr or lr
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    model.train()
    started = time.perf_counter()
    for _ in range(args.steps):
        y = torch.from_numpy(random_patches(train, args.batch, args.patch, rng))[:, None]
        if args.method == "r2r":  # the adapted model recorrupts y; the loss compares with y
            value = loss(x_net=model(y, physics, update_parameters=True), y=y, physics=physics, model=model)
        else:  # the loss sub-samples y and runs the model on the sub-images itself
            value = loss(y=y, physics=physics, model=model)
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
        "library": "deepinv", "version": deepinv.__version__, "torch": torch.__version__, **method_meta,
        "steps": args.steps, "batch": args.batch, "patch": args.patch, "learning_rate": lr,
        "train_seconds": round(train_seconds, 1),
        "inference_seconds_per_image": round((time.perf_counter() - started) / len(tests), 2),
        "final_loss": float(value.detach()),
    }  # fmt: skip
    write_outputs(args.outputs, denoised, meta)


if __name__ == "__main__":
    main()
