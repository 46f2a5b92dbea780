"""Denoise your own images: a zero-shot method fitted to each image, or a trained checkpoint.

    python denoise.py --method n2s noisy.png more_images/ --output denoised/
    python denoise.py --method n2s noisy.png --output out/ --clean clean.png      # also report PSNR
    python denoise.py --ckpt runs/n2n_samples/checkpoints/last.ckpt images/ --output out/

Outputs keep each input's name (JPEG/BMP become PNG; names that would meet get the original extension
or folder added), bit depth (8/16-bit, float TIFF) and mode (gray/RGB); an input is never written over,
and earlier results only with ``--overwrite``. An unreadable file is reported and skipped, the others
are denoised, and the exit status is 1. A table per image is
printed at the end: the time, the noise level (``--sigma`` or estimated from the image, Chen et al. 2015;
inr stops its fit there), and the PSNR against ``--clean`` references matched by file name.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from core.image_io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    list_images,
    read_image,
    read_raw,
    to_channels,
    to_float,
    write_raw,
)
from core.metrics import per_image_psnr
from networks.channels import input_channels

METHODS = ("n2s", "zsn2n", "inr")


def collect_inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += list_images(path, "input folder")
        elif path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(path)
        elif not path.exists():
            raise FileNotFoundError(f"Input '{path}' does not exist: check the path.")
        else:
            raise ValueError(f"Input '{path}' is not an image file ({', '.join(IMAGE_EXTENSIONS)}) or a folder.")
    return files


def output_names(inputs: list[Path]) -> dict[Path, str]:
    """Each input's output file name, never the same for two inputs: the input's name (JPEG and BMP
    become PNG, TIFF stays TIFF); where two would meet (x.png and x.jpg, or a/x.png and b/x.png), the
    original extension and then the parent folder's name are added."""

    def suffix(path: Path) -> str:
        return path.suffix if path.suffix.lower() in (".png", ".tif", ".tiff") else ".png"

    def unique(names: dict[Path, str], rename) -> dict[Path, str]:
        counts: dict[str, int] = {}
        for name in names.values():
            counts[name] = counts.get(name, 0) + 1
        return {path: rename(path) if counts[name] > 1 else name for path, name in names.items()}

    names = {path: path.stem + suffix(path) for path in inputs}
    names = unique(names, lambda p: f"{p.stem}_{p.suffix[1:].lower()}{suffix(p)}")
    names = unique(names, lambda p: f"{p.parent.name}_{p.stem}_{p.suffix[1:].lower()}{suffix(p)}")
    return unique(names, lambda p: f"{hashlib.md5(str(p.resolve()).encode()).hexdigest()[:8]}_{p.stem}{suffix(p)}")


def check_outputs(inputs: list[Path], names: dict[Path, str], output: Path, overwrite: bool) -> None:
    """Never write over an input; write over earlier results only when asked to."""
    originals = {path.resolve() for path in inputs}
    targets = [(output / name) for name in names.values()]
    clobbered = [target for target in targets if target.resolve() in originals]
    if clobbered:
        raise SystemExit(
            f"--output {output} would replace the input {clobbered[0]} with its denoised version: choose an "
            "output folder that holds none of the inputs."
        )
    existing = [target.name for target in targets if target.exists()]
    if existing and not overwrite:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise SystemExit(
            f"--output {output} already holds {len(existing)} of the files this run would write ({shown}): "
            "choose an empty folder, or pass --overwrite to replace them."
        )


def read_native(path: Path) -> tuple[np.ndarray, np.dtype, int]:
    """The image as float [H, W, C] in [0, 1], with its dtype and channel count for writing back."""
    raw = read_raw(path)
    channels = 1 if raw.ndim == 2 else min(raw.shape[-1], 3)
    return to_channels(to_float(raw), channels), raw.dtype, channels


def write_native(path: Path, image: np.ndarray, dtype: np.dtype) -> None:
    if np.issubdtype(dtype, np.integer):
        image = np.round(np.clip(image, 0, 1) * np.iinfo(dtype).max).astype(dtype)
    else:
        image = image.astype(np.float32)
        path = path if path.suffix.lower() in (".tif", ".tiff") else path.with_suffix(".tif")
    write_raw(path, image)


