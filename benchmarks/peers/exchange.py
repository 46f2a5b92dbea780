"""The files between the suite and a peer library's script: numpy archives only (no pickles either way).

inputs.npz: ``train_noisy`` [N, H, W] float32 (each training image's one fixed noisy draw, as this
project's ``noise_draws: fixed`` rows see it), ``test_noisy_<i>`` [H, W] float32 (the seeded noisy test
images every suite row is scored on), ``sigma`` (noise std on the [0, 1] scale). outputs.npz:
``test_denoised_<i>`` [H, W], ``meta`` a JSON string (library, version, network, steps, batch, patch,
train_seconds, inference_seconds_per_image, note).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_inputs(path: Path, train_noisy: np.ndarray, test_noisy: list[np.ndarray], sigma: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tests = {f"test_noisy_{i}": image.astype(np.float32) for i, image in enumerate(test_noisy)}
    np.savez(path, train_noisy=train_noisy.astype(np.float32), sigma=np.float32(sigma), **tests)


def read_inputs(path: Path) -> tuple[np.ndarray, list[np.ndarray], float]:
    with np.load(path, allow_pickle=False) as data:
        count = sum(1 for key in data.files if key.startswith("test_noisy_"))
        return data["train_noisy"], [data[f"test_noisy_{i}"] for i in range(count)], float(data["sigma"])


def write_outputs(path: Path, denoised: list[np.ndarray], meta: dict) -> None:
    outputs = {f"test_denoised_{i}": np.asarray(image, np.float32) for i, image in enumerate(denoised)}
    np.savez(path, meta=np.array(json.dumps(meta)), **outputs)


def read_outputs(path: Path) -> tuple[list[np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as data:
        count = sum(1 for key in data.files if key.startswith("test_denoised_"))
        return [data[f"test_denoised_{i}"] for i in range(count)], json.loads(str(data["meta"]))


def random_patches(images: np.ndarray, batch: int, patch: int, rng: np.random.Generator) -> np.ndarray:
    """[batch, patch, patch] crops at uniform positions of uniformly chosen images, each in one of the 8
    flip / 90-degree orientations: the augmentation this project's training path applies."""
    count, height, width = images.shape
    which = rng.integers(0, count, batch)
    tops, lefts = rng.integers(0, height - patch + 1, batch), rng.integers(0, width - patch + 1, batch)
    out = np.empty((batch, patch, patch), np.float32)
    for i, (n, top, left) in enumerate(zip(which, tops, lefts, strict=True)):
        crop = images[n, top : top + patch, left : left + patch]
        if rng.integers(2):
            crop = crop[:, ::-1]
        out[i] = np.rot90(crop, int(rng.integers(4)))
    return out
