"""Command: calibrate a classical denoiser on one noisy image by the J-invariant loss.

    python -m classical.calibrate noisy.png --denoiser nl_means --param h=0.04,0.06,0.08,0.1 \
        --param patch_size=5 --param patch_distance=6 [--clean clean.png] [--output denoised.png]
"""

from __future__ import annotations

import argparse
import ast

import imageio.v3 as iio
import numpy as np

from classical.calibration import DENOISERS, calibrate
from core.image_io import read_image


def parse_param(text: str) -> tuple[str, list]:
    """``name=v1,v2,...`` -> (name, [v1, v2, ...]) with numbers and booleans parsed."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param needs name=value[,value...], got {text!r}")
    name, values = text.split("=", 1)

    def value(v: str):
        try:
            return ast.literal_eval(v)
        except (ValueError, SyntaxError):
            return v

    return name.strip(), [value(v.strip()) for v in values.split(",")]


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="the noisy image")
    parser.add_argument("--denoiser", choices=sorted(DENOISERS), required=True)
    parser.add_argument("--param", type=parse_param, action="append", default=[], help="name=v1,v2,... (repeatable)")
    parser.add_argument("--clean", help="clean reference, to report each candidate's PSNR")
    parser.add_argument("--gray", action="store_true", help="convert colour images to gray first")
    parser.add_argument("--output", help="write the calibrated denoiser's output here (8-bit PNG)")
    args = parser.parse_args(argv)
    if not args.param:
        parser.error("give at least one --param grid, e.g. --param h=0.05,0.1")
    channels = 1 if args.gray or iio.imread(args.image).ndim == 2 else 3
    noisy = read_image(args.image, channels)
    clean = read_image(args.clean, channels) if args.clean else None
    if channels == 1:
        noisy, clean = noisy[..., 0], (clean[..., 0] if clean is not None else None)
    result = calibrate(noisy, args.denoiser, dict(args.param), clean=clean)
    print(result.report())
    if args.output:
        iio.imwrite(args.output, (result.denoised * 255).round().astype(np.uint8))
    return result


if __name__ == "__main__":
    main()