def denoiser_from_args(args):
    """A function ([B, C, H, W], noise stds of the B images in [0, 1] units) -> [B, C, H, W] for the chosen
    method or checkpoint (B > 1 only for zsn2n, whose same-sized images are fitted side by side, each
    exactly as it would be alone). Only inr uses the noise level (its stopping rule)."""
    if args.ckpt:
        from lightning_modules.loading import load_method
        from networks.tiling import denoise_tiled, receptive_radius, with_flips_and_rotations

        model = load_method(args.ckpt).eval().to(args.device)
        if args.tta and getattr(model, "self_ensemble", False):
            raise SystemExit(f"--tta: the checkpoint {args.ckpt} already averages over the 8 flips and rotations "
                             "(it was trained with model.init_args.self_ensemble: true); leave --tta out")  # fmt: skip
        single = lambda noisy: denoise_channels(model, noisy, args.ckpt)  # noqa: E731
        passes = with_flips_and_rotations(single) if args.tta else single
        tile = 512 if args.tile is None else args.tile
        if not tile:
            return lambda noisy, sigmas: passes(noisy).clamp(0, 1)
        margin = receptive_radius(single, input_channels(model.network) or 1, device=args.device)
        if tile < 2 * margin + 48:
            raise SystemExit(f"--tile {tile} is too small for this network, whose output at a pixel depends "
                             f"on {margin} pixels around it: use --tile {2 * margin + 48} or more")  # fmt: skip
        return lambda noisy, sigmas: denoise_tiled(passes, noisy, tile=tile, margin=margin).clamp(0, 1)
    if args.method == "n2s":
        from zero_shot.noise2self import fit_noise2self

        iterations = args.iterations or 500
        return lambda noisy, sigmas: fit_noise2self(noisy, iterations=iterations, seed=args.seed).denoised
    if args.method == "zsn2n":
        from zero_shot.zsn2n import fit_many

        iterations = args.iterations or 2000
        precision, cpu_path = args.precision, args.cpu_path
        return lambda noisy, sigmas: fit_many(
            noisy, iterations=iterations, seeds=[args.seed] * len(noisy), precision=precision, cpu_path=cpu_path
        )
    if args.method == "inr":
        from zero_shot.inr import fit_inr

        iterations = args.iterations or 3000
        return lambda noisy, sigmas: fit_inr(noisy[0], sigmas[0], max_iterations=iterations, seed=args.seed).denoised[
            None
        ]
    raise ValueError(f"unknown method {args.method!r}")


def denoise_channels(model, noisy: torch.Tensor, checkpoint: str) -> torch.Tensor:
    """The checkpoint's denoiser on ``noisy`` [B, C, H, W], as ``train.py predict`` runs it (with the
    checkpoint's inference options: pixel-shuffle stride and R3, self-ensemble, recorruption averages); a
    gray model denoises an RGB image channel by channel, and any other channel mismatch is one sentence
    saying what to use."""
    takes = input_channels(model.network) or noisy.shape[1]
    if noisy.shape[1] == takes:
        return model.denoise_stage(noisy, stage="predict")
    if takes == 1:
        batch, channels, height, width = noisy.shape
        gray = noisy.reshape(batch * channels, 1, height, width)
        return model.denoise_stage(gray, stage="predict").reshape(noisy.shape)
    raise ValueError(
        f"the checkpoint {checkpoint} denoises {takes}-channel images and this image has {noisy.shape[1]}: "
        f"use a checkpoint trained on {noisy.shape[1]}-channel data (data.init_args.channels: {noisy.shape[1]})"
    )


# the estimator holds every 7x7 patch of the image: for a level only shown, the centre of a large
# image is enough, and keeps memory bounded (a 4096x4096 RGB image would need about 10 GB)
SHOWN_LEVEL_CROP = 512
# more pixels than this at 0 or full scale: the noise there was cut off, and the estimate reads low
# (BSD68, Gaussian noise clipped to 8 bits: 95 / 94 / 93 / 88% of sigma = 5 / 15 / 25 / 50,
# benchmarks/results/noise_estimation_clipped.json)
CLIPPED_FRACTION = 0.01


