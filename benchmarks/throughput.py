"""Training throughput: ``train.py fit`` against a plain PyTorch loop, and the two batch paths.

Variants, taking turns in one run (``--repeats`` rounds), each timed over its steps after
``--warmup`` steps (compilation, cuDNN autotuning):
- ``plain``: a hand-written loop (Adam, Noise2Noise's L2 loss) on device-made batches, with the same
  network, batch, precision, memory format and compilation as the train.py run;
- ``train_py``: ``train.py fit`` (the project's CLI: Noise2Noise, checkpoints, progress bar) with
  ``data.batches_on_device``;
- ``train_py_per_sample``: the same with the per-sample DataLoader path and ``--workers`` workers (never
  compiled: its data loader is what limits it);
- ``train_py_no_bar`` / ``train_py_lightning_bar``: ``train_py`` without a progress bar / with Lightning's
  own bar, which redraws after every batch (train.py's redraws on a clock);
- ``data_device`` / ``data_per_sample``: samples/s of the two batch paths alone, no training.

    python -m benchmarks.throughput --device cpu --network unet --steps 30 --repeats 3
    python -m benchmarks.throughput --device cuda --network dncnn --batch 128 --patch 40 --precision bf16-mixed \
        --channels-last --compile
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytorch_lightning as pl
import torch

from benchmarks.common import append_records, commit, device_name

# set by benchmarks.gpu.step_profile: a context manager factory wrapped around the timed steps
PROFILE_WINDOW = None

NETWORKS = {
    "dncnn": ("networks.DnCNN", {"depth": 17, "width": 64, "residual": True}),
    "unet": ("networks.UNet", {"depth": 2, "width": 96, "batch_norm": True}),
    # next to no arithmetic: the per-step time is the loop's own cost (what a fast GPU step waits on)
    "tiny": ("networks.DnCNN", {"depth": 3, "width": 8, "residual": True}),
}


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class StepTimer(pl.Callback):
    """Wall time from the end of step ``warmup`` to the end of the last step."""

    def __init__(self, warmup: int, device: str) -> None:
        self.warmup, self.device = warmup, device
        self.start = self.end = 0.0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            synchronize(self.device)
            self.window = PROFILE_WINDOW() if PROFILE_WINDOW is not None else contextlib.nullcontext()
            self.window.__enter__()
            self.start = time.perf_counter()
        if trainer.global_step == trainer.max_steps:
            synchronize(self.device)
            self.end = time.perf_counter()
            self.window.__exit__(None, None, None)


def training_images(folder: Path | None, count: int, size: int) -> Path:
    """A folder of training images: ``folder`` if given, else ``count`` random smooth gray images."""
    if folder is not None:
        return folder
    target = Path(tempfile.mkdtemp(prefix="throughput_"))
    rng = np.random.default_rng(0)
    for index in range(count):
        noise = rng.random((size // 8, size // 8))
        image = np.kron(noise, np.ones((8, 8)))  # blocky, not flat
        iio.imwrite(target / f"{index:03d}.png", (image * 255).astype(np.uint8))
    return target


def cli_args(args, folder: Path, root: Path, on_device: bool, steps: int) -> list[str]:
    network, options = NETWORKS[args.network]
    return [
        "fit", "--model", "lightning_modules.Noise2Noise", "--model.network", network,
        *[item for key, value in options.items() for item in (f"--model.network.{key}", str(value))],
        "--model.channels_last", str(args.channels_last).lower(),
        "--model.compile_network", str(args.compile and on_device).lower(),
        "--data", "datamodules.ImageFolder", "--data.train_dir", str(folder), "--data.val_count", "1",
        "--data.patch_size", str(args.patch), "--data.batch_size", str(args.batch),
        "--data.patches_per_image", "100000", "--data.num_workers", str(0 if on_device else args.workers),
        "--data.batches_on_device", str(on_device).lower(), "--model.nan_check_every_n_steps", "50",
        "--trainer.accelerator", "gpu" if args.device.startswith("cuda") else "cpu", "--trainer.devices", "1",
        "--trainer.precision", args.precision, "--trainer.benchmark", "true",
        "--trainer.max_steps", str(steps), "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0",
        "--trainer.logger", "false", "--trainer.default_root_dir", str(root),
    ]  # fmt: skip


def run_train_py(args, folder: Path, on_device: bool, more: tuple[str, ...] = ()) -> float:
    from cli import DenoisingCLI

    timer = StepTimer(args.warmup, args.device)
    steps = args.warmup + args.steps

    class TimedCLI(DenoisingCLI):
        def instantiate_trainer(self, **kwargs):
            trainer = super().instantiate_trainer(**kwargs)
            trainer.callbacks.append(timer)
            return trainer

    with tempfile.TemporaryDirectory() as root:
        TimedCLI(args=[*cli_args(args, folder, Path(root), on_device, steps), *more])
    return args.steps * args.batch / (timer.end - timer.start)


def run_plain(args, folder: Path) -> float:
    """The loop a user would write: device-made batches, network, Adam, L2 to the second noisy draw."""
    from core.image_io import list_images, read_image
    from datamodules.device_batches import DeviceBatches
    from noise import Gaussian

    path, options = NETWORKS[args.network]
    module, name = path.rsplit(".", 1)
    network = getattr(__import__(module, fromlist=[name]), name)(in_channels=1, **options).to(args.device)
    images = [read_image(p, channels=1) for p in list_images(folder)]
    batches = DeviceBatches(images, args.patch, 100000, args.batch, Gaussian(25), seed=0, device=args.device)
    if args.channels_last:
        network = network.to(memory_format=torch.channels_last)
    forward = torch.compile(network) if args.compile else network
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    autocast = (
        torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16)
        if args.precision == "bf16-mixed"
        else contextlib.nullcontext()
    )
    torch.backends.cudnn.benchmark = True
    start = 0.0
    window = PROFILE_WINDOW() if PROFILE_WINDOW is not None else contextlib.nullcontext()
    for step, batch in enumerate(batches):
        noisy, target = batch["noisy"], batch["noisy2"]
        if args.channels_last:
            noisy, target = (x.contiguous(memory_format=torch.channels_last) for x in (noisy, target))
        with autocast:
            loss = torch.mean((forward(noisy) - target) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step + 1 == args.warmup:
            synchronize(args.device)
            window.__enter__()
            start = time.perf_counter()
        if step + 1 == args.warmup + args.steps:
            break
    synchronize(args.device)
    seconds = time.perf_counter() - start
    window.__exit__(None, None, None)
    return args.steps * args.batch / seconds


def run_data(args, folder: Path, on_device: bool) -> float:
    """Samples/s of a batch path alone: device-made batches, or the DataLoader with ``--workers``."""
    from datamodules import ImageFolder
    from datamodules.device_batches import DeviceBatches

    data = ImageFolder(
        str(folder), val_count=1, patch_size=args.patch, batch_size=args.batch, patches_per_image=100000,
        num_workers=args.workers,
    )  # fmt: skip
    data.setup("fit")
    if on_device:
        images = data.datasets["train"].images
        loader = DeviceBatches(
            [images[i] for i in range(len(images))], args.patch, 100000, args.batch, data.noise, 0, device=args.device
        )
    else:
        loader = data.train_dataloader()
    count, start = 0, 0.0
    for step, batch in enumerate(loader):
        if step == args.warmup:
            synchronize(args.device)
            start, count = time.perf_counter(), 0
        count += len(batch["noisy"])
        if step == args.warmup + args.steps:
            break
    synchronize(args.device)
    return count / (time.perf_counter() - start)


NO_PROGRESS_BAR = ("--trainer.enable_progress_bar", "false")
LIGHTNING_BAR = ("--trainer.callbacks+=TQDMProgressBar",)
VARIANTS = {
    "plain": run_plain,
    "train_py": lambda args, folder: run_train_py(args, folder, on_device=True),
    "train_py_per_sample": lambda args, folder: run_train_py(args, folder, on_device=False),
    # what a progress bar costs per step (with the tiny network, a step is mostly host time): none, and
    # Lightning's own, redrawn after every batch (train.py's redraws on a clock: callbacks/progress_bar.py)
    "train_py_no_bar": lambda args, folder: run_train_py(args, folder, True, NO_PROGRESS_BAR),
    "train_py_lightning_bar": lambda args, folder: run_train_py(args, folder, True, LIGHTNING_BAR),
    "data_device": lambda args, folder: run_data(args, folder, on_device=True),
    "data_per_sample": lambda args, folder: run_data(args, folder, on_device=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--network", choices=sorted(NETWORKS), default="dncnn")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--patch", type=int, default=40)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per variant and round")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers of the per-sample path")
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--images", type=Path, default=None, help="training images (default: 400 synthetic)")
    parser.add_argument("--variants", default=",".join(v for v in VARIANTS if not v.endswith("_bar")))
    parser.add_argument(
        "--output", default="throughput", help="a name in benchmarks/results, or a path ending in .json (appended to)"
    )
    args = parser.parse_args()
    folder = training_images(args.images, 400, 180)
    names = args.variants.split(",")
    revision = commit()  # the code that runs, even if the checkout moves on meanwhile
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.repeats):
        for name in names:
            rates[name].append(VARIANTS[name](args, folder))
            print(f"round {round_index + 1}/{args.repeats} {name}: {rates[name][-1]:.0f} samples/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    record = {
        "benchmark": "throughput", "device": device_name(), "commit": revision, "network": args.network,
        "batch": args.batch, "patch": args.patch, "precision": args.precision, "channels_last": args.channels_last,
        "compile": args.compile, "workers": args.workers, "steps": args.steps, "warmup": args.warmup,
        "repeats": args.repeats, "images": str(args.images or "400 synthetic 180x180"),
        "samples_per_s": rates, "median_samples_per_s": medians,
        "command": "python -m benchmarks.throughput " + " ".join(__import__("sys").argv[1:]),
    }  # fmt: skip
    if "plain" in medians and "train_py" in medians:
        record["train_py_over_plain"] = medians["train_py"] / medians["plain"]
    if "data_device" in medians and "data_per_sample" in medians:
        record["device_over_per_sample_data"] = medians["data_device"] / medians["data_per_sample"]
    print({k: round(v, 3) for k, v in record.items() if k.endswith(("plain", "data"))}, medians, flush=True)
    append_records(args.output, [record])


if __name__ == "__main__":
    main()
