"""Zero-Shot Noise2Noise on 256x256 centre crops of the first CBSD68 images at sigma=25, several ways,
side by side in one run on the same noisy crops and from the same initial weights:

* ``reference``: a straightforward per-image loop of the paper's algorithm (NCHW tensors, the three
  network passes of Eq. 3-4 written out, Adam lr 1e-3, StepLR(1500, 0.5)), defined in this file;
* ``default``: ``zero_shot.zsn2n.fit`` as users call it (``cpu_path="auto"``: the fast path where a
  short measurement finds it faster on this CPU; the measurement's time is included);
* ``plain``: ``fit(cpu_path="plain")``, the paper's loop with this project's loss code;
* ``fast``: ``fit(cpu_path="fast")`` (channels-last pass; with two or more threads one image's passes
  are split between two threads: ``zero_shot.fast_cpu.split``);
* ``fast_unsplit``: the channels-last pass on one image with PyTorch's intra-op threads, no strips
  (what the split adds is ``fast`` against this);
* ``fast_many``: ``fit_many(cpu_path="fast")`` on ``--group`` images at a time (one thread per core,
  each fitting one image with single-threaded operations);
* ``fast_bf16``, ``fast_many_bf16``: the same with ``precision="bf16-mixed"``.

``--variants`` picks some of them (default all). The variants take turns, group by group of images, so
a drift in the machine's speed during the run falls on all of them alike. The record's ``device``
names the CPU and its vector units: these paths are faster on some CPUs and slower on others.

    python benchmarks/zsn2n_cbsd68.py                               # 24 images, 2000 iterations
    python benchmarks/zsn2n_cbsd68.py --images 4 --iterations 100   # a reduced budget

Records (mean PSNR / SSIM, seconds per image, per-image PSNR) go to benchmarks/results/zsn2n_cbsd68.json.
Gaussian noise is clipped to [0, 1] (``--no-clip`` keeps it unclipped).
"""

from __future__ import annotations

import argparse
import sys
import time

import imageio.v3 as iio
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.common import append_records, commit, device_name, shared_data
from core.metrics import per_image_psnr, per_image_ssim
from networks.zsn2n import ZSN2NNet
from zero_shot.fast_cpu.channels_last import ChannelsLastZSN2N
from zero_shot.zsn2n import fit, fit_many
from zero_shot.zsn2n_loop import fit_one

VARIANTS = ("reference", "default", "plain", "fast", "fast_unsplit", "fast_many", "fast_bf16", "fast_many_bf16")


def centre_crops(root, count: int, size: int) -> Tensor:
    paths = sorted((root / "CBSD68").glob("*.png"))[:count]
    crops = []
    for path in paths:
        image = iio.imread(path)
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        crops.append(torch.from_numpy(image[top : top + size, left : left + size].astype(np.float32) / 255))
    return torch.stack(crops).permute(0, 3, 1, 2).contiguous()


def _pair_downsampler(image: Tensor) -> tuple[Tensor, Tensor]:
    channels = image.shape[1]
    first = torch.tensor([[[[0.0, 0.5], [0.5, 0.0]]]]).repeat(channels, 1, 1, 1)
    second = torch.tensor([[[[0.5, 0.0], [0.0, 0.5]]]]).repeat(channels, 1, 1, 1)
    return F.conv2d(image, first, stride=2, groups=channels), F.conv2d(image, second, stride=2, groups=channels)


def _reference_loss(model: nn.Module, noisy: Tensor) -> Tensor:
    noisy1, noisy2 = _pair_downsampler(noisy)
    prediction1, prediction2 = noisy1 - model(noisy1), noisy2 - model(noisy2)
    residual = 0.5 * (F.mse_loss(noisy1, prediction2) + F.mse_loss(noisy2, prediction1))
    denoised1, denoised2 = _pair_downsampler(noisy - model(noisy))
    consistency = 0.5 * (F.mse_loss(prediction1, denoised1) + F.mse_loss(prediction2, denoised2))
    return residual + consistency


def reference_fit(noisy: Tensor, iterations: int, seed: int) -> Tensor:
    """The paper's algorithm as a plain loop, on one image [1, C, H, W]."""
    torch.manual_seed(seed)
    model = ZSN2NNet(noisy.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1500, gamma=0.5)
    for _ in range(iterations):
        loss = _reference_loss(model, noisy)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    with torch.no_grad():
        return torch.clamp(noisy - model(noisy), 0, 1)