def noise_level(image: torch.Tensor, given: float | None, needed: bool) -> tuple[float, str]:
    """The noise std of one image [C, H, W] on the 8-bit scale, and where it came from. An image too
    small to estimate it from is an error only where the method ``needed`` the level; where it is only
    shown, it is estimated on the image's centre ``SHOWN_LEVEL_CROP`` pixels square."""
    if given is not None:
        return given, "given"
    from noise.estimation import estimate_sigma

    source = "estimated"
    height, width = image.shape[-2:]
    if not needed and max(height, width) > SHOWN_LEVEL_CROP:
        top, left = max(0, (height - SHOWN_LEVEL_CROP) // 2), max(0, (width - SHOWN_LEVEL_CROP) // 2)
        image, source = image[:, top : top + SHOWN_LEVEL_CROP, left : left + SHOWN_LEVEL_CROP], "centre"
    clipped = float(((image == 0) | (image == 1)).float().mean())
    if clipped > CLIPPED_FRACTION:
        source = "clipped"  # cut-off noise reads low: see the table's footnote
    try:
        return estimate_sigma(image) * 255, source
    except ValueError as error:
        if needed:
            raise ValueError(f"{error}; give the noise level with --sigma") from error
        return float("nan"), "too small"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="noisy images and/or folders of images")
    parser.add_argument("--output", required=True, help="folder for the denoised images")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--method", choices=METHODS,
        help="zero-shot method fitted to each image at the paper's iterations; slow on a CPU (tens of minutes to "
             "hours per megapixel on 2 cores: benchmarks/results/zsn2n_cbsd68.json, camera_n2s.json, inr_set12.json)",
    )  # fmt: skip
    source.add_argument("--ckpt", help="a trained checkpoint (.ckpt) of any method")
    parser.add_argument("--clean", nargs="+", help="clean references (images or folders), matched by file name")
    parser.add_argument(
        "--iterations", type=int, help="fitting iterations (default: the method's paper, n2s 500, zsn2n 2000)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results in --output")
    parser.add_argument(
        "--device", default="auto", help="where to denoise: auto (CUDA when present, else cpu), cpu, cuda, cuda:1, ..."
    )
    parser.add_argument(
        "--tile", type=int, default=None,
        help="with --ckpt: denoise images larger than this in tiles of this size (overlapping by the network's "
             "receptive field, blended), so memory stays bounded; default 512, 0 = whole images",
    )  # fmt: skip
    parser.add_argument(
        "--tta", action="store_true",
        help="with --ckpt: average the 8 flips/rotations of each image (8x the time; a blind spot stays blind)",
    )  # fmt: skip
    parser.add_argument(
        "--precision", choices=("32", "bf16-mixed"), default="32",
        help="zsn2n on a CPU: bf16-mixed runs the 48->48 convolution in bfloat16 (faster on CPUs with bfloat16 units)",
    )  # fmt: skip
    parser.add_argument(
        "--cpu-path", choices=("auto", "plain", "fast"), default="auto",
        help="zsn2n on a CPU: plain is the paper's loop; fast a channels-last, multi-threaded pass (faster on CPUs "
             "with AVX-512, slower on some without); auto takes fast where a short measurement finds it faster",
    )  # fmt: skip
    parser.add_argument(
        "--sigma", type=float, help="noise std on the 8-bit scale (used by inr's stop); estimated when omitted"
    )
    args = parser.parse_args(argv)
    args.device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.method and (args.tta or args.tile is not None):
        parser.error("--tta and --tile apply to a trained checkpoint (--ckpt); zero-shot methods fit each whole image")
    if args.precision != "32" and args.method != "zsn2n":
        parser.error(f"--precision {args.precision} is only for --method zsn2n")
    if args.cpu_path != "auto" and args.method != "zsn2n":
        parser.error(f"--cpu-path {args.cpu_path} is only for --method zsn2n")
    if args.precision != "32" and args.cpu_path == "plain":
        parser.error("--precision bf16-mixed runs on the fast path: use --cpu-path fast or auto")
    if args.sigma is not None and args.method != "inr":
        parser.error(f"--sigma is only used by --method inr ({args.method or 'a checkpoint'} needs no noise level); "
                     "leave it out: the table reports each image's estimated noise level")  # fmt: skip

    inputs = collect_inputs(args.inputs)
    clean = {p.stem: p for p in collect_inputs(args.clean)} if args.clean else {}
    output = Path(args.output)
    names = output_names(inputs)
    check_outputs(inputs, names, output, args.overwrite)
    output.mkdir(parents=True, exist_ok=True)
    denoise = denoiser_from_args(args)
    # same-sized images go through together: ZS-N2N's fits side by side, a checkpoint's passes on a GPU
    group_size = torch.get_num_threads() if args.method == "zsn2n" else (8 if args.device != "cpu" else 1)
    rows: list[dict] = []
    with tqdm(total=len(inputs), desc="Denoising", unit="image") as bar:
        for group in same_size_groups(inputs, group_size, rows):
            try:
                noisy = torch.stack([torch.from_numpy(image.transpose(2, 0, 1)) for _, image, _, _ in group])
                levels = [noise_level(image, args.sigma, needed=args.method == "inr") for image in noisy]
                started = time.perf_counter()
                with torch.inference_mode(args.ckpt is not None):
                    denoised = denoise(noisy.to(args.device), [sigma / 255 for sigma, _ in levels]).cpu()
            except ValueError as error:  # one sentence naming the file; the other images go on
                rows += [{"image": path.name, "error": f"{path}: {error}"} for path, *_ in group]
                bar.update(len(group))
                continue
            seconds = (time.perf_counter() - started) / len(group)  # a group's images share its time
            for k, (path, _, dtype, channels) in enumerate(group):
                row = {"image": path.name, "seconds": seconds, "sigma": levels[k][0], "sigma_source": levels[k][1]}
                write_native(output / names[path], denoised[k].detach().numpy().transpose(1, 2, 0), dtype)
                if path.stem in clean:
                    row.update(scores(noisy[k], denoised[k], clean[path.stem], channels))
                rows.append(row)
            bar.update(len(group))
    print_table(rows, file=sys.stdout)
    return rows


