"""The suite's peer rows: write the shared inputs, run each peer's script in its own environment, score
its outputs with this project's metric code, and set it beside this project's row for the same method.

A peer's Python is read from an environment variable (``DEEPINV_PYTHON``, ``CAREAMICS_PYTHON``), by
default ``/work/peers/<library>/bin/python``; a peer whose Python is missing gets a record saying so
instead of a score.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.peers.exchange import read_outputs, write_inputs


@dataclass(frozen=True)
class Peer:
    row: str  # the suite row it writes
    script: str  # in benchmarks/peers/
    python_variable: str  # environment variable naming its Python
    default_python: str
    ours: str  # this project's row for the same method
    budget_options: tuple[str, ...]  # the budget keys passed as --<key> (r2r_k goes as --samples)
    script_options: tuple[str, ...] = ()  # fixed options of its script (which method it runs)


DEEPINV = ("DEEPINV_PYTHON", "/work/peers/deepinv/bin/python")
PEERS = {
    "deepinv_r2r": Peer("deepinv_r2r", "deepinv_losses.py", *DEEPINV, "r2r", ("steps", "batch", "patch", "r2r_k"),
                        ("--method", "r2r")),
    "deepinv_ne2ne": Peer("deepinv_ne2ne", "deepinv_losses.py", *DEEPINV, "neighbor2neighbor",
                          ("steps", "batch", "patch"), ("--method", "ne2ne")),  # at the paper's lr (see suite.py)
    "careamics_n2v": Peer("careamics_n2v", "careamics_n2v.py", "CAREAMICS_PYTHON",
                          "/work/peers/careamics/bin/python", "noise2void", ("steps", "batch", "patch"),
                          ("--masked-percentage", "1.5")),  # our row's mask fraction (suite.py N2V_MASK)
}  # fmt: skip


def peer_python(peer: Peer) -> Path:
    return Path(os.environ.get(peer.python_variable, peer.default_python))


def write_suite_inputs(path: Path, data_root: Path, test_dataset, sigma: float, seed: int = 0) -> None:
    """The fixed noisy training images (the draws of ``noise_draws: fixed`` with the data module's
    ``seed``: 0, as the suite's rows train on) and the suite's noisy test images."""
    from datamodules import BSD
    from datamodules.datasets import fixed_noisy_image
    from noise import Gaussian

    data = BSD(str(data_root), test_set="BSD68", noise=Gaussian(sigma=sigma), noise_draws="fixed", seed=seed)
    data.setup("fit")
    train = data.datasets["train"]
    noisy = [fixed_noisy_image(train.images[i], train.noise, train.seed, i)[0]["noisy"][..., 0]
             for i in range(len(train.images))]  # fmt: skip
    shapes = {image.shape for image in noisy}
    if len(shapes) != 1:
        raise ValueError(f"the peers' inputs need training images of one size, found {sorted(shapes)}")
    tests = [test_dataset[i]["noisy"][0].numpy() for i in range(len(test_dataset))]
    write_inputs(path, np.stack(noisy), tests, sigma / 255)


def run_peer(
    peer: Peer, inputs: Path, outputs: Path, budget: dict, log, extra: tuple[str, ...] = ()
) -> tuple[list[np.ndarray], dict] | str:
    """The peer's denoised test images and its meta, or why it could not run; ``extra``: more options
    of its script (e.g. ``--seed``)."""
    python = peer_python(peer)
    if not python.exists():
        return f"not run: no Python at {python} (set {peer.python_variable}; see benchmarks/peers/__init__.py)"
    options = [*peer.script_options, *extra]
    for key in peer.budget_options:
        options += [f"--{'samples' if key == 'r2r_k' else key}", str(budget[key])]
    command = [str(python), str(Path(__file__).with_name(peer.script)), str(inputs), str(outputs), *options,
               "--threads", str(torch.get_num_threads())]  # fmt: skip
    log(f"peer {peer.row}: {' '.join(command[1:])}")
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return f"failed (exit {result.returncode} after {time.perf_counter() - started:.0f} s): {' | '.join(tail)}"
    return read_outputs(outputs)


def peer_record(peer: Peer, result, clean: list[torch.Tensor], ours: dict | None) -> dict:
    """The peer's row, scored by this project's metric code, with ours / peer beside it."""
    from core.metrics import per_image_psnr, per_image_ssim

    if isinstance(result, str):
        return {"row": peer.row, "kind": "peer library", "psnr": float("nan"), "ssim": float("nan"), "images": 0,
                "train_seconds": 0.0, "inference_seconds_per_image": 0.0, "note": result}  # fmt: skip
    denoised, meta = result
    if len(denoised) != len(clean):
        raise ValueError(f"{peer.row} returned {len(denoised)} images for {len(clean)} test images")
    psnrs, ssims = [], []
    for out, reference in zip(denoised, clean, strict=True):
        image = torch.from_numpy(out).reshape(reference.shape).clamp(0, 1)[None]
        psnrs.append(float(per_image_psnr(image, reference[None])[0]))
        ssims.append(float(per_image_ssim(image, reference[None])[0]))
    record = {
        "row": peer.row, "kind": "peer library", "library": f"{meta['library']} {meta['version']}",
        "method": meta["method"], "network": meta["network"], "steps": meta["steps"], "batch": meta["batch"],
        "patch": meta["patch"], "psnr": round(float(np.mean(psnrs)), 3), "ssim": round(float(np.mean(ssims)), 4),
        "images": len(psnrs), "train_seconds": meta["train_seconds"],
        "inference_seconds_per_image": meta["inference_seconds_per_image"], "inference": meta["inference"],
        "peer_torch": meta["torch"], "note": meta.get("note", ""),
    }  # fmt: skip
    comparison = ours_versus_peer(ours, record)
    if comparison is not None:
        record["ours"] = comparison
    return record


def ours_versus_peer(ours: dict | None, record: dict) -> dict | None:
    """Our row beside a scored peer row: PSNR gain, and seconds per training step and per test image as
    ratios ours / peer (None when either side has no trained score)."""
    if ours is None or not ours.get("steps") or not record.get("images"):
        return None
    return {
        "row": ours["row"], "psnr_gain_db": round(ours["psnr"] - record["psnr"], 3),
        "train_seconds_per_step_ratio": round(
            (ours["train_seconds"] / ours["steps"]) / (record["train_seconds"] / record["steps"]), 3
        ),
        "inference_seconds_ratio": round(
            ours["inference_seconds_per_image"] / max(record["inference_seconds_per_image"], 1e-9), 3
        ),
    }  # fmt: skip