def run_interleaved(variants: dict, noisy: Tensor, clean: Tensor, group: int) -> tuple[list[dict], dict]:
    """Every variant on images 0..group-1, then every variant on the next group, and so on: this
    machine's speed drifts over minutes, and taking turns exposes all variants to the same drift."""
    seconds = {name: 0.0 for name in variants}
    outputs = {name: [] for name in variants}
    for start in range(0, len(noisy), group):
        images = noisy[start : start + group]
        for name, denoise_all in variants.items():
            started = time.perf_counter()
            outputs[name].append(denoise_all(images, start))
            seconds[name] += time.perf_counter() - started
    results = []
    for name in variants:
        denoised = outputs[name] = torch.cat(outputs[name])
        psnr, ssim = per_image_psnr(denoised, clean), per_image_ssim(denoised, clean)
        per_image = seconds[name] / len(noisy)
        print(f"{name}: PSNR {psnr.mean():.3f} dB, SSIM {ssim.mean():.4f}, {per_image:.1f} s per image", flush=True)
        results.append({"variant": name, "psnr": psnr.mean().item(), "ssim": ssim.mean().item(),
                        "seconds": seconds[name], "per_image_psnr": [round(v, 3) for v in psnr.tolist()]})  # fmt: skip
    return results, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-clip", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {','.join(VARIANTS)}")
    parser.add_argument("--group", type=int, default=2, help="images per turn (fit_many fits a turn's images together)")
    args = parser.parse_args()
    clean = centre_crops(shared_data(), args.images, args.crop)
    noisy = clean + 25 / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(args.seed))
    noisy = noisy if args.no_clip else noisy.clamp(0, 1)
    seeds = {k: args.seed + k for k in range(len(noisy))}  # image k's model starts from manual_seed(seed + k)

    def one_by_one(fitter):
        def denoise_all(images, start):
            return torch.cat([fitter(images[k : k + 1], args.iterations, seeds[start + k]) for k in range(len(images))])

        return denoise_all

    def many(precision):
        def denoise_all(images, start):
            group_seeds = [seeds[start + k] for k in range(len(images))]
            return fit_many(images, args.iterations, seeds=group_seeds, progress=False, precision=precision,
                            cpu_path="fast")  # fmt: skip

        return denoise_all

    def ours(**options):
        return one_by_one(lambda x, n, s: fit(x, n, seed=s, progress=False, **options))

    def unsplit(noisy, iterations, seed):
        torch.manual_seed(seed)
        return fit_one(ChannelsLastZSN2N(ZSN2NNet(noisy.shape[1])), noisy, iterations, 1e-3, 1500, 0.5)

    every = {
        "reference": one_by_one(reference_fit),
        "default": ours(),
        "plain": ours(cpu_path="plain"),
        "fast": ours(cpu_path="fast"),
        "fast_unsplit": one_by_one(unsplit),
        "fast_many": many("32"),
        "fast_bf16": ours(cpu_path="fast", precision="bf16-mixed"),
        "fast_many_bf16": many("bf16-mixed"),
    }
    chosen = args.variants.split(",")
    unknown = sorted(set(chosen) - set(every))
    if unknown:
        parser.error(f"unknown variants {unknown}: choose from {','.join(VARIANTS)}")
    variants = {
        name: every[name] for name in VARIANTS if name in chosen and not (args.skip_reference and name == "reference")
    }
    results, outputs = run_interleaved(variants, noisy, clean, args.group)
    noisy_psnr = per_image_psnr(noisy.clamp(0, 1), clean).mean().item()
    by_name = {r["variant"]: r for r in results}
    records = []
    for result in results:
        record = {
            "method": "zsn2n",
            "variant": result["variant"],
            "precision": "bf16-mixed" if result["variant"].endswith("_bf16") else "32",
            "dataset": f"cbsd68_first{args.images}_crop{args.crop}",
            "noise": "gaussian25" + ("" if args.no_clip else "_clipped"),
            "psnr": round(result["psnr"], 3),
            "ssim": round(result["ssim"], 4),
            "noisy_psnr": round(noisy_psnr, 3),
            "seconds": round(result["seconds"], 1),
            "seconds_per_image": round(result["seconds"] / args.images, 2),
            "steps": args.iterations,
            "images": args.images,
            "images_per_turn": args.group,
            "threads": torch.get_num_threads(),
            "per_image_psnr": result["per_image_psnr"],
            "device": device_name(),
            "commit": commit(),
            "command": "python " + " ".join(sys.argv),
        }
        if "reference" in by_name and result["variant"] != "reference":
            reference = by_name["reference"]
            record["speedup_vs_reference"] = round(reference["seconds"] / result["seconds"], 2)
            record["psnr_minus_reference"] = round(result["psnr"] - reference["psnr"], 3)
            record["max_abs_pixel_difference_vs_reference"] = float(
                (outputs[result["variant"]] - outputs["reference"]).abs().max()
            )
        records.append(record)
    append_records("zsn2n_cbsd68", records)


if __name__ == "__main__":
    main()
