"""Denoise your own images: a zero-shot method fitted to each image, or a trained checkpoint.

    python denoise.py --method n2s noisy.png more_images/ --output denoised/
    python denoise.py --method n2s noisy.png --output out/ --clean clean.png      # also report PSNR
    python denoise.py --ckpt runs/n2n_samples/checkpoints/last.ckpt images/ --output out/

Outputs keep each input's name, bit depth (8/16-bit) and mode (gray/RGB). A table per image is
printed at the end: the time, the noise level (``--sigma`` or estimated from the image, Chen et al. 2015;
inr stops its fit there), and the PSNR against ``--clean`` references matched by file name.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from tqdm.auto import tqdm

from datamodules.image_io import IMAGE_EXTENSIONS, list_images, read_image, to_channels, to_float
from lightning_modules.functional import per_image_psnr

METHODS = ("n2s", "zsn2n", "inr")


def collect_inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += list_images(path, "input folder")
        elif path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(path)
        else:
            raise FileNotFoundError(f"Input '{path}' is neither an image ({', '.join(IMAGE_EXTENSIONS)}) nor a folder.")
    return files


def read_native(path: Path) -> tuple[np.ndarray, np.dtype, int]:
    """The image as float [H, W, C] in [0, 1], with its dtype and channel count for writing back."""
    raw = iio.imread(path)
    channels = 1 if raw.ndim == 2 else min(raw.shape[-1], 3)
    return to_channels(to_float(raw), channels), raw.dtype, channels


def write_native(path: Path, image: np.ndarray, dtype: np.dtype) -> None:
    if np.issubdtype(dtype, np.integer):
        image = np.round(np.clip(image, 0, 1) * np.iinfo(dtype).max).astype(dtype)
    iio.imwrite(path, image[..., 0] if image.shape[-1] == 1 else image)


def denoiser_from_args(args):
    """A function ([B, C, H, W], noise stds of the B images in [0, 1] units) -> [B, C, H, W] for the chosen
    method or checkpoint (B > 1 only for zsn2n, whose same-sized images are fitted side by side, each
    exactly as it would be alone). Only inr uses the noise level (its stopping rule)."""
    if args.ckpt:
        from lightning_modules.loading import load_method

        model = load_method(args.ckpt).eval()
        return lambda noisy, sigmas: model.denoise(noisy).clamp(0, 1)
    if args.method == "n2s":
        from zero_shot.noise2self import fit_noise2self

        iterations = args.iterations or 500
        return lambda noisy, sigmas: fit_noise2self(noisy, iterations=iterations, seed=args.seed).denoised
    if args.method == "zsn2n":
        from zero_shot.zsn2n import fit_many

        iterations = args.iterations or 2000
        precision = args.precision
        return lambda noisy, sigmas: fit_many(
            noisy, iterations=iterations, seeds=[args.seed] * len(noisy), precision=precision
        )
    if args.method == "inr":
        from zero_shot.inr import fit_inr

        iterations = args.iterations or 3000
        return lambda noisy, sigmas: fit_inr(noisy[0], sigmas[0], max_iterations=iterations, seed=args.seed).denoised[
            None
        ]
    raise ValueError(f"unknown method {args.method!r}")


def noise_level(image: torch.Tensor, given: float | None, needed: bool) -> tuple[float, str]:
    """The noise std of one image [C, H, W] on the 8-bit scale, and where it came from. An image too
    small to estimate it from is an error only where the method ``needed`` the level."""
    if given is not None:
        return given, "given"
    from noise.estimation import estimate_sigma

    try:
        return estimate_sigma(image) * 255, "estimated"
    except ValueError as error:
        if needed:
            raise ValueError(f"{error}; give the noise level with --sigma") from error
        return float("nan"), "too small"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="noisy images and/or folders of images")
    parser.add_argument("--output", required=True, help="folder for the denoised images")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--method", choices=METHODS, help="zero-shot method fitted to each image")
    source.add_argument("--ckpt", help="a trained checkpoint (.ckpt) of any method")
    parser.add_argument("--clean", nargs="+", help="clean references (images or folders), matched by file name")
    parser.add_argument(
        "--iterations", type=int, help="fitting iterations (default: the method's paper, n2s 500, zsn2n 2000)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision", choices=("32", "bf16-mixed"), default="32",
        help="zsn2n on a CPU: bf16-mixed runs the 48->48 convolution in bfloat16 (faster on CPUs with bfloat16 units)",
    )  # fmt: skip
    parser.add_argument(
        "--sigma", type=float, help="noise std on the 8-bit scale (used by inr's stop); estimated when omitted"
    )
    args = parser.parse_args(argv)
    if args.precision != "32" and args.method != "zsn2n":
        parser.error(f"--precision {args.precision} is only for --method zsn2n")
    if args.sigma is not None and args.method != "inr":
        parser.error(f"--sigma is only used by --method inr ({args.method or 'a checkpoint'} needs no noise level); "
                     "leave it out: the table reports each image's estimated noise level")  # fmt: skip

    inputs = collect_inputs(args.inputs)
    clean = {p.stem: p for p in collect_inputs(args.clean)} if args.clean else {}
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    denoise = denoiser_from_args(args)
    group_size = torch.get_num_threads() if args.method == "zsn2n" else 1
    rows = []
    with tqdm(total=len(inputs), desc="Denoising", unit="image") as bar:
        for group in same_size_groups(inputs, group_size):
            noisy = torch.stack([torch.from_numpy(image.transpose(2, 0, 1)) for _, image, _, _ in group])
            levels = [noise_level(image, args.sigma, needed=args.method == "inr") for image in noisy]
            started = time.perf_counter()
            with torch.inference_mode(args.ckpt is not None):
                denoised = denoise(noisy, [sigma / 255 for sigma, _ in levels])
            seconds = (time.perf_counter() - started) / len(group)  # a group's images share its time
            for k, (path, _, dtype, channels) in enumerate(group):
                row = {"image": path.name, "seconds": seconds, "sigma": levels[k][0], "sigma_source": levels[k][1]}
                if path.stem in clean:
                    reference = torch.from_numpy(read_image(clean[path.stem], channels).transpose(2, 0, 1))[None]
                    row["noisy_psnr"] = float(per_image_psnr(noisy[k : k + 1], reference)[0])
                    row["psnr"] = float(per_image_psnr(denoised[k : k + 1], reference)[0])
                write_native(output / f"{path.stem}.png" if dtype == np.uint8 else output / path.name,
                             denoised[k].detach().numpy().transpose(1, 2, 0), dtype)  # fmt: skip
                rows.append(row)
            bar.update(len(group))
    print_table(rows, file=sys.stdout)
    return rows


def same_size_groups(paths: list[Path], size: int):
    """Consecutive inputs of the same shape, read, in groups of at most ``size``:
    lists of (path, image, dtype, channels)."""
    group: list = []
    for path in paths:
        image, dtype, channels = read_native(path)
        if group and (len(group) == size or group[0][1].shape != image.shape):
            yield group
            group = []
        group.append((path, image, dtype, channels))
    if group:
        yield group


def print_table(rows: list[dict], file) -> None:
    with_psnr = any("psnr" in row for row in rows)
    header = f"{'image':<32} {'seconds':>8} {'noise sigma':>18}"
    header += f" {'noisy dB':>9} {'denoised dB':>12}" if with_psnr else ""
    print(header, file=file)
    for row in rows:
        line = f"{row['image']:<32} {row['seconds']:>8.1f} {row['sigma']:>7.2f} ({row['sigma_source']:>9})"
        if with_psnr:
            line += f" {row.get('noisy_psnr', float('nan')):>9.2f} {row.get('psnr', float('nan')):>12.2f}"
        print(line, file=file)


if __name__ == "__main__":
    main()
