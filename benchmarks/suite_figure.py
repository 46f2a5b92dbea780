"""The suite's figure (docs/results.png), drawn with numpy and OpenCV's text: PSNR per row as horizontal
bars (reference rows grey, fixed-noise self-supervised rows blue, fresh-noise rows orange, zero-shot
rows green, peer libraries red; a peer that did not run has no bar), and below them one crop of the
first BSD68 image per dataset-level row and peer, noisy and clean at the ends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

COLOURS = {"reference": (150, 150, 150), "fresh": (14, 127, 255), "zero-shot": (44, 160, 44), "other": (180, 119, 31),
           "peer": (40, 39, 214)}  # fmt: skip
WIDTH, ROW, LABEL = 760, 22, 190


def _colour(record: dict) -> tuple[int, int, int]:  # BGR for OpenCV
    if record["kind"] == "reference" or "reference" in record["kind"] or "upper" in record["kind"]:
        return COLOURS["reference"]
    if record["kind"] == "peer library":
        return COLOURS["peer"]
    if record.get("noise_draws") == "fresh":
        return COLOURS["fresh"]
    return COLOURS["zero-shot"] if record["kind"].startswith("zero-shot") else COLOURS["other"]


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.45) -> None:
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)


def bars(records: list[dict]) -> np.ndarray:
    records = [r for r in records if np.isfinite(r["psnr"])]
    height = ROW * (len(records) + 2)
    canvas = np.full((height, WIDTH, 3), 255, dtype=np.uint8)
    low = min(r["psnr"] for r in records) - 1.0
    high = max(r["psnr"] for r in records) + 0.5
    scale = (WIDTH - LABEL - 80) / max(high - low, 1e-6)
    _text(canvas, f"PSNR (dB), axis from {low:.1f}", LABEL, ROW - 6)
    for k, record in enumerate(records):
        y = ROW * (k + 1)
        _text(canvas, record["row"], 6, y + ROW - 7)
        length = int(round((record["psnr"] - low) * scale))
        cv2.rectangle(canvas, (LABEL, y + 3), (LABEL + length, y + ROW - 3), _colour(record), thickness=-1)
        _text(canvas, f"{record['psnr']:.2f}", LABEL + length + 6, y + ROW - 7)
    return canvas


def crop_grid(crops: dict[str, np.ndarray]) -> np.ndarray:
    order = ["noisy", *[k for k in crops if k not in ("noisy", "clean")], "clean"]
    tiles = []
    for name in (n for n in order if n in crops):
        tile = cv2.cvtColor(cv2.resize(crops[name], (96, 96), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
        label = np.full((18, 96, 3), 255, dtype=np.uint8)
        _text(label, name[:14], 2, 13, 0.36)
        tiles.append(np.concatenate([label, tile], axis=0))
    per_line = WIDTH // 100
    lines = []
    for start in range(0, len(tiles), per_line):
        chunk = tiles[start : start + per_line]
        line = np.full((chunk[0].shape[0], WIDTH, 3), 255, dtype=np.uint8)
        for k, tile in enumerate(chunk):
            line[:, 4 + 100 * k : 4 + 100 * k + 96] = tile
        lines.append(line)
    return np.concatenate(lines, axis=0) if lines else np.full((1, WIDTH, 3), 255, dtype=np.uint8)


def draw(records: list[dict], crops: dict[str, np.ndarray], path: Path) -> None:
    figure = np.concatenate([bars(records), crop_grid(crops)], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), figure):
        raise OSError(f"could not write the figure to {path}")
