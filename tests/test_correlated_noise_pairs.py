import math

import numpy as np
import pytest
import torch

from benchmarks.correlated_noise_pairs import correlated_gaussian_noise, gaussian_kernel, main
from benchmarks.real_noise import load_pairs
from core.image_io import write_raw


def test_noise_has_the_requested_std_and_the_blurred_correlation():
    noise = correlated_gaussian_noise((2, 256, 256), 0.1, 1.0, torch.Generator().manual_seed(0))
    assert noise.std().item() == pytest.approx(0.1, rel=0.03)
    for lag in (1, 2):
        rho = (noise[:, :, lag:] * noise[:, :, :-lag]).mean() / noise.var()
        assert rho.item() == pytest.approx(math.exp(-(lag**2) / 4), abs=0.03)  # exp(-d^2 / (4 blur^2))
    across = (noise[0] * noise[1]).mean() / noise.var()  # channels independent
    assert abs(across.item()) < 0.03
    assert gaussian_kernel(1.5).sum().item() == pytest.approx(1.0) and gaussian_kernel(1.5).shape[-1] == 11


def _clean_references(root, size: int = 48):
    """A Nam-layout source of two random clean references, scenes a and b."""
    (root / "clean").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for scene in ("a", "b"):
        write_raw(root / "clean" / f"{scene}_gt.png", rng.integers(60, 200, (size, size, 3), dtype=np.uint8))
    return root


def test_pairs_are_written_in_the_nam_layout_and_read_back(tmp_path):
    source = _clean_references(tmp_path / "source")
    out = main(["--sigma", "10", "--blur", "1", "--source", str(source), "--out", str(tmp_path / "pairs")])
    pairs = load_pairs(out, 25)
    assert [scene for scene, _, _ in pairs] == ["a", "b"]
    residual = torch.stack([noisy - clean for _, noisy, clean in pairs])
    assert residual.std().item() == pytest.approx(10 / 255, rel=0.1)
    with pytest.raises(SystemExit, match="no clean references"):
        main(["--source", str(tmp_path / "pairs" / "noisy"), "--out", str(tmp_path / "x")])


def test_the_real_noise_benchmark_runs_its_rows_on_another_pairs_folder(tmp_path):
    import json
    import shutil
    from pathlib import Path

    from benchmarks.real_noise import main_benchmark

    source = _clean_references(tmp_path / "source")
    pairs = main(["--sigma", "20", "--source", str(source), "--out", str(tmp_path / "synthetic_test_pairs")])
    run = Path("runs/real_noise_synthetic_test_pairs_n2v")
    try:
        records = main_benchmark([
            "--pairs", str(pairs), "--rows", "noisy", "n2v", "--steps", "2", "--patch", "32", "--skip-estimation",
            "--override", "trainer.limit_val_batches=0", "--override", "checkpoint.monitor=null",
            "--out", str(tmp_path / "r.json"),
        ])  # fmt: skip
        assert (run / "test_results.csv").is_file()  # its own training folder, not the Nam row's
    finally:
        shutil.rmtree(run, ignore_errors=True)
    assert [r["row"] for r in records] == ["noisy", "n2v"]
    assert {r["dataset"] for r in records} == {"synthetic_test_pairs"}
    assert records[1]["steps"] == 2 and set(records[1]["per_image"]) == {"a", "b"}
    assert json.loads((tmp_path / "r.json").read_text())[-1]["dataset"] == "synthetic_test_pairs"


def test_the_bm3d_reference_row_reads_each_image_s_true_residual_std(tmp_path, monkeypatch):
    import bm3d

    from benchmarks.real_noise import bm3d_row

    pairs = load_pairs(main(["--sigma", "20", "--source", str(_clean_references(tmp_path / "source")),
                             "--out", str(tmp_path / "pairs")]), 25)  # fmt: skip
    levels = []
    real = bm3d.bm3d_rgb
    monkeypatch.setattr(bm3d, "bm3d_rgb", lambda image, sigma: levels.append(sigma) or real(image, sigma))
    record = bm3d_row(pairs, oracle=True)
    assert record["row"] == "bm3d_true_sigma" and "oracle" in record["sigma_from"]
    assert levels == pytest.approx([float((noisy - clean).std()) for _, noisy, clean in pairs])
