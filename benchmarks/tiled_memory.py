"""Peak memory and fidelity of tiled inference with denoise.py on a CPU: a 4096x4096 RGB image through
an RGB U-Net checkpoint (peak resident memory of the whole process, from /usr/bin/time -v), and a
1024x1024 image tiled vs in one pass (PSNR difference and the largest pixel difference).

    python -m benchmarks.tiled_memory
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, append_records, commit, device_name
from core.image_io import read_raw, write_raw


def checkpoint(root: Path) -> Path:
    """A briefly trained RGB U-Net (depth 3, width 32: the experiments' Noise2Noise network)."""
    from cli import main as train

    folder = root / "train"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        write_raw(folder / f"{index}.png", (rng.random((96, 96, 3)) * 255).astype(np.uint8))
    train(["fit", "--model", "lightning_modules.Noise2Noise", "--model.network", "networks.UNet",
           "--model.network.in_channels", "3", "--model.network.depth", "3", "--model.network.width", "32",
           "--data", "datamodules.ImageFolder", "--data.train_dir", str(folder), "--data.channels", "3",
           "--data.patch_size", "64", "--data.batch_size", "4", "--data.val_count", "1",
           "--trainer.max_epochs", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
           "--trainer.default_root_dir", str(root / "run")])  # fmt: skip
    return root / "run" / "checkpoints" / "last.ckpt"


def run_denoise(ckpt: Path, image: Path, output: Path, *options: str) -> tuple[float, float]:
    command = ["/usr/bin/time", "-v", sys.executable, "denoise.py", "--ckpt", str(ckpt), str(image),
               "--output", str(output), *options]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    peak_kb = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return peak_kb / 1024**2, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ckpt = checkpoint(root)
        rng = np.random.default_rng(1)
        big = root / "big" / "x.png"
        big.parent.mkdir()
        write_raw(big, (rng.random((4096, 4096, 3)) * 255).astype(np.uint8))
        peak_gb, seconds = run_denoise(ckpt, big, root / "out_big")
        medium = root / "medium" / "y.png"
        medium.parent.mkdir()
        write_raw(medium, (rng.random((1024, 1024, 3)) * 65535).astype(np.uint16))
        run_denoise(ckpt, medium, root / "whole", "--tile", "0")
        run_denoise(ckpt, medium, root / "tiled")
        whole = read_raw(root / "whole" / "y.png").astype(np.float64) / 65535
        tiled = read_raw(root / "tiled" / "y.png").astype(np.float64) / 65535
    mse = float(np.mean((whole - tiled) ** 2))
    record = {
        "benchmark": "tiled_memory", "device": device_name(), "commit": commit(),
        "network": "UNet depth 3 width 32, RGB", "image": "4096x4096 RGB 8-bit", "tile": 512,
        "peak_resident_gb": round(peak_gb, 3), "seconds": round(seconds, 1),
        "tiled_vs_whole_1024": {
            "max_abs_16bit_levels": int(round(np.abs(whole - tiled).max() * 65535)),
            "psnr_tiled_vs_whole_db": "identical" if mse == 0 else round(10 * np.log10(1 / mse), 2),
        },
        "command": "python -m benchmarks.tiled_memory",
    }  # fmt: skip
    print(record, flush=True)
    append_records("tiled_memory", [record])


if __name__ == "__main__":
    main()