def scores(noisy: torch.Tensor, denoised: torch.Tensor, reference_path: Path, channels: int) -> dict:
    """PSNR of the noisy and the denoised image against a clean reference of the same size."""
    reference = torch.from_numpy(read_image(reference_path, channels).transpose(2, 0, 1))
    if reference.shape != noisy.shape:
        return {"note": f"reference {reference_path} is {tuple(reference.shape[1:])}, the image "
                        f"{tuple(noisy.shape[1:])}: no PSNR"}  # fmt: skip
    return {
        "noisy_psnr": float(per_image_psnr(noisy[None], reference[None])[0]),
        "psnr": float(per_image_psnr(denoised[None], reference[None])[0]),
    }


def same_size_groups(paths: list[Path], size: int, rows: list[dict]):
    """Consecutive inputs of the same shape, read, in groups of at most ``size``:
    lists of (path, image, dtype, channels). An unreadable file is added to ``rows`` as a failure and
    skipped."""
    group: list = []
    for path in paths:
        try:
            image, dtype, channels = read_native(path)
        except (ImageReadError, OSError, ValueError) as error:
            rows.append({"image": path.name, "error": str(error)})
            continue
        if group and (len(group) == size or group[0][1].shape != image.shape):
            yield group
            group = []
        group.append((path, image, dtype, channels))
    if group:
        yield group


def print_table(rows: list[dict], file) -> None:
    done = [row for row in rows if "error" not in row]
    with_psnr = any("psnr" in row for row in done)
    header = f"{'image':<32} {'seconds':>8} {'noise sigma':>18}"
    header += f" {'noisy dB':>9} {'denoised dB':>12}" if with_psnr else ""
    print(header, file=file)
    for row in done:
        line = f"{row['image']:<32} {row['seconds']:>8.1f} {row['sigma']:>7.2f} ({row['sigma_source']:>9})"
        if with_psnr:
            line += f" {row.get('noisy_psnr', float('nan')):>9.2f} {row.get('psnr', float('nan')):>12.2f}"
        print(line + (f"  ({row['note']})" if "note" in row else ""), file=file)
    if any(row.get("sigma_source") == "clipped" for row in done):
        print(f"clipped: more than {CLIPPED_FRACTION:.0%} of the image's pixels sit at 0 or full scale, where the "
              "noise was cut off, so the level shown is a lower bound (on BSD68 with 8-bit clipping: 88-95% of "
              "the true sigma); give --sigma where it matters (inr stops on it).", file=file)  # fmt: skip
    failed = [row for row in rows if "error" in row]
    if failed:
        print(f"\n{len(failed)} of {len(rows)} images failed and were not written:", file=file)
        for row in failed:
            print(f"  {row['error']}", file=file)


if __name__ == "__main__":
    sys.exit(1 if any("error" in row for row in main()) else 0)
